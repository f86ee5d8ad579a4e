//! The Durable Object that makes `POST /events`' replay check atomic: one
//! instance per `webhook-id`. A claim reads and writes its one key with no
//! other I/O between, and requests to one instance run one at a time under
//! the runtime's input gates, so of any number of concurrent deliveries of
//! one id, in any location, exactly one gets `claimed: true`. (The KV
//! fallback in `routes::events` cannot promise that: KV has no
//! compare-and-set and is eventually consistent across locations.)
//! An alarm forgets the id after the TTL.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// Operations, as JSON bodies.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum GuardOp {
    /// Claims the id unless it is already claimed; forgotten after `ttl_ms`.
    Claim {
        /// How long the claim lasts.
        ttl_ms: u64,
    },
    /// Forgets the id (the event was not acted on; its retry must act).
    Release,
}

/// The reply to either op.
#[derive(Debug, Serialize, Deserialize)]
pub struct GuardAnswer {
    /// Whether this request now holds the claim.
    pub claimed: bool,
}

// `alarm` also exports fetch; the alarm clears the id after its TTL.
#[durable_object(alarm)]
pub struct EventsGuard {
    state: State,
}

impl DurableObject for EventsGuard {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: GuardOp = match req.json().await {
            Ok(op) => op,
            Err(e) => return Response::error(format!("bad events-guard op: {e}"), 400),
        };
        let storage = self.state.storage();
        match op {
            GuardOp::Claim { ttl_ms } => {
                if storage.get::<f64>("claimed_at").await?.is_some() {
                    return Response::from_json(&GuardAnswer { claimed: false });
                }
                let now = worker::Date::now().as_millis();
                storage.put("claimed_at", now as f64).await?;
                storage.set_alarm(now.saturating_add(ttl_ms) as i64).await?;
                Response::from_json(&GuardAnswer { claimed: true })
            }
            GuardOp::Release => {
                storage.delete_all().await?;
                storage.delete_alarm().await?;
                Response::from_json(&GuardAnswer { claimed: false })
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        Response::ok("forgotten")
    }
}
