//! `POST /events`: real-time call events that proto-gateway relays, signed
//! per Standard Webhooks. See docs/events.md.
//!
//! Order of work: signature and time window (401, with no hint which
//! failed), body (400), replay check by `webhook-id` (200
//! `duplicate`: acknowledged, nothing done again), event name (unknown
//! names: 200 `ignored`), then `handlers::events::decide` and the leg
//! actions it asks for, posted to Exotel's v2 API.
//!
//! The actions are posted inline, before answering, not in `ctx.wait_until`:
//! the gateway holds the event in its durable outbox until it sees a 2xx and
//! retries with backoff otherwise, so answering only after Exotel accepted
//! the action makes delivery at-least-once end to end. A `wait_until` task
//! has no such guarantee (its isolate may go away, its failure reaches
//! nobody). Nobody is waiting on this response but the gateway, and the
//! gateway keeps per-leg order by waiting for it, which is the order the
//! actions must keep too. On a failure worth retrying (429 past the
//! budget, 5xx, network) the `webhook-id` is forgotten again and the answer
//! is 503, so the gateway's retry runs the flow again.
//!
//! Values from the delivery (ids, names, sids) are logged with `{:?}`, so
//! control characters in them cannot forge log lines; digits are never logged.

use std::time::Duration;

use futures_util::future::{select, Either};
use handlers::events::{self, Action, Delivery, Event, LegAction};
use handlers::reply::Reply;
use handlers::webhook::{self, SignedHeaders};
use serde::Serialize;
use worker::kv::KvStore;
use worker::{
    console_error, console_log, console_warn, Context, Delay, Env, Fetch, Headers, Method, ObjectNamespace, Request, RequestInit,
};

use crate::events_guard::{GuardAnswer, GuardOp};
use crate::{bindings, config};

/// The JSON the gateway gets back; `status` says what happened.
#[derive(Serialize)]
struct Ack<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_name: Option<&'a str>,
    actions: usize,
}

fn ack(status: u16, what: &str, event_name: Option<&str>, actions: usize) -> Reply {
    Reply::json_status(status, &Ack { status: what, event_name, actions })
}

fn var_u64(env: &Env, name: &str, default: u64) -> u64 {
    env.var(name).ok().and_then(|v| v.to_string().trim().parse().ok()).unwrap_or(default)
}

fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|s| s.to_string()).filter(|s| !s.trim().is_empty())
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Handles one delivery.
pub async fn handle_events(mut req: Request, env: &Env, ctx: &Context) -> Reply {
    let headers = req.headers();
    let get = |name: &str| headers.get(name).ok().flatten().unwrap_or_default();
    let (id, timestamp, signature) = (get(webhook::HEADER_ID), get(webhook::HEADER_TIMESTAMP), get(webhook::HEADER_SIGNATURE));
    // At most the limit is read, declared or streamed (src/body.rs), before any HMAC runs over it.
    let body = match crate::body::read(&mut req, events::MAX_EVENT_BYTES).await {
        Ok(b) => b,
        Err(e) => return crate::http::body_error(&e),
    };

    let secrets = match secret(env, bindings::EVENTS_WEBHOOK_SECRETS).map(|s| webhook::parse_secrets(&s)) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            console_error!("events: {} is invalid: {e}", bindings::EVENTS_WEBHOOK_SECRETS);
            return Reply::error(503, "events are not configured");
        }
        None => {
            console_error!("events: {} is not set; every delivery is refused", bindings::EVENTS_WEBHOOK_SECRETS);
            return Reply::error(503, "events are not configured");
        }
    };
    let now = (now_ms() / 1000.0) as i64;
    let signed = SignedHeaders { id: &id, timestamp: &timestamp, signature: &signature };
    if let Err(e) = webhook::verify(&secrets, &signed, &body, now) {
        // The reason goes to the log only: telling the sender which check
        // failed would help someone forging deliveries.
        console_warn!("events: delivery refused: {e}");
        return Reply::error(401, "unauthorized");
    }
    let event = match Event::from_json(&body) {
        Ok(e) => e,
        Err(events::EventError::TooLarge) => return Reply::error(413, events::EventError::TooLarge.to_string()),
        Err(e) => return Reply::error(400, e.to_string()),
    };

    let Some(guard) = Guard::for_env(env) else {
        console_error!(
            "events: neither {} nor {} is bound; refusing rather than risk acting twice",
            bindings::EVENTS_GUARD,
            bindings::EVENTS_SEEN
        );
        return Reply::error(503, "replay store unavailable");
    };
    let id = id.trim();
    let ttl = var_u64(env, bindings::EVENTS_SEEN_TTL_SECONDS, bindings::DEFAULT_EVENTS_SEEN_TTL_SECONDS).max(60);
    // Claimed before acting, so a replay arriving while we act finds it.
    match guard.claim(id, ttl, now).await {
        Ok(true) => {}
        Ok(false) => {
            console_log!("events: {:?} {id:?} is a replay; acknowledged, not acted on", event.event_name);
            return ack(200, "duplicate", Some(&event.event_name), 0);
        }
        Err(e) => {
            console_error!("events: replay store failed: {e}");
            return Reply::error(503, "replay store unavailable");
        }
    }

    if event.name().is_none() {
        console_warn!("events: unknown event name {:?} (sid {:?}); acknowledged and ignored", event.event_name, event.event_sid);
        return ack(200, "ignored", Some(&event.event_name), 0);
    }
    let cfg = match config::current(env, ctx).await {
        Ok(c) => c,
        Err(e) => {
            console_error!("events: config unavailable: {e}");
            guard.release(id).await;
            return Reply::error(503, "config unavailable");
        }
    };
    let Some(flow) = cfg.events.as_ref() else {
        return ack(200, "no_flow", Some(&event.event_name), 0);
    };
    let actions = events::decide(&event, flow, &cfg, now_ms() as i64);
    console_log!(
        "events: {} leg={:?} param={:?} -> {} action(s)",
        event.event_name,
        event.data.leg_sid.as_deref().unwrap_or("-"),
        event.action_custom_parameter.as_deref().unwrap_or(""),
        actions.len()
    );
    if actions.is_empty() {
        return ack(200, "ok", Some(&event.event_name), 0);
    }

    let deadline = now_ms() + var_u64(env, bindings::EVENTS_ACTION_BUDGET_MS, bindings::DEFAULT_EVENTS_ACTION_BUDGET_MS) as f64;
    let mut rejected = 0;
    for action in &actions {
        match perform(env, &event, action, deadline).await {
            Outcome::Done => {}
            Outcome::Rejected => rejected += 1,
            Outcome::Retry(why) => {
                console_error!("events: {:?} not acted on yet ({why}); asking the gateway to retry", event.event_sid);
                guard.release(id).await;
                return Reply::error(503, "action not accepted yet; retry");
            }
        }
    }
    let status = if rejected == 0 { "ok" } else { "action_rejected" };
    ack(200, status, Some(&event.event_name), actions.len() - rejected)
}

