//! Dial Whom for app-to-app calls: when `CallFrom` is `sip:<user>` and that
//! user posted a context (the sample apps do, right *after* dialling), the
//! context's `dialToNumber` is the answer. The context lives in the user's
//! Durable Object, so a read sees the latest write; since Exotel may ask
//! before the app's post arrives, a `sip:` caller's lookup waits for it
//! (polling the object) up to `CONTEXT_WAIT_MS`, well inside Exotel's 5 s,
//! before the configured answer serves. Phone-number callers, and `sip:`
//! callers who never logged in through this backend, never wait.

use handlers::params::CallParams;
use handlers::push::app_api::{self, ContextRecord};
use handlers::push::session::SessionOp;
use handlers::reply::Reply;
use worker::{console_log, Env};

use crate::runtime::budget::within;
use crate::runtime::clock::now_ms;
use crate::runtime::env::var_u64;
use crate::{bindings, user_state};

/// Pause between two reads of the object while waiting for a late context.
const POLL_MS: u64 = 100;

/// Upper bound of `CONTEXT_WAIT_MS`: the answer must leave Exotel's 5 s
/// timeout plenty of room.
const MAX_WAIT_MS: u64 = 3_000;

async fn wait_for_context(
    env: &Env,
    user: &str,
    call_sid: &str,
    wait_ms: u64,
) -> Option<ContextRecord> {
    // A context serves one call: one left from the user's previous call is skipped.
    let op = SessionOp::TakeContext {
        call_sid: call_sid.to_owned(),
    };
    loop {
        // Each read may take what is left; `within` below bounds the whole wait.
        match user_state::call(env, user, &op, wait_ms.max(1)).await {
            Some(a) if a.context.is_some() => return a.context,
            // Never logged in here: not a sample-app user, no context will come.
            Some(a) if !a.known => return None,
            Some(_) => {}
            None if !user_state::bound(env) => return None,
            None => {}
        }
        crate::runtime::timer::sleep(POLL_MS).await;
    }
}

/// The answer from the caller's context, if there is one within the budget.
pub async fn from_context(p: &CallParams, env: &Env) -> Option<Reply> {
    let user = app_api::caller_user(p.caller()?)?;
    let wait_ms = var_u64(
        env,
        bindings::CONTEXT_WAIT_MS,
        bindings::DEFAULT_CONTEXT_WAIT_MS,
    )
    .min(MAX_WAIT_MS);
    let started = now_ms();
    let record = within(wait_ms, wait_for_context(env, &user, &p.call_sid, wait_ms))
        .await
        .flatten();
    let waited = now_ms() - started;
    let who = format!("sip:{}***", user.chars().next().unwrap_or('?'));
    let Some(record) = record else {
        console_log!(
            "dialwhom call={} from={who}: no context within {waited} ms",
            p.call_sid
        );
        return None;
    };
    let numbers = app_api::dial_target(&record.dial_to_number)?;
    let reply = handlers::answer::dialwhom::reply(&numbers);
    console_log!(
        "dialwhom call={} from={who} -> context {} after {waited} ms",
        p.call_sid,
        handlers::phone::mask(&reply.body)
    );
    Some(reply)
}
