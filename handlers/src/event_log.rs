//! The edge's durable event log (issue 13): the pure parts.
//!
//! `POST /events` stores every event in an `EventLog` Durable Object, one
//! per *ordering key* ([`ordering_key`]), and answers only once each object
//! confirmed its write; the object's alarm acts on the events later, in
//! order per key. This module decides everything that needs no I/O: how a
//! delivery (one event or a JSON array) is read and checked
//! ([`parse_delivery`]), how its events are grouped by key ([`group`]), what
//! the answer says ([`answer`]), which stored event is applied next under
//! the reorder window ([`next_to_apply`]), when a failed event is tried
//! again or dead-lettered ([`after_failure`]), when the object wakes next
//! ([`next_alarm`]), and what the admin routes were asked ([`AdminRequest`]).
//! The contract with proto-gateway is EVENTS-CONTRACT.md, summarised in
//! docs/events.md.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::answer::exoml::ExomlError;
use crate::events::{Action, Event, EventError, MAX_EVENT_BYTES};

/// Default for `EVENTS_MAX_BATCH`: most events one array may carry.
pub const DEFAULT_MAX_BATCH: usize = 500;
/// Default for `EVENTS_MAX_BATCH_BYTES`: largest array body (4 MiB).
pub const DEFAULT_MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Default for `EVENTS_STORE_BUDGET_MS`: how long the objects may take to confirm.
pub const DEFAULT_STORE_BUDGET_MS: u64 = 2_000;
/// Default for `EVENTS_REORDER_MS`: how long an event waits for an
/// earlier-stamped one that took another path.
pub const DEFAULT_REORDER_MS: u64 = 500;
/// Default for `EVENTS_RETENTION_DAYS`.
pub const DEFAULT_RETENTION_DAYS: u64 = 7;
/// Default for `EVENTS_MAX_ATTEMPTS`: tries before an event is dead-lettered.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// How soon an object retries reporting dead letters to the index after a failure.
pub const INDEX_RETRY_MS: i64 = 10_000;

/// The Durable Object name an event belongs to: `leg:<data.leg_sid>` if
/// non-empty, else `bridge:<data.bridge_sid>`, else `event:<event_sid>`
/// (the gateway's default `ordering_key_fields`, so both sides agree).
pub fn ordering_key(e: &Event) -> String {
    let non_empty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(leg) = non_empty(&e.data.leg_sid) {
        format!("leg:{leg}")
    } else if let Some(bridge) = non_empty(&e.data.bridge_sid) {
        format!("bridge:{bridge}")
    } else {
        format!("event:{}", e.event_sid)
    }
}

/// Whether `s` can be sent as an HTTP header value as it is (the gateway
/// uses an `event_sid` as a `webhook-id`): visible ASCII and spaces, not
/// empty, no leading or trailing space. Newlines and non-ASCII are refused.
pub fn is_header_value(s: &str) -> bool {
    !s.is_empty() && s.trim() == s && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// A checked event, ready for its object.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// Its ordering key (the object's name).
    pub key: String,
    /// Its id; the object de-duplicates by it.
    pub event_sid: String,
    /// Its name, for the log.
    pub event_name: String,
    /// `event_timestamp` in microseconds since the epoch, when present.
    pub ts_us: Option<i64>,
    /// The event's JSON exactly as delivered.
    pub body: String,
}

impl Incoming {
    fn from_event(e: Event, body: String) -> Self {
        let ts_us = e.event_timestamp.map(|t| {
            t.seconds
                .saturating_mul(1_000_000)
                .saturating_add(i64::from(t.nanos) / 1_000)
        });
        Self {
            key: ordering_key(&e),
            event_sid: e.event_sid,
            event_name: e.event_name,
            ts_us,
            body,
        }
    }
}

/// One element of a delivery after checking.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    /// A valid event, to be stored.
    Valid(Incoming),
    /// The same `event_sid` as an earlier element of this array: answered
    /// `duplicate` without being sent to an object again.
    Repeated {
        /// Its id.
        event_sid: String,
    },
    /// Not a valid event: answered `rejected`; the sender must not retry it.
    Rejected {
        /// Its id, when it has a readable one.
        event_sid: Option<String>,
        /// Why, in the sender's terms.
        error: String,
    },
}

/// What a `POST /events` body holds.
#[derive(Debug, Clone, PartialEq)]
pub enum EventsBody {
    /// One event object (as before batches).
    Single(Incoming),
    /// A JSON array, element by element in request order.
    Batch(Vec<Element>),
}

