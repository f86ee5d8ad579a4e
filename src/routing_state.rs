//! The Durable Object that keeps routing state which two requests must not
//! race on. One instance per call (`call:<CallSid>`) remembers the agents
//! offered so far, so Exotel's concurrent re-fetches for one call get
//! different agents; one per group (`group:<name>`) counts calls for
//! round-robin. Requests to one instance are handled one at a time, and
//! each does its storage read and write with no other I/O between, so the
//! read-decide-write is atomic under the runtime's input gates.

use handlers::destination::Destination;
use handlers::routing::{next_offer, Offer, OfferRequest};
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// How long a call's memory is kept: far longer than any call rings.
const CALL_STATE_TTL_MS: i64 = 6 * 3600 * 1000;

/// Operations, as JSON bodies.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Next agents for this call; records them as offered.
    Offer(OfferRequest),
    /// Returns the counter and increments it.
    Rotate,
}

/// Replies, as JSON bodies.
#[derive(Debug, Serialize, Deserialize)]
// Untagged: `Rotation` must come first, since `Offer`'s only field is
// optional and would match any object.
#[serde(untagged)]
pub enum Answer {
    /// For [`Op::Rotate`].
    Rotation {
        /// The counter before this call.
        rotation: u64,
    },
    /// For [`Op::Offer`]; `offer` is null when everything was offered.
    Offer {
        /// The next agents.
        offer: Option<Offer>,
    },
}

// `alarm` also exports fetch; the alarm clears a finished call's memory.
#[durable_object(alarm)]
pub struct RoutingState {
    state: State,
}

impl DurableObject for RoutingState {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: Op = match req.json().await {
            Ok(op) => op,
            Err(e) => return Response::error(format!("bad routing-state op: {e}"), 400),
        };
        let storage = self.state.storage();
        match op {
            Op::Offer(r) => {
                let offered: Vec<Destination> = storage.get("offered").await?.unwrap_or_default();
                let offer = next_offer(&r, &offered);
                if let Some(o) = &offer {
                    let mut all = offered;
                    all.extend(r.tried.iter().cloned());
                    all.extend(o.offering.iter().cloned());
                    all.sort();
                    all.dedup();
                    storage.put("offered", &all).await?;
                    if storage.get_alarm().await?.is_none() {
                        storage.set_alarm(worker::Date::now().as_millis() as i64 + CALL_STATE_TTL_MS).await?;
                    }
                }
                Response::from_json(&Answer::Offer { offer })
            }
            Op::Rotate => {
                let n: u64 = storage.get("rotation").await?.unwrap_or(0);
                storage.put("rotation", n.wrapping_add(1)).await?;
                Response::from_json(&Answer::Rotation { rotation: n })
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        Response::ok("cleared")
    }
}
