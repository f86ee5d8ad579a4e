//! Time budgets: every lookup on a caller's path races a timer, and the
//! caller gets an answer made without it when the timer wins. Every
//! timeout in the worker is this one race.

use std::future::Future;

use futures_util::future::{select, Either};

use super::timer::sleep;

/// Runs `fut` for at most `ms` milliseconds; `None` when time ran out.
pub async fn within<T>(ms: u64, fut: impl Future<Output = T>) -> Option<T> {
    let fut = Box::pin(fut);
    let timer = Box::pin(sleep(ms));
    match select(fut, timer).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}
