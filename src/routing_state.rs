//! The Durable Object that keeps routing state which two requests must not
//! race on. One instance per call (`call:<CallSid>`) remembers the agents
//! offered so far, so Exotel's concurrent re-fetches for one call get
//! different agents; one per group (`group:<name>`) counts calls for
//! round-robin and remembers each recent call's turn, so the counter turns
//! once per call however often Exotel fetches for it. Requests to one
//! instance are handled one at a time, and each does its storage reads and
//! writes with no other I/O between, so the read-decide-write is atomic
//! under the runtime's input gates. With `peek` an operation answers what
//! it would and writes nothing: HEAD reports what GET would without using
//! up an offer or a turn.

use crate::runtime::clock::now_ms;
use handlers::destination::Destination;
use handlers::routing::{next_offer, Offer, OfferRequest};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use worker::{durable_object, DurableObject, Env, ListOptions, Request, Response, Result, State};

/// How long a call's memory (agents offered, its round-robin turn) is
/// kept: far longer than any call rings.
const CALL_STATE_TTL_MS: i64 = 6 * 3600 * 1000;

/// A CallSid longer than this gets a turn but is not remembered (storage
/// keys are bounded; Exotel's are 32 characters).
const MAX_REMEMBERED_SID: usize = 128;

/// Storage keys per call remembered by a group.
const TURN_PREFIX: &str = "turn:";

/// Operations, as JSON bodies. `peek: true` answers what the operation
/// would and writes nothing (HEAD).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Next agents for this call; records them as offered.
    Offer {
        /// What to pick from.
        request: OfferRequest,
        /// Report only.
        #[serde(default)]
        peek: bool,
    },
    /// This call's turn of the group's counter: taken (the counter moves
    /// on) on the call's first fetch, the same turn on every later one.
    Turn {
        /// The CallSid.
        call: String,
        /// Report only.
        #[serde(default)]
        peek: bool,
    },
}

/// Replies, as JSON bodies.
#[derive(Debug, Serialize, Deserialize)]
// Untagged: `Rotation` must come first, since `Offer`'s only field is
// optional and would match any object.
#[serde(untagged)]
pub enum Answer {
    /// For [`Op::Turn`].
    Rotation {
        /// The counter value this call uses.
        rotation: u64,
    },
    /// For [`Op::Offer`]; `offer` is null when
    /// everything was offered.
    Offer {
        /// The next agents.
        offer: Option<Offer>,
    },
}

// `alarm` also exports fetch; the alarm clears a finished call's memory.
#[cfg(feature = "backend")]
#[durable_object(alarm)]
pub struct RoutingState {
    state: State,
}

/// When the clean-up alarm fires. worker-rs reads a bare `i64` as an offset
/// from now (`ScheduledTime: From<i64>`), not as a Unix time: an absolute
/// `now + ttl` here once put the alarm decades away.
const ALARM_IN: i64 = CALL_STATE_TTL_MS;

#[cfg(feature = "backend")]
impl RoutingState {
    async fn expire_later(&self) -> Result<()> {
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            storage.set_alarm(ALARM_IN).await?;
        }
        Ok(())
    }

    async fn offer(&self, r: OfferRequest, record: bool) -> Result<Option<Offer>> {
        let storage = self.state.storage();
        let offered: Vec<Destination> = storage.get("offered").await?.unwrap_or_default();
        let offer = next_offer(&r, &offered);
        if let (Some(o), true) = (&offer, record) {
            let mut all = offered;
            all.extend(r.tried.iter().cloned());
            all.extend(o.offering.iter().cloned());
            all.sort();
            all.dedup();
            storage.put("offered", &all).await?;
            self.expire_later().await?;
        }
        Ok(offer)
    }

    async fn turn(&self, call: &str, take: bool) -> Result<u64> {
        let storage = self.state.storage();
        let key = format!("{TURN_PREFIX}{call}");
        let remember = call.len() <= MAX_REMEMBERED_SID;
        if remember {
            // (turn, when taken in Unix ms)
            if let Some((turn, _)) = storage.get::<(u64, i64)>(&key).await? {
                return Ok(turn);
            }
        }
        let n: u64 = storage.get("rotation").await?.unwrap_or(0);
        if take {
            storage.put("rotation", n.wrapping_add(1)).await?;
            if remember {
                storage.put(&key, (n, now_ms())).await?;
                self.expire_later().await?;
            }
        }
        Ok(n)
    }

    /// A group forgets the turns of calls older than the TTL, and keeps
    /// its counter; it looks again later while some remain.
    async fn forget_old_turns(&self) -> Result<()> {
        let storage = self.state.storage();
        let turns = storage
            .list_with_options(ListOptions::new().prefix(TURN_PREFIX))
            .await?;
        let cutoff = (now_ms() - CALL_STATE_TTL_MS) as f64;
        let mut old = Vec::new();
        let mut kept = 0usize;
        for entry in turns.entries() {
            let Ok(entry) = entry else { continue };
            let pair: js_sys::Array = entry.unchecked_into();
            let taken_at = js_sys::Array::from(&pair.get(1))
                .get(1)
                .as_f64()
                .unwrap_or(0.0);
            match pair.get(0).as_string() {
                Some(k) if taken_at < cutoff => old.push(k),
                _ => kept += 1,
            }
        }
        // The runtime deletes at most 128 keys per call.
        for chunk in old.chunks(128) {
            storage.delete_multiple(chunk.to_vec()).await?;
        }
        if kept > 0 {
            storage.set_alarm(ALARM_IN).await?;
        }
        Ok(())
    }
}

#[cfg(feature = "backend")]
impl DurableObject for RoutingState {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: Op = match req.json().await {
            Ok(op) => op,
            Err(e) => return Response::error(format!("bad routing-state op: {e}"), 400),
        };
        let answer = match op {
            Op::Offer { request, peek } => Answer::Offer {
                offer: self.offer(request, !peek).await?,
            },
            Op::Turn { call, peek } => Answer::Rotation {
                rotation: self.turn(&call, !peek).await?,
            },
        };
        Response::from_json(&answer)
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        if storage.get::<u64>("rotation").await?.is_some() {
            // A group: its counter stays.
            self.forget_old_turns().await?;
        } else {
            // A call: its memory is no longer needed.
            storage.delete_all().await?;
        }
        Response::ok("cleared")
    }
}