/// Why a whole body is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// Over a size limit: 413.
    #[error("{what} longer than {limit} bytes")]
    TooLarge {
        /// "event" or "batch".
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, not an event, not an array of values: 400.
    #[error("{0}")]
    Invalid(String),
    /// `[]`: 400.
    #[error("an empty array carries no events")]
    Empty,
    /// More elements than allowed: 400.
    #[error("a batch carries at most {0} events")]
    TooMany(usize),
}

impl BodyError {
    /// The HTTP status for it.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            _ => 400,
        }
    }
}

/// Checks one event's JSON: size as delivered, shape, required fields, and
/// an `event_sid` usable as a header value.
fn check_event(raw: &str) -> Result<Incoming, (Option<String>, String)> {
    let sid_of = || {
        serde_json::from_str::<serde_json::Value>(raw)
            .ok()
            .and_then(|v| {
                let o = v.as_object()?;
                o.get("event_sid")
                    .or_else(|| o.get("eventSid"))?
                    .as_str()
                    .map(str::to_owned)
            })
    };
    if raw.len() > MAX_EVENT_BYTES {
        return Err((
            sid_of(),
            format!("event longer than {MAX_EVENT_BYTES} bytes"),
        ));
    }
    if !raw.trim_start().starts_with('{') {
        return Err((None, "an event must be a JSON object".into()));
    }
    let e = match Event::from_json(raw.as_bytes()) {
        Ok(e) => e,
        Err(EventError::MissingField) => {
            return Err((sid_of(), "event_sid and event_name are required".into()))
        }
        Err(e) => return Err((sid_of(), e.to_string())),
    };
    if !is_header_value(&e.event_sid) {
        return Err((
            Some(e.event_sid),
            "event_sid must be printable ASCII (it is sent as a header value)".into(),
        ));
    }
    Ok(Incoming::from_event(e, raw.to_owned()))
}

/// Reads a delivered body: an event object or an array of 1..=`max_batch`
/// of them. The caller has already bounded the body's size; an array's
/// elements are checked one by one (a bad element is `Rejected`, the rest
/// are stored), a single event's problems refuse the whole body.
pub fn parse_delivery(body: &[u8], max_batch: usize) -> Result<EventsBody, BodyError> {
    let text =
        std::str::from_utf8(body).map_err(|_| BodyError::Invalid("body is not UTF-8".into()))?;
    if !text.trim_start().starts_with('[') {
        return match check_event(text) {
            Ok(i) => Ok(EventsBody::Single(i)),
            Err((_, e)) if e.starts_with("event longer") => Err(BodyError::TooLarge {
                what: "event",
                limit: MAX_EVENT_BYTES,
            }),
            Err((_, e)) => Err(BodyError::Invalid(e)),
        };
    }
    let raws: Vec<&RawValue> = serde_json::from_str(text)
        .map_err(|e| BodyError::Invalid(format!("body is not a JSON array of events: {e}")))?;
    if raws.is_empty() {
        return Err(BodyError::Empty);
    }
    if raws.len() > max_batch {
        return Err(BodyError::TooMany(max_batch));
    }
    let mut seen: HashMap<String, ()> = HashMap::with_capacity(raws.len());
    let elements = raws
        .into_iter()
        .map(|raw| match check_event(raw.get()) {
            Ok(i) if seen.contains_key(&i.event_sid) => Element::Repeated {
                event_sid: i.event_sid,
            },
            Ok(i) => {
                seen.insert(i.event_sid.clone(), ());
                Element::Valid(i)
            }
            Err((event_sid, error)) => Element::Rejected { event_sid, error },
        })
        .collect();
    Ok(EventsBody::Batch(elements))
}

/// The valid elements grouped by ordering key: each key with the indexes of
/// its events in request order; keys in order of first appearance. One
/// object call per key.
pub fn group(elements: &[Element]) -> Vec<(String, Vec<usize>)> {
    let mut order: Vec<(String, Vec<usize>)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, e) in elements.iter().enumerate() {
        if let Element::Valid(inc) = e {
            match at.get(inc.key.as_str()) {
                Some(&g) => order[g].1.push(i),
                None => {
                    at.insert(&inc.key, order.len());
                    order.push((inc.key.clone(), vec![i]));
                }
            }
        }
    }
    order
}

/// What became of one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementStatus {
    /// Written to its object's log (confirmed).
    Stored,
    /// Its `event_sid` was already in the log (or earlier in this array).
    Duplicate,
    /// Not a valid event; never retry it.
    Rejected,
    /// Its object did not confirm in time; retry it.
    Unavailable,
}

impl ElementStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
            Self::Unavailable => "unavailable",
        }
    }
}

