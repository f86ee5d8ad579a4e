//! Time budgets: every lookup on a caller's path races a timer, and the
//! caller gets an answer made without it when the timer wins.

use std::future::Future;
use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{Delay, Env};

/// Runs `fut` for at most `ms` milliseconds; `None` when time ran out.
pub async fn within<T>(ms: u64, fut: impl Future<Output = T>) -> Option<T> {
    let fut = Box::pin(fut);
    let timer = Box::pin(Delay::from(Duration::from_millis(ms)));
    match select(fut, timer).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}

/// A millisecond budget from a var, else the default.
pub fn var_ms(env: &Env, name: &str, default: u64) -> u64 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(default)
}
