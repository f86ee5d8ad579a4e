//! Dial Whom for app-to-app calls: when `CallFrom` is `sip:<user>` and that
//! user posted a context (the sample apps do, right before dialling), the
//! context's `dialToNumber` is the answer. Anything else falls back to the
//! configured answer, and phone-number callers never touch KV.

use std::time::Duration;

use futures_util::future::{select, Either};
use handlers::params::CallParams;
use handlers::push::backend::{self, ContextRecord};
use handlers::reply::Reply;
use worker::{console_log, Delay, Env};

use crate::{app, bindings};

/// The longest a context read may hold up a call before the configured
/// answer serves (the same budget as the config read).
const BUDGET_MS: u64 = bindings::DEFAULT_KV_BUDGET_MS;

/// The answer from the caller's context, if there is one.
pub async fn from_context(p: &CallParams, env: &Env) -> Option<Reply> {
    let user = backend::caller_user(p.caller()?)?;
    let kv = app::store(env).ok()?;
    let key = backend::context_key(&user);
    let get = Box::pin(async move { app::get_json::<ContextRecord>(&kv, &key).await });
    let timeout = Box::pin(Delay::from(Duration::from_millis(BUDGET_MS)));
    let record = match select(get, timeout).await {
        Either::Left((Ok(Some(r)), _)) => r,
        _ => return None,
    };
    if !record.live(app::now_ms()) {
        return None;
    }
    let numbers = backend::dial_target(&record.dial_to_number)?;
    let reply = handlers::dialwhom::reply(&numbers);
    console_log!(
        "dialwhom call={} from=sip:{}*** -> context {}",
        p.call_sid,
        user.chars().next().unwrap_or('?'),
        handlers::phone::mask(&reply.body)
    );
    Some(reply)
}