/// One entry of the answer's `results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementResult {
    /// The element's id, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_sid: Option<String>,
    /// What happened to it.
    pub status: ElementStatus,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The answer to a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreAnswer {
    /// `stored`, `duplicate` (a single event already stored) or `unavailable`.
    pub status: String,
    /// One per element, in request order.
    pub results: Vec<ElementResult>,
}

/// The results of a delivery's elements: `outcome(i)` is the object's word
/// on valid element `i` (`None`: its object did not confirm).
pub fn results(
    elements: &[Element],
    outcome: impl Fn(usize) -> Option<ElementStatus>,
) -> Vec<ElementResult> {
    elements
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            Element::Valid(inc) => ElementResult {
                event_sid: Some(inc.event_sid.clone()),
                status: outcome(i).unwrap_or(ElementStatus::Unavailable),
                error: None,
            },
            Element::Repeated { event_sid } => {
                // Only as good as its first copy: if that one was not stored, neither was this.
                let first = elements
                    .iter()
                    .position(|x| matches!(x, Element::Valid(v) if v.event_sid == *event_sid));
                let status = match first.and_then(&outcome) {
                    Some(ElementStatus::Stored | ElementStatus::Duplicate) => {
                        ElementStatus::Duplicate
                    }
                    _ => ElementStatus::Unavailable,
                };
                ElementResult {
                    event_sid: Some(event_sid.clone()),
                    status,
                    error: None,
                }
            }
            Element::Rejected { event_sid, error } => ElementResult {
                event_sid: event_sid.clone(),
                status: ElementStatus::Rejected,
                error: Some(error.clone()),
            },
        })
        .collect()
}

/// The HTTP status and body: 503 `unavailable` when any element's object
/// did not confirm; otherwise 200, `stored` for an array, and a single
/// event's own status.
pub fn answer(single: bool, results: Vec<ElementResult>) -> (u16, StoreAnswer) {
    if results
        .iter()
        .any(|r| r.status == ElementStatus::Unavailable)
    {
        return (
            503,
            StoreAnswer {
                status: "unavailable".into(),
                results,
            },
        );
    }
    let status = match (single, results.first()) {
        (true, Some(r)) => r.status.as_str(),
        _ => "stored",
    };
    (
        200,
        StoreAnswer {
            status: status.into(),
            results,
        },
    )
}

// --- The object's side -------------------------------------------------------

/// One event as sent to its object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEvent {
    /// Its id.
    pub event_sid: String,
    /// Its name.
    pub event_name: String,
    /// `event_timestamp` in µs, when present.
    pub ts_us: Option<i64>,
    /// Its JSON as delivered.
    pub body: String,
}

impl From<&Incoming> for AppendEvent {
    fn from(i: &Incoming) -> Self {
        Self {
            event_sid: i.event_sid.clone(),
            event_name: i.event_name.clone(),
            ts_us: i.ts_us,
            body: i.body.clone(),
        }
    }
}

/// A pending event as the scheduler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Arrival order in its log.
    pub seq: i64,
    /// `event_timestamp` in µs.
    pub ts_us: Option<i64>,
    /// When it was stored (ms).
    pub arrived_ms: i64,
    /// Not before this (ms): set by a retry's backoff.
    pub not_before_ms: i64,
}

impl Pending {
    /// Its place in the order: its timestamp, or its arrival time when it
    /// has none; arrival order breaks ties.
    fn order(&self) -> (i64, i64) {
        (
            self.ts_us.unwrap_or(self.arrived_ms.saturating_mul(1_000)),
            self.seq,
        )
    }
}

/// What the scheduler does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Apply the event with this `seq` now.
    Apply(i64),
    /// Nothing may be applied before this time (ms).
    WaitUntil(i64),
    /// Nothing pending.
    Idle,
}

/// The reorder window: the pending event that comes first (by
/// `event_timestamp`, arrival order breaking ties) is applied once it has
/// been stored for `window_ms` and its backoff has passed; everything
/// behind it waits. An event stamped earlier that arrives within the window
/// of a later one (through another gateway replica) therefore goes first.
pub fn next_to_apply(pending: &[Pending], now_ms: i64, window_ms: i64) -> Next {
    let Some(head) = pending.iter().min_by_key(|p| p.order()) else {
        return Next::Idle;
    };
    let due = head
        .arrived_ms
        .saturating_add(window_ms)
        .max(head.not_before_ms);
    if now_ms >= due {
        Next::Apply(head.seq)
    } else {
        Next::WaitUntil(due)
    }
}

/// After an attempt that left an action not accepted yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this time (ms).
    RetryAt(i64),
    /// The attempt limit is reached: dead-letter it.
    Dead,
}