/// Where delivered `webhook-id`s are remembered: the [`EventsGuard`]
/// Durable Object when bound (atomic: one claim wins), else KV with a TTL
/// (best effort: no compare-and-set; see docs/events.md).
///
/// [`EventsGuard`]: crate::events_guard::EventsGuard
enum Guard {
    Object(ObjectNamespace),
    Kv(KvStore),
}

impl Guard {
    fn for_env(env: &Env) -> Option<Self> {
        if let Ok(ns) = env.durable_object(bindings::EVENTS_GUARD) {
            return Some(Self::Object(ns));
        }
        env.kv(bindings::EVENTS_SEEN).ok().map(Self::Kv)
    }

    /// `Ok(true)`: this delivery is the first with `id`, and now holds it.
    async fn claim(&self, id: &str, ttl_s: u64, now_s: i64) -> Result<bool, String> {
        match self {
            Self::Object(ns) => {
                let op = GuardOp::Claim { ttl_ms: ttl_s.saturating_mul(1000) };
                call_guard(ns, id, &op).await.map(|a| a.claimed)
            }
            Self::Kv(kv) => {
                let key = format!("id:{id}");
                if kv.get(&key).text().await.map_err(|e| e.to_string())?.is_some() {
                    return Ok(false);
                }
                let put = kv.put(&key, now_s.to_string()).map_err(|e| e.to_string())?;
                put.expiration_ttl(ttl_s).execute().await.map_err(|e| e.to_string())?;
                Ok(true)
            }
        }
    }

    /// Forgets `id`, so the gateway's retry acts. A failure is logged: the
    /// retry will then be taken for a replay until the TTL ends.
    async fn release(&self, id: &str) {
        let done = match self {
            Self::Object(ns) => call_guard(ns, id, &GuardOp::Release).await.map(|_| ()),
            Self::Kv(kv) => kv.delete(&format!("id:{id}")).await.map_err(|e| e.to_string()),
        };
        if let Err(e) = done {
            console_error!("events: could not release {id:?}: {e}");
        }
    }
}

async fn call_guard(ns: &ObjectNamespace, id: &str, op: &GuardOp) -> Result<GuardAnswer, String> {
    let stub = ns.id_from_name(id).and_then(|i| i.get_stub()).map_err(|e| e.to_string())?;
    let headers = Headers::new();
    headers.set("content-type", "application/json").map_err(|e| e.to_string())?;
    let body = serde_json::to_string(op).map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
    let req = Request::new_with_init("https://events-guard/", &init).map_err(|e| e.to_string())?;
    let mut resp = stub.fetch_with_request(req).await.map_err(|e| e.to_string())?;
    if resp.status_code() != 200 {
        return Err(format!("events guard answered {}", resp.status_code()));
    }
    resp.json::<GuardAnswer>().await.map_err(|e| e.to_string())
}

