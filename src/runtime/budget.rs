//! Time budgets: every lookup on a caller's path races a timer, and the
//! caller gets an answer made without it when the timer wins. Every
//! timeout in the worker is this one race.

use std::future::Future;
use std::time::Duration;

use futures_util::future::{select, Either};
use worker::Delay;

/// Runs `fut` for at most `ms` milliseconds; `None` when time ran out.
pub async fn within<T>(ms: u64, fut: impl Future<Output = T>) -> Option<T> {
    let fut = Box::pin(fut);
    let timer = Box::pin(Delay::from(Duration::from_millis(ms)));
    match select(fut, timer).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}