/// `attempts` counts the attempts made, this one included; `wait_ms` is
/// the backoff the response asked for (`retry::Policy::after_response`).
pub fn after_failure(attempts: u32, max_attempts: u32, wait_ms: u64, now_ms: i64) -> AfterFailure {
    if attempts >= max_attempts.max(1) {
        AfterFailure::Dead
    } else {
        AfterFailure::RetryAt(now_ms.saturating_add(wait_ms as i64))
    }
}

/// When the object's alarm should fire next: the next event's due time,
/// the first finished event's expiry, or a retry of the index report.
/// `None`: nothing left to do (the object can forget everything).
pub fn next_alarm(
    head: Next,
    oldest_done_ms: Option<i64>,
    retention_ms: i64,
    index_unsent: bool,
    now_ms: i64,
) -> Option<i64> {
    let head = match head {
        Next::Apply(_) => Some(now_ms),
        Next::WaitUntil(t) => Some(t),
        Next::Idle => None,
    };
    let expiry = oldest_done_ms.map(|t| t.saturating_add(retention_ms));
    let index = index_unsent.then_some(now_ms + INDEX_RETRY_MS);
    [head, expiry, index].into_iter().flatten().min()
}

/// Milliseconds in `days` days.
pub fn days_ms(days: u64) -> i64 {
    (days.min(36_500) * 86_400_000) as i64
}

/// Where an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    /// Stored, not applied yet (or waiting to retry).
    Pending,
    /// Its actions were handled (accepted, refused for good, or none needed).
    Applied,
    /// Given up after the attempt limit; replayable.
    Dead,
}

impl EventState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Applied => "applied",
            Self::Dead => "dead",
        }
    }

    /// From the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "applied" => Some(Self::Applied),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// Where one action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Not accepted yet.
    Pending,
    /// Exotel accepted it (2xx).
    Done,
    /// Refused for good (a 4xx retrying cannot change, or an unusable sid).
    Rejected,
}

/// One leg action of an event, decided once and kept with its outcome, so
/// a retry posts the same request and never re-posts an accepted one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// The leg acted on.
    pub leg_sid: String,
    /// The ExoML verbs, for people (`Say`, `Gather+Dial`, ...).
    pub verbs: String,
    /// The step (`exoedge:greeting:0`).
    pub custom_param: String,
    /// The JSON body posted.
    pub request: String,
    /// Where it is.
    pub status: ActionStatus,
    /// Exotel's last HTTP status (0: network error or timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// POSTs made.
    pub tries: u32,
}

impl ActionRecord {
    /// The records for what `events::decide` returned.
    pub fn from_actions(actions: &[Action]) -> Result<Vec<Self>, String> {
        actions
            .iter()
            .map(|Action::PostLegAction(a)| {
                let request = a.request().map_err(|e: ExomlError| e.to_string())?;
                let request = serde_json::to_string(&request).map_err(|e| e.to_string())?;
                Ok(Self {
                    leg_sid: a.leg_sid.clone(),
                    verbs: a
                        .flow
                        .verbs
                        .iter()
                        .map(|v| v.name())
                        .collect::<Vec<_>>()
                        .join("+"),
                    custom_param: a.custom_param.clone(),
                    request,
                    status: ActionStatus::Pending,
                    http_status: None,
                    tries: 0,
                })
            })
            .collect()
    }
}

/// A dead letter as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The ordering key (its object).
    pub key: String,
    /// The event.
    pub event_sid: String,
    /// Its name.
    pub event_name: String,
    /// When it was stored (ms).
    pub arrived_ms: i64,
    /// When it was given up (ms).
    pub dead_ms: i64,
    /// The last error.
    pub error: String,
}

// --- Admin routes --------------------------------------------------------------

/// A time range in ms, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// From (ms since the epoch).
    pub from_ms: i64,
    /// To (ms since the epoch).
    pub to_ms: i64,
}

impl Range {
    /// The latest time a range may name: JSON numbers pass through
    /// JavaScript between the worker and its objects, so 2^53 - 1.
    pub const MAX_MS: i64 = 9_007_199_254_740_991;

    /// Everything.
    pub const ALL: Range = Range {
        from_ms: 0,
        to_ms: Range::MAX_MS,
    };

    /// Whether `t` is inside.
    pub fn contains(&self, t: i64) -> bool {
        (self.from_ms..=self.to_ms).contains(&t)
    }
}

/// Most entries one admin listing returns.
pub const MAX_ADMIN_LIMIT: usize = 1_000;