enum Outcome {
    /// Exotel accepted the action.
    Done,
    /// Exotel refused it in a way a retry cannot change (logged).
    Rejected,
    /// Not done, but a later retry may succeed.
    Retry(String),
}

/// Posts one action, retrying 429 and 5xx with backoff until `deadline` (ms).
async fn perform(env: &Env, event: &Event, action: &Action, deadline: f64) -> Outcome {
    let Action::PostLegAction(a) = action;
    let (Some(key), Some(token)) = (secret(env, bindings::EVENTS_API_KEY), secret(env, bindings::EVENTS_API_TOKEN)) else {
        return Outcome::Retry(format!("{} / {} not set", bindings::EVENTS_API_KEY, bindings::EVENTS_API_TOKEN));
    };
    let account = env
        .var(bindings::EVENTS_ACCOUNT_SID)
        .ok()
        .map(|v| v.to_string())
        .filter(|s| !s.trim().is_empty())
        .or_else(|| event.data.account_sid.clone())
        .unwrap_or_default();
    if !events::is_sid(&account) || !events::is_sid(&a.leg_sid) {
        console_error!("events: account or leg sid unusable in a URL; action dropped");
        return Outcome::Rejected;
    }
    let base = env
        .var(bindings::EXOTEL_CPAAS_BASE)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| bindings::DEFAULT_EXOTEL_CPAAS_BASE.to_owned());
    let url = format!("{}/v2/accounts/{account}/legs/{}/actions", base.trim_end_matches('/'), a.leg_sid);
    let body = match a.request().map(|r| serde_json::to_string(&r)) {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Outcome::Retry(format!("cannot encode the action: {e}")),
        Err(e) => return Outcome::Retry(format!("cannot write the ExoML: {e}")),
    };
    let base_ms = var_u64(env, bindings::EVENTS_BACKOFF_MS, events::BACKOFF_BASE_MS);
    let auth = events::basic_auth(&key, &token);
    let mut attempt = 0u32;
    loop {
        let remaining = deadline - now_ms();
        if remaining <= 0.0 {
            return Outcome::Retry("time budget spent".into());
        }
        let (status, retry_after) = match post(&url, &auth, &body, remaining as u64).await {
            Ok(r) => r,
            Err(e) => (0, Some(e)),
        };
        let jitter = js_sys::Math::random();
        let delivery = if status == 0 {
            // Network error or timeout: retry like a 5xx.
            Delivery::Retry { after_ms: events::backoff_ms(base_ms, attempt, jitter) }
        } else {
            events::after_response(status, retry_after.as_deref(), base_ms, attempt, jitter)
        };
        match delivery {
            Delivery::Done => {
                console_log!("events: {} posted to leg {} ({})", verb_names(a), a.leg_sid, a.custom_param);
                return Outcome::Done;
            }
            Delivery::Fail => {
                console_error!("events: Exotel refused {} on leg {} with {status}; not retried", verb_names(a), a.leg_sid);
                return Outcome::Rejected;
            }
            Delivery::Retry { after_ms } => {
                if now_ms() + after_ms as f64 >= deadline {
                    return Outcome::Retry(format!("last answer {status}; no time left to back off"));
                }
                console_warn!("events: action answered {status}; retrying in {after_ms} ms");
                Delay::from(Duration::from_millis(after_ms)).await;
                attempt += 1;
            }
        }
    }
}

fn verb_names(a: &LegAction) -> String {
    a.flow.verbs.iter().map(|v| v.name()).collect::<Vec<_>>().join("+")
}

/// One POST with a timeout; the status and `Retry-After`, or the error text.
async fn post(url: &str, auth: &str, body: &str, timeout_ms: u64) -> Result<(u16, Option<String>), String> {
    let headers = Headers::new();
    headers.set("authorization", auth).map_err(|e| e.to_string())?;
    headers.set("content-type", "application/json").map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
    let req = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let fetch = Fetch::Request(req);
    let send = Box::pin(fetch.send());
    let timeout = Box::pin(Delay::from(Duration::from_millis(timeout_ms)));
    let outcome = match select(send, timeout).await {
        Either::Left((Ok(resp), _)) => {
            let headers = resp.headers();
            Ok((resp.status_code(), headers.get("retry-after").ok().flatten()))
        }
        Either::Left((Err(e), _)) => Err(e.to_string()),
        Either::Right(_) => Err("timed out".into()),
    };
    outcome
}
