//! `/admin/events/...`: operating the event logs (docs/events.md).
//!
//! Authenticated by a bearer token from the secret `EXOEDGE_ADMIN_TOKENS`
//! (comma separated, at least 16 characters each, compared in constant time
//! over SHA-256 digests like the callback tokens), checked before anything
//! else: a wrong or missing token gets `401 {"error":"unauthorized"}` on
//! every path, known or not, and touches no storage.
//!
//! - `GET /admin/events/log?leg=<sid>` (or `bridge=`, `event=`, `key=leg:<sid>`;
//!   `limit`): one key's log, each event with its state and actions.
//! - `GET /admin/events/dead?from=&to=&limit=`: dead letters of every key
//!   (from the index), by when they died; times in Unix ms or RFC 3339.
//! - `POST /admin/events/replay?leg=<sid>[&from=&to=]`: one key's dead
//!   letters; `POST /admin/events/replay?from=&to=`: every key's, through
//!   the index. Replayed events are pending again and the key's alarm runs
//!   them in order.

use futures_util::future::join_all;
use handlers::event_log::{self as rules, AdminRequest, Range};
use handlers::reply::Reply;
use serde::Serialize;
use worker::{console_error, console_log, Env, ObjectNamespace, Request};

use crate::bindings;
use crate::error::EdgeError;
use crate::event_log::{DeadList, IndexOp, LogOp, LogView, Replayed, OBJECT_URL};
use crate::runtime::{budget, object};

/// Time one admin request may spend per object call.
const OBJECT_BUDGET_MS: u64 = 10_000;
/// Most dead letters one all-keys replay takes from the index.
const MAX_REPLAY: usize = 10_000;

/// Whether the request carries an admin token (the router asks first).
pub(crate) fn authorized(req: &Request, env: &Env) -> bool {
    let authorization = req.headers().get("authorization").ok().flatten();
    crate::console::with_admin(env, |admin| {
        let Some((tokens, _)) = admin else {
            console_error!(
                "no admin token configured ({}): /admin is closed",
                bindings::ADMIN_TOKENS
            );
            return false;
        };
        // Compared even when absent, so a missing header costs what a wrong one does.
        tokens.accepts(rules::bearer(authorization.as_deref()).unwrap_or(""))
    })
}

fn namespace(env: &Env, name: &str) -> Result<ObjectNamespace, EdgeError> {
    env.durable_object(name).map_err(|_| {
        console_error!("admin: {name} is not bound");
        EdgeError::Unavailable(format!("{name} is not bound"))
    })
}

async fn ask<T: Serialize, R: serde::de::DeserializeOwned>(
    ns: &ObjectNamespace,
    name: &str,
    op: &T,
) -> Result<R, EdgeError> {
    match budget::within(
        OBJECT_BUDGET_MS,
        object::call::<T, R>(ns, name, OBJECT_URL, op),
    )
    .await
    {
        Some(Ok(r)) => Ok(r),
        Some(Err(e)) => {
            console_error!("admin: {name:?}: {e}");
            Err(EdgeError::Unavailable(
                "storage unavailable; try again".into(),
            ))
        }
        None => Err(EdgeError::Unavailable(
            "storage did not answer in time; try again".into(),
        )),
    }
}

#[derive(Serialize)]
struct ReplayAnswer {
    replayed: usize,
    keys: usize,
    /// Keys whose log could not be reached (their dead letters stay dead).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failed_keys: Vec<String>,
}

/// Handles `/admin/events{rest}`.
/// `method` is the raw method (the router's: `Request::method()` would read
/// PROPFIND as GET).
pub async fn handle_admin(
    req: Request,
    env: &Env,
    rest: &str,
    method: &str,
) -> Result<Reply, EdgeError> {
    let query = req
        .url()
        .ok()
        .and_then(|u| u.query().map(str::to_owned))
        .unwrap_or_default();
    let admin = match AdminRequest::parse(rest, method, &query) {
        Ok(a) => a,
        Err(e) => {
            return Err(EdgeError::Refused {
                status: e.status(),
                message: e.to_string(),
            })
        }
    };
    run(admin, env).await
}

async fn run(admin: AdminRequest, env: &Env) -> Result<Reply, EdgeError> {
    match admin {
        AdminRequest::Log { key, limit } => {
            let ns = namespace(env, bindings::EVENT_LOG)?;
            let mut view: LogView = ask(&ns, &key, &LogOp::Log { limit }).await?;
            view.key.get_or_insert(key);
            Ok(Reply::json_status(200, &view))
        }
        AdminRequest::Dead { range, limit } => {
            let ns = namespace(env, bindings::EVENT_INDEX)?;
            let list: DeadList = ask(
                &ns,
                bindings::DEAD_LETTER_INDEX_NAME,
                &IndexOp::List { range, limit },
            )
            .await?;
            Ok(Reply::json_status(200, &list))
        }
        AdminRequest::Replay {
            key: Some(key),
            range,
        } => {
            let ns = namespace(env, bindings::EVENT_LOG)?;
            let r: Replayed = ask(&ns, &key, &LogOp::Replay { range, sids: None }).await?;
            console_log!("admin: replayed {} dead letter(s) of {key:?}", r.replayed);
            Ok(Reply::json_status(
                200,
                &ReplayAnswer {
                    replayed: r.replayed,
                    keys: 1,
                    failed_keys: Vec::new(),
                },
            ))
        }
        AdminRequest::Replay { key: None, range } => replay_all(env, range).await,
    }
}

/// Every key's dead letters in `range`: listed from the index, then each
/// key's log replays its own (the log re-checks that each is still dead).
async fn replay_all(env: &Env, range: Range) -> Result<Reply, EdgeError> {
    let index = namespace(env, bindings::EVENT_INDEX)?;
    let logs = namespace(env, bindings::EVENT_LOG)?;
    let list: DeadList = ask(
        &index,
        bindings::DEAD_LETTER_INDEX_NAME,
        &IndexOp::List {
            range,
            limit: MAX_REPLAY,
        },
    )
    .await?;
    let mut by_key: Vec<(String, Vec<String>)> = Vec::new();
    for d in list.dead {
        match by_key.iter_mut().find(|(k, _)| *k == d.key) {
            Some((_, sids)) => sids.push(d.event_sid),
            None => by_key.push((d.key, vec![d.event_sid])),
        }
    }
    let calls = by_key.iter().map(|(key, sids)| {
        let op = LogOp::Replay {
            range: Range::ALL,
            sids: Some(sids.clone()),
        };
        let logs = &logs;
        async move { (key.clone(), ask::<_, Replayed>(logs, key, &op).await) }
    });
    let mut answer = ReplayAnswer {
        replayed: 0,
        keys: by_key.len(),
        failed_keys: Vec::new(),
    };
    for (key, r) in join_all(calls).await {
        match r {
            Ok(r) => answer.replayed += r.replayed,
            Err(_) => answer.failed_keys.push(key),
        }
    }
    console_log!(
        "admin: replayed {} dead letter(s) across {} key(s)",
        answer.replayed,
        answer.keys
    );
    let status = if answer.failed_keys.is_empty() {
        200
    } else {
        503
    };
    Ok(Reply::json_status(status, &answer))
}