/// What an admin request asks for (`/admin/events/...`, docs/events.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRequest {
    /// `GET /admin/events/log?leg=|bridge=|event=|key=`: one key's log.
    Log {
        /// The object.
        key: String,
        /// Most recent entries returned.
        limit: usize,
    },
    /// `GET /admin/events/dead?from=&to=&limit=`: dead letters of every key.
    Dead {
        /// When they died.
        range: Range,
        /// Most entries returned.
        limit: usize,
    },
    /// `POST /admin/events/replay?from=&to=` (every key) or with
    /// `leg=`/`bridge=`/`event=`/`key=` (one key): dead letters made pending again.
    Replay {
        /// One key, or every key (through the index).
        key: Option<String>,
        /// When they died.
        range: Range,
    },
}

/// Why an admin request is refused (400, 404 or 405).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdminError {
    /// Unknown path: 404.
    #[error("no such admin route")]
    NotFound,
    /// Wrong method: 405, with the one allowed.
    #[error("{0} only")]
    Method(&'static str),
    /// A bad parameter: 400.
    #[error("{0}")]
    Bad(String),
}

impl AdminError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Method(_) => 405,
            Self::Bad(_) => 400,
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// A time as Unix milliseconds or RFC 3339.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

fn key_from(q: &HashMap<String, String>) -> Result<Option<String>, AdminError> {
    let mut found = None;
    for (name, prefix) in [
        ("leg", "leg:"),
        ("bridge", "bridge:"),
        ("event", "event:"),
        ("key", ""),
    ] {
        if let Some(v) = q.get(name) {
            if found.is_some() {
                return Err(AdminError::Bad(
                    "give one of leg, bridge, event, key".into(),
                ));
            }
            let key = format!("{prefix}{v}");
            let (kind, sid) = key.split_once(':').unwrap_or(("", ""));
            if !matches!(kind, "leg" | "bridge" | "event")
                || sid.is_empty()
                || !is_header_value(sid)
            {
                return Err(AdminError::Bad(format!(
                    "{name}: not a key (leg:<sid>, bridge:<sid> or event:<sid>)"
                )));
            }
            found = Some(key);
        }
    }
    Ok(found)
}

fn range_from(q: &HashMap<String, String>) -> Result<Range, AdminError> {
    let time = |name: &str, default: i64| match q.get(name) {
        None => Ok(default),
        Some(v) => parse_time(v)
            .ok_or_else(|| AdminError::Bad(format!("{name}: Unix milliseconds or RFC 3339"))),
    };
    let r = Range {
        from_ms: time("from", 0)?.min(Range::MAX_MS),
        to_ms: time("to", Range::MAX_MS)?.min(Range::MAX_MS),
    };
    if r.from_ms > r.to_ms {
        return Err(AdminError::Bad("from is after to".into()));
    }
    Ok(r)
}

fn limit_from(q: &HashMap<String, String>) -> Result<usize, AdminError> {
    match q.get("limit") {
        None => Ok(100),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_ADMIN_LIMIT).contains(&n) => Ok(n),
            _ => Err(AdminError::Bad(format!("limit: 1 to {MAX_ADMIN_LIMIT}"))),
        },
    }
}

