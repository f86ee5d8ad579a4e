//! `POST /events`: real-time call events that proto-gateway relays, signed
//! per Standard Webhooks, one event or a JSON array of them
//! (EVENTS-CONTRACT.md, docs/events.md).
//!
//! Order of work: body within its size limit (413), signature and time
//! window (401, with no hint which failed), the body's events
//! (`handlers::event_log::parse_delivery`: 400 for a bad body, `rejected`
//! for a bad element of an array), then each ordering key's events go to
//! that key's `EventLog` Durable Object in one call, all keys at once,
//! within `EVENTS_STORE_BUDGET_MS`. The answer is sent only after the
//! objects confirmed their writes: 200 `stored`/`duplicate` per element, or
//! 503 `unavailable` for the elements whose object did not confirm (the
//! gateway retries them; duplicates are harmless).
//!
//! Acting on the events (Exotel leg actions) is not on this path: each
//! object's alarm does it later, in order per key (`crate::event_log`).
//!
//! Values from the delivery (ids, names, sids) are logged with `{:?}`, so
//! control characters in them cannot forge log lines.

use futures_util::future::join_all;
use handlers::event_log::{self as rules, AppendEvent, Element, ElementStatus, EventsBody};
use handlers::events;
use handlers::reply::Reply;
use handlers::webhook::{self, SignedHeaders};
use worker::{console_error, console_warn, Context, Env, Request};

use crate::bindings;
use crate::error::EdgeError;
use crate::event_log::{Appended, LogOp, OBJECT_URL};
use crate::runtime::clock::now_secs;
use crate::runtime::env::{secret, var_u64};
use crate::runtime::{budget, object};

/// Handles one delivery.
pub async fn handle_events(
    mut req: Request,
    env: &Env,
    _ctx: &Context,
) -> Result<Reply, EdgeError> {
    let headers = req.headers();
    let get = |name: &str| headers.get(name).ok().flatten().unwrap_or_default();
    let (id, timestamp, signature) = (
        get(webhook::HEADER_ID),
        get(webhook::HEADER_TIMESTAMP),
        get(webhook::HEADER_SIGNATURE),
    );

    // What needs no body is checked first: a delivery with no usable
    // signature or outside the window costs no read of up to 4 MiB.
    let now = now_secs() as i64;
    let signed = SignedHeaders {
        id: &id,
        timestamp: &timestamp,
        signature: &signature,
    };
    if let Err(e) = webhook::check_headers(&signed, now) {
        console_warn!("events: delivery refused before its body: {e}");
        return Err(EdgeError::Unauthorized);
    }

    // --- The body: read here and only here, at most `max_body` bytes,
    // declared or streamed (src/body.rs), before any HMAC runs over it. ---
    let max_body = var_u64(
        env,
        bindings::EVENTS_MAX_BATCH_BYTES,
        rules::DEFAULT_MAX_BATCH_BYTES as u64,
    ) as usize;
    let body = crate::body::read(&mut req, max_body).await?;
    // --- end of the body read. ---

    // A single event over its limit is refused before any HMAC runs over it.
    if !body.trim_ascii_start().starts_with(b"[") && body.len() > events::MAX_EVENT_BYTES {
        return Err(EdgeError::TooLarge(
            events::EventError::TooLarge.to_string(),
        ));
    }
    let secrets =
        match secret(env, bindings::EVENTS_WEBHOOK_SECRETS).map(|s| webhook::parse_secrets(&s)) {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                console_error!(
                    "events: {} is invalid: {e}",
                    bindings::EVENTS_WEBHOOK_SECRETS
                );
                return Err(not_configured());
            }
            None => {
                console_error!(
                    "events: {} is not set; every delivery is refused",
                    bindings::EVENTS_WEBHOOK_SECRETS
                );
                return Err(not_configured());
            }
        };
    if let Err(e) = webhook::verify(&secrets, &signed, &body, now) {
        // The reason goes to the log only: telling the sender which check
        // failed would help someone forging deliveries.
        console_warn!("events: delivery refused: {e}");
        return Err(EdgeError::Unauthorized);
    }
    let max_batch = var_u64(
        env,
        bindings::EVENTS_MAX_BATCH,
        rules::DEFAULT_MAX_BATCH as u64,
    ) as usize;
    let (single, elements) = match rules::parse_delivery(&body, max_batch) {
        Ok(EventsBody::Single(e)) => (true, vec![Element::Valid(e)]),
        Ok(EventsBody::Batch(v)) => (false, v),
        Err(e) => {
            return Err(EdgeError::Refused {
                status: e.status(),
                message: e.to_string(),
            })
        }
    };
    for e in &elements {
        if let Element::Rejected { event_sid, error } = e {
            console_warn!("events: element {event_sid:?} of {id:?} rejected: {error}");
        }
    }
    let statuses = store(env, &elements).await;
    let (status, answer) = rules::answer(single, rules::results(&elements, |i| statuses[i]));
    Ok(Reply::json_status(status, &answer))
}

fn not_configured() -> EdgeError {
    EdgeError::Unavailable("events are not configured".into())
}

/// Sends each key's events to its object, all keys at once, each within
/// the store budget: the object's word per element (`None`: not confirmed).
async fn store(env: &Env, elements: &[Element]) -> Vec<Option<ElementStatus>> {
    let mut statuses = vec![None; elements.len()];
    let groups = rules::group(elements);
    if groups.is_empty() {
        return statuses;
    }
    let Ok(ns) = env.durable_object(bindings::EVENT_LOG) else {
        console_error!(
            "events: {} is not bound; nothing can be stored",
            bindings::EVENT_LOG
        );
        return statuses;
    };
    let budget_ms = var_u64(
        env,
        bindings::EVENTS_STORE_BUDGET_MS,
        rules::DEFAULT_STORE_BUDGET_MS,
    );
    let calls = groups.iter().map(|(key, idx)| {
        let events: Vec<AppendEvent> = idx
            .iter()
            .filter_map(|&i| match &elements[i] {
                Element::Valid(e) => Some(AppendEvent::from(e)),
                _ => None,
            })
            .collect();
        let op = LogOp::Append {
            key: key.clone(),
            events,
        };
        let ns = &ns;
        async move {
            budget::within(budget_ms, async move {
                object::call::<_, Appended>(ns, key, OBJECT_URL, &op).await
            })
            .await
        }
    });
    for ((key, idx), outcome) in groups.iter().zip(join_all(calls).await) {
        match outcome {
            Some(Ok(a)) if a.results.len() == idx.len() => {
                for (&i, s) in idx.iter().zip(a.results) {
                    statuses[i] = Some(s);
                }
            }
            Some(Ok(a)) => console_error!(
                "events: log {key:?} answered {} results for {} events",
                a.results.len(),
                idx.len()
            ),
            Some(Err(e)) => console_error!("events: log {key:?} did not store: {e}"),
            None => console_error!("events: log {key:?} did not confirm within {budget_ms} ms"),
        }
    }
    statuses
}