impl AdminRequest {
    /// The methods an admin path answers, as its 405's `Allow` lists them
    /// (`None`: no such path).
    pub fn allow(rest: &str) -> Option<&'static str> {
        match rest.trim_end_matches('/') {
            "/log" | "/dead" => Some("GET, HEAD"),
            "/replay" => Some("POST"),
            _ => None,
        }
    }

    /// Parses the path after `/admin/events`, the method and the query.
    pub fn parse(rest: &str, method: &str, query: &str) -> Result<Self, AdminError> {
        let q: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let want = |m: &'static str| {
            if method == m || (m == "GET" && method == "HEAD") {
                Ok(())
            } else {
                Err(AdminError::Method(m))
            }
        };
        match rest.trim_end_matches('/') {
            "/log" => {
                want("GET")?;
                let key = key_from(&q)?
                    .ok_or_else(|| AdminError::Bad("give leg, bridge, event or key".into()))?;
                Ok(Self::Log {
                    key,
                    limit: limit_from(&q)?,
                })
            }
            "/dead" => {
                want("GET")?;
                Ok(Self::Dead {
                    range: range_from(&q)?,
                    limit: limit_from(&q)?,
                })
            }
            "/replay" => {
                want("POST")?;
                let key = key_from(&q)?;
                if key.is_none() && !q.contains_key("from") && !q.contains_key("to") {
                    return Err(AdminError::Bad(
                        "replaying every key needs a time range (from, to)".into(),
                    ));
                }
                Ok(Self::Replay {
                    key,
                    range: range_from(&q)?,
                })
            }
            _ => Err(AdminError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(sid: &str, data: serde_json::Value) -> String {
        json!({ "event_sid": sid, "event_name": "leg_answered", "event_timestamp": { "seconds": 10, "nanos": 5_000 }, "data": data }).to_string()
    }

    #[test]
    fn keys_follow_the_gateway_default() {
        let key = |data| match parse_delivery(ev("E1", data).as_bytes(), 10).unwrap() {
            EventsBody::Single(i) => i.key,
            d => panic!("{d:?}"),
        };
        assert_eq!(
            key(json!({ "leg_sid": "L1", "bridge_sid": "B1" })),
            "leg:L1"
        );
        assert_eq!(
            key(json!({ "leg_sid": "", "bridge_sid": "B1" })),
            "bridge:B1"
        );
        assert_eq!(key(json!({ "bridgeSid": "B2" })), "bridge:B2");
        assert_eq!(key(json!({})), "event:E1");
        assert_eq!(key(json!({ "leg_sid": null })), "event:E1");
    }

    #[test]
    fn a_single_event_keeps_its_bytes_and_timestamp() {
        let body = ev("E1", json!({ "leg_sid": "L1" }));
        let EventsBody::Single(i) = parse_delivery(body.as_bytes(), 10).unwrap() else {
            panic!()
        };
        assert_eq!(i.body, body);
        assert_eq!(i.ts_us, Some(10_000_005));
        assert_eq!(
            (i.event_sid.as_str(), i.event_name.as_str()),
            ("E1", "leg_answered")
        );
        // Invalid single bodies refuse the whole delivery, as before batches.
        assert_eq!(parse_delivery(b"{", 10).unwrap_err().status(), 400);
        assert_eq!(
            parse_delivery(br#"{"event_name":"x"}"#, 10)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse_delivery(br#"{"event_sid":"","event_name":"x"}"#, 10)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse_delivery(br#"{"event_sid":"a\nb","event_name":"x"}"#, 10)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(parse_delivery(b"42", 10).unwrap_err().status(), 400);
        let big = ev("E1", json!({ "pad": "x".repeat(MAX_EVENT_BYTES) }));
        assert_eq!(
            parse_delivery(big.as_bytes(), 10).unwrap_err(),
            BodyError::TooLarge {
                what: "event",
                limit: MAX_EVENT_BYTES
            }
        );
    }

    #[test]
    fn a_batch_checks_each_element() {
        let big = ev("BIG", json!({ "pad": "\u{1}".repeat(MAX_EVENT_BYTES / 6) }));
        assert!(big.len() > MAX_EVENT_BYTES, "escapes count as delivered");
        let body = format!(
            "[{}, 7, {{\"event_sid\":\"N\"}}, {}, {}, {}, {}]",
            ev("A", json!({ "leg_sid": "L1" })),
            ev("B", json!({ "leg_sid": "L2" })),
            ev("A", json!({ "leg_sid": "L1" })),
            big,
            ev("caf\u{e9}", json!({})),
        );
        let EventsBody::Batch(els) = parse_delivery(body.as_bytes(), 10).unwrap() else {
            panic!()
        };
        assert_eq!(els.len(), 7);
        assert!(
            matches!(&els[0], Element::Valid(i) if i.key == "leg:L1" && i.body == ev("A", json!({ "leg_sid": "L1" })))
        );
        assert_eq!(
            els[1],
            Element::Rejected {
                event_sid: None,
                error: "an event must be a JSON object".into()
            }
        );
        assert_eq!(els[2], Element::Rejected { event_sid: Some("N".into()), error: "event body is not an event object: missing field `event_name` at line 1 column 17".into() });
        assert!(matches!(&els[3], Element::Valid(i) if i.key == "leg:L2"));
        assert_eq!(
            els[4],
            Element::Repeated {
                event_sid: "A".into()
            }
        );
        assert!(
            matches!(&els[5], Element::Rejected { event_sid: Some(s), error } if s == "BIG" && error.contains("longer"))
        );
        assert!(
            matches!(&els[6], Element::Rejected { event_sid: Some(s), error } if s == "caf\u{e9}" && error.contains("ASCII"))
        );
        assert_eq!(
            group(&els),
            vec![
                ("leg:L1".to_owned(), vec![0]),
                ("leg:L2".to_owned(), vec![3])
            ]
        );
    }

    #[test]
    fn batch_limits() {
        assert_eq!(parse_delivery(b" [ ] ", 10).unwrap_err(), BodyError::Empty);
        let three = format!(
            "[{},{},{}]",
            ev("a", json!({})),
            ev("b", json!({})),
            ev("c", json!({}))
        );
        assert_eq!(
            parse_delivery(three.as_bytes(), 2).unwrap_err(),
            BodyError::TooMany(2)
        );
        assert!(
            matches!(parse_delivery(three.as_bytes(), 3), Ok(EventsBody::Batch(v)) if v.len() == 3)
        );
        assert_eq!(parse_delivery(b"[1,", 10).unwrap_err().status(), 400);
        assert_eq!(parse_delivery(&[0xff, b'['], 10).unwrap_err().status(), 400);
    }

    #[test]
    fn grouping_keeps_request_order_per_key() {
        let body = format!(
            "[{},{},{},{}]",
            ev("1", json!({ "leg_sid": "X" })),
            ev("2", json!({ "leg_sid": "Y" })),
            ev("3", json!({ "leg_sid": "X" })),
            ev("4", json!({ "bridge_sid": "Y" })),
        );
        let EventsBody::Batch(els) = parse_delivery(body.as_bytes(), 10).unwrap() else {
            panic!()
        };
        assert_eq!(
            group(&els),
            vec![
                ("leg:X".into(), vec![0, 2]),
                ("leg:Y".into(), vec![1]),
                ("bridge:Y".into(), vec![3])
            ]
        );
    }

    #[test]
    fn answers_follow_the_contract() {
        let body = format!(
            "[{},{},{},7]",
            ev("A", json!({ "leg_sid": "L" })),
            ev("B", json!({ "leg_sid": "M" })),
            ev("A", json!({ "leg_sid": "L" }))
        );
        let EventsBody::Batch(els) = parse_delivery(body.as_bytes(), 10).unwrap() else {
            panic!()
        };
        let r = results(&els, |i| {
            Some(if i == 0 {
                ElementStatus::Stored
            } else {
                ElementStatus::Duplicate
            })
        });
        let (status, a) = answer(false, r);
        assert_eq!(status, 200);
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({ "status": "stored", "results": [
                { "event_sid": "A", "status": "stored" },
                { "event_sid": "B", "status": "duplicate" },
                { "event_sid": "A", "status": "duplicate" },
                { "status": "rejected", "error": "an event must be a JSON object" },
            ]})
        );
        // The object holding A did not confirm: A, its repeat, and the answer are unavailable.
        let r = results(&els, |i| (i != 0).then_some(ElementStatus::Stored));
        let (status, a) = answer(false, r);
        assert_eq!((status, a.status.as_str()), (503, "unavailable"));
        let statuses: Vec<_> = a.results.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                ElementStatus::Unavailable,
                ElementStatus::Stored,
                ElementStatus::Unavailable,
                ElementStatus::Rejected
            ]
        );
        // A single event's answer carries its own status.
        let one = ElementResult {
            event_sid: Some("A".into()),
            status: ElementStatus::Duplicate,
            error: None,
        };
        assert_eq!(answer(true, vec![one]).1.status, "duplicate");
    }

    fn p(seq: i64, ts_ms: Option<i64>, arrived_ms: i64) -> Pending {
        Pending {
            seq,
            ts_us: ts_ms.map(|t| t * 1000),
            arrived_ms,
            not_before_ms: 0,
        }
    }

    #[test]
    fn the_reorder_window_lets_an_earlier_stamp_overtake() {
        // B (stamped 200) arrives at 1000; A (stamped 100) at 1300 through another replica.
        let b = p(1, Some(200), 1_000);
        assert_eq!(next_to_apply(&[b], 1_200, 500), Next::WaitUntil(1_500));
        let a = p(2, Some(100), 1_300);
        // A is first now, and waits its own window; B waits behind it.
        assert_eq!(next_to_apply(&[b, a], 1_500, 500), Next::WaitUntil(1_800));
        assert_eq!(next_to_apply(&[b, a], 1_800, 500), Next::Apply(2));
        assert_eq!(next_to_apply(&[b], 1_800, 500), Next::Apply(1));
        assert_eq!(next_to_apply(&[], 1_800, 500), Next::Idle);
        // Equal stamps and missing stamps: arrival order.
        assert_eq!(
            next_to_apply(&[p(5, Some(7), 0), p(4, Some(7), 0)], 10_000, 500),
            Next::Apply(4)
        );
        assert_eq!(
            next_to_apply(&[p(5, None, 0), p(4, None, 0)], 10_000, 500),
            Next::Apply(4)
        );
        // A retrying head holds the key until its backoff ends.
        let retrying = Pending {
            not_before_ms: 9_000,
            ..p(1, Some(1), 0)
        };
        assert_eq!(
            next_to_apply(&[retrying, p(2, Some(2), 0)], 5_000, 500),
            Next::WaitUntil(9_000)
        );
        assert_eq!(next_to_apply(&[p(1, Some(1), 0)], 5_000, 0), Next::Apply(1));
    }

    #[test]
    fn retries_then_dead_letter() {
        assert_eq!(
            after_failure(1, 3, 250, 1_000),
            AfterFailure::RetryAt(1_250)
        );
        assert_eq!(
            after_failure(2, 3, 4_000, 1_000),
            AfterFailure::RetryAt(5_000)
        );
        assert_eq!(after_failure(3, 3, 250, 1_000), AfterFailure::Dead);
        assert_eq!(
            after_failure(1, 0, 250, 1_000),
            AfterFailure::Dead,
            "a limit of 0 means one try"
        );
    }

    #[test]
    fn the_alarm_wakes_for_the_earliest_need() {
        let day = days_ms(1);
        assert_eq!(next_alarm(Next::Idle, None, day, false, 5), None);
        assert_eq!(next_alarm(Next::Apply(1), Some(0), day, false, 5), Some(5));
        assert_eq!(
            next_alarm(Next::WaitUntil(900), Some(0), 100, false, 5),
            Some(100)
        );
        assert_eq!(
            next_alarm(Next::Idle, Some(50), day, false, 5),
            Some(50 + day)
        );
        assert_eq!(
            next_alarm(Next::Idle, None, day, true, 5),
            Some(5 + INDEX_RETRY_MS)
        );
        assert_eq!(days_ms(7), 604_800_000);
    }

    #[test]
    fn admin_requests() {
        assert_eq!(
            AdminRequest::parse("/log", "GET", "leg=L1"),
            Ok(AdminRequest::Log {
                key: "leg:L1".into(),
                limit: 100
            })
        );
        assert_eq!(
            AdminRequest::parse("/log/", "GET", "key=bridge%3AB1&limit=5"),
            Ok(AdminRequest::Log {
                key: "bridge:B1".into(),
                limit: 5
            })
        );
        assert_eq!(
            AdminRequest::parse("/log", "POST", "leg=L1"),
            Err(AdminError::Method("GET"))
        );
        assert_eq!(AdminRequest::allow("/log/"), Some("GET, HEAD"));
        assert_eq!(AdminRequest::allow("/replay"), Some("POST"));
        assert_eq!(AdminRequest::allow("/nope"), None);
        assert_eq!(
            AdminRequest::parse("/log", "GET", "").unwrap_err().status(),
            400
        );
        assert_eq!(
            AdminRequest::parse("/log", "GET", "key=nope:x")
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            AdminRequest::parse("/log", "GET", "leg=a&bridge=b")
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            AdminRequest::parse("/log", "GET", "leg=L&limit=0")
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            AdminRequest::parse("/dead", "GET", "from=2026-01-01T00:00:00Z&to=1767225600001"),
            Ok(AdminRequest::Dead {
                range: Range {
                    from_ms: 1_767_225_600_000,
                    to_ms: 1_767_225_600_001
                },
                limit: 100
            })
        );
        assert_eq!(
            AdminRequest::parse("/dead", "GET", "from=yesterday")
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            AdminRequest::parse("/dead", "GET", "from=5&to=4")
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            AdminRequest::parse("/replay", "POST", "leg=L1"),
            Ok(AdminRequest::Replay {
                key: Some("leg:L1".into()),
                range: Range::ALL
            })
        );
        assert_eq!(
            AdminRequest::parse("/replay", "POST", "from=1"),
            Ok(AdminRequest::Replay {
                key: None,
                range: Range {
                    from_ms: 1,
                    to_ms: Range::MAX_MS
                }
            })
        );
        assert_eq!(
            AdminRequest::parse("/replay", "POST", "")
                .unwrap_err()
                .status(),
            400,
            "all keys need a range"
        );
        assert_eq!(
            AdminRequest::parse("/replay", "GET", "leg=L1")
                .unwrap_err()
                .status(),
            405
        );
        assert_eq!(
            AdminRequest::parse("/nope", "GET", ""),
            Err(AdminError::NotFound)
        );
        assert!(
            Range {
                from_ms: 1,
                to_ms: 2
            }
            .contains(2)
                && !Range {
                    from_ms: 1,
                    to_ms: 2
                }
                .contains(3)
        );
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer   abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn header_values() {
        assert!(is_header_value("2q47dipYPQbEnwgEnNWxrTB6Ywb00000"));
        assert!(
            !is_header_value("")
                && !is_header_value("a\nb")
                && !is_header_value(" a")
                && !is_header_value("é")
        );
    }
}
