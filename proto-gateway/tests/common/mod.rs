//! Shared test fixtures: a recording HTTP sink standing in for the edge, a
//! gRPC client speaking the gateway's contract from the same descriptors, a
//! config pointing one at the other, and the in-process start of a gateway
//! with its client. Loopback only.
#![allow(dead_code)]
// Fixture code panics on purpose: a broken fixture is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use handlers::webhook::{self, Secret, SignedHeaders};
use prost::Message as _;
use prost_reflect::DynamicMessage;
use proto_gateway::config::{Config, ProtoConfig};
use proto_gateway::convert::EventSchema;
use proto_gateway::service::RawCodec;
use proto_gateway::Gateway;
use tonic::transport::Channel;

/// The signing secret every test gateway uses.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// What the sink answers.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            retry_after: None,
            delay: Duration::ZERO,
        }
    }
}

type Behaviour = Arc<dyn Fn(&str, u32) -> Reply + Send + Sync>;

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub at: Instant,
    /// Answer given.
    pub status: u16,
}

#[derive(Clone)]
struct SinkState {
    behaviour: Arc<Mutex<Behaviour>>,
    received: Arc<Mutex<Vec<Received>>>,
    attempts: Arc<Mutex<HashMap<String, u32>>>,
}

/// A local HTTP server recording every delivery.
#[derive(Clone)]
pub struct Sink {
    pub url: String,
    state: SinkState,
}

/// Serves `app` on an ephemeral loopback port for the rest of the test;
/// returns its `/events` URL (what `forward.url` points at).
async fn serve_events(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/events")
}

impl Sink {
    /// Starts a sink answering per `behaviour(event_sid, attempt_number)`.
    pub async fn start(behaviour: impl Fn(&str, u32) -> Reply + Send + Sync + 'static) -> Sink {
        let state = SinkState {
            behaviour: Arc::new(Mutex::new(Arc::new(behaviour))),
            received: Arc::default(),
            attempts: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/events", axum::routing::post(receive))
            .with_state(state.clone());
        Sink {
            url: serve_events(app).await,
            state,
        }
    }

    /// Replaces the answer policy.
    pub fn set(&self, behaviour: impl Fn(&str, u32) -> Reply + Send + Sync + 'static) {
        *self.state.behaviour.lock().unwrap() = Arc::new(behaviour);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Ids answered 2xx, in arrival order.
    pub fn delivered_ids(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .map(|r| r.id)
            .collect()
    }

    /// Waits until `pred` holds over the received requests.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[Received]) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.received()) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; received {} requests",
                    self.received().len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(state): State<SinkState>, headers: HeaderMap, body: Bytes) -> Response {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let id = h(webhook::HEADER_ID);
    let attempt = {
        let mut a = state.attempts.lock().unwrap();
        let n = a.entry(id.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let behaviour = state.behaviour.lock().unwrap().clone();
    let reply = behaviour(&id, attempt);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    state.received.lock().unwrap().push(Received {
        id,
        timestamp: h(webhook::HEADER_TIMESTAMP),
        signature: h(webhook::HEADER_SIGNATURE),
        body: body.to_vec(),
        at: Instant::now(),
        status: reply.status,
    });
    let mut resp = StatusCode::from_u16(reply.status).unwrap().into_response();
    if let Some(s) = reply.retry_after {
        resp.headers_mut().insert("retry-after", s.into());
    }
    resp
}

/// Checks a received request's signature with the test secret.
pub fn verify(r: &Received) -> Result<(), webhook::WebhookError> {
    let now: i64 = r.timestamp.parse().unwrap();
    webhook::verify(
        &[Secret::parse(SECRET).unwrap()],
        &SignedHeaders {
            id: &r.id,
            timestamp: &r.timestamp,
            signature: &r.signature,
        },
        &r.body,
        now,
    )
}

/// A config for a test gateway: ports chosen by the OS, outbox in `dir`,
/// delivery to `sink_url`, fast retries.
pub fn config(dir: &Path, sink_url: &str) -> Config {
    let mut c = Config::default();
    c.grpc.listen = "127.0.0.1:0".parse().unwrap();
    c.admin.listen = "127.0.0.1:0".parse().unwrap();
    c.store.path = dir.join("outbox.sqlite3");
    c.forward.url = sink_url.to_owned();
    c.forward.secrets = vec![SECRET.to_owned()];
    c.forward.initial_backoff_ms = 20;
    c.forward.max_backoff_ms = 200;
    c.forward.timeout_ms = 3_000;
    // The sink takes one event per POST (the single-event contract).
    c.forward.batch = false;
    c
}

/// Starts a gateway in process on `cfg`, with no extra admin routes.
pub async fn start(cfg: Config) -> Gateway {
    Gateway::start(cfg, Vec::new()).await.unwrap()
}

/// [`start`], and a client connected to the gateway's gRPC port.
pub async fn start_with_client(cfg: Config) -> (Gateway, Client) {
    let gw = start(cfg).await;
    let client = Client::connect(gw.grpc_addr()).await;
    (gw, client)
}

/// The built-in contract, as a client sees it.
pub fn schema() -> EventSchema {
    EventSchema::load(&ProtoConfig::default()).unwrap()
}

/// An encoded event of the built-in contract.
pub fn event(schema: &EventSchema, sid: &str, leg: Option<&str>, name: &str) -> Vec<u8> {
    let data = match leg {
        Some(l) => serde_json::json!({ "leg_sid": l, "state": "answered" }),
        None => serde_json::json!({}),
    };
    let json = serde_json::json!({
        "event_sid": sid,
        "event_type": "leg_action_event",
        "event_name": name,
        "event_timestamp": "2024-12-02T14:12:07.963868626Z",
        "action_sid": "act-1",
        "action_custom_parameter": "exoedge:test",
        "data": data,
    });
    DynamicMessage::deserialize(schema.input().clone(), json)
        .unwrap()
        .encode_to_vec()
}

/// A gRPC client for the gateway's method, built from the same descriptors.
#[derive(Clone)]
pub struct Client {
    grpc: tonic::client::Grpc<Channel>,
    path: http::uri::PathAndQuery,
    pub schema: Arc<EventSchema>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Client::with_channel(channel)
    }

    pub fn with_channel(channel: Channel) -> Client {
        let schema = schema();
        Client {
            grpc: tonic::client::Grpc::new(channel).max_encoding_message_size(64 * 1024 * 1024),
            path: schema.rpc_path().parse().unwrap(),
            schema: Arc::new(schema),
        }
    }

    /// Sends pre-encoded bytes.
    pub async fn send_raw(&mut self, bytes: Vec<u8>) -> Result<bytes::Bytes, tonic::Status> {
        self.grpc
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        self.grpc
            .unary(tonic::Request::new(bytes), self.path.clone(), RawCodec)
            .await
            .map(|r| r.into_inner())
    }

    /// Sends one leg event.
    pub async fn send(&mut self, sid: &str, leg: Option<&str>) -> Result<(), tonic::Status> {
        let bytes = event(&self.schema, sid, leg, "leg_answered");
        self.send_raw(bytes).await.map(|_| ())
    }
}

/// Scrapes one metric's value from the admin server.
pub async fn metric(admin: SocketAddr, name: &str) -> f64 {
    proto_gateway::install_crypto_provider();
    let text = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("metric {name} missing in:\n{text}"))
        .parse()
        .unwrap()
}

/// How the fake edge answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeMode {
    /// Stores every valid event, after a random delay up to this many ms.
    Up(u64),
    /// 503 with every element `unavailable` (an object did not confirm).
    Unavailable,
    /// Answers only after this long (longer than the gateway waits).
    Stalled(Duration),
}

/// One event in the fake edge's log.
#[derive(Debug, Clone)]
pub struct Logged {
    pub event_sid: String,
    pub leg: String,
}

#[derive(Clone)]
struct EdgeState {
    mode: Arc<Mutex<EdgeMode>>,
    log: Arc<Mutex<Vec<Logged>>>,
    posts: Arc<Mutex<Vec<usize>>>,
    /// Legs in POSTs being answered right now, and how often a POST
    /// arrived with a leg that was already in one (never, if the gateway
    /// keeps one POST per key in flight).
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
    overlaps: Arc<Mutex<Vec<String>>>,
}

/// Takes a POST's legs out of the in-flight set when its answer is done or
/// the client gave up (the handler is dropped).
struct InFlight(Arc<Mutex<HashMap<String, usize>>>, Vec<String>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut m = self.0.lock().unwrap();
        for leg in &self.1 {
            if let Some(n) = m.get_mut(leg) {
                *n -= 1;
                if *n == 0 {
                    m.remove(leg);
                }
            }
        }
    }
}

/// A fake of the worker's `POST /events` batch contract
/// (EVENTS-CONTRACT.md): verifies the signature, takes one event or an
/// array, de-duplicates by event_sid, appends to a log in arrival order and
/// answers per event. Events named `bad` are `rejected`.
#[derive(Clone)]
pub struct FakeEdge {
    pub url: String,
    state: EdgeState,
}

impl FakeEdge {
    pub async fn start(mode: EdgeMode) -> FakeEdge {
        let state = EdgeState {
            mode: Arc::new(Mutex::new(mode)),
            log: Arc::default(),
            posts: Arc::default(),
            in_flight: Arc::default(),
            overlaps: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/events", axum::routing::post(edge_receive))
            .with_state(state.clone());
        FakeEdge {
            url: serve_events(app).await,
            state,
        }
    }

    pub fn set(&self, mode: EdgeMode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn has(&self, sid: &str) -> bool {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.event_sid == sid)
    }

    /// Legs that arrived in a POST while another POST with the same leg
    /// was still being answered.
    pub fn overlaps(&self) -> Vec<String> {
        self.state.overlaps.lock().unwrap().clone()
    }

    /// Events per POST received, in order.
    pub fn posts(&self) -> Vec<usize> {
        self.state.posts.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&[Logged]) -> bool) {
        let deadline = Instant::now() + timeout;
        while !pred(&self.log()) {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; the edge log has {} events",
                    self.log().len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asserts each event is in the log once and each leg's events are in
    /// the order their names sort in (`ev-<leg>-<nnn>`).
    pub fn assert_once_and_in_order(&self) {
        let log = self.log();
        let mut seen = std::collections::HashSet::new();
        let mut per_leg: HashMap<String, Vec<String>> = HashMap::new();
        for l in &log {
            assert!(
                seen.insert(l.event_sid.clone()),
                "{} logged twice",
                l.event_sid
            );
            per_leg
                .entry(l.leg.clone())
                .or_default()
                .push(l.event_sid.clone());
        }
        for (leg, ids) in per_leg {
            let mut sorted = ids.clone();
            sorted.sort();
            assert_eq!(ids, sorted, "events of {leg} out of order at the edge");
        }
    }
}

async fn edge_receive(State(state): State<EdgeState>, headers: HeaderMap, body: Bytes) -> Response {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (id, ts, sig) = (
        h(webhook::HEADER_ID),
        h(webhook::HEADER_TIMESTAMP),
        h(webhook::HEADER_SIGNATURE),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if webhook::verify(
        &[Secret::parse(SECRET).unwrap()],
        &SignedHeaders {
            id: &id,
            timestamp: &ts,
            signature: &sig,
        },
        &body,
        now,
    )
    .is_err()
    {
        return (StatusCode::UNAUTHORIZED, "{\"error\":\"bad signature\"}").into_response();
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return (StatusCode::BAD_REQUEST, "{\"error\":\"not JSON\"}").into_response(),
    };
    let (events, single) = match value {
        serde_json::Value::Array(a) if !a.is_empty() => (a, false),
        serde_json::Value::Array(_) => {
            return (StatusCode::BAD_REQUEST, "{\"error\":\"empty array\"}").into_response()
        }
        other => (vec![other], true),
    };
    state.posts.lock().unwrap().push(events.len());
    let legs: Vec<String> = {
        let mut legs: Vec<String> = events
            .iter()
            .filter_map(|e| e["data"]["leg_sid"].as_str().map(str::to_owned))
            .collect();
        legs.sort();
        legs.dedup();
        legs
    };
    let _in_flight = {
        let mut m = state.in_flight.lock().unwrap();
        for leg in &legs {
            let n = m.entry(leg.clone()).or_insert(0);
            if *n > 0 {
                state.overlaps.lock().unwrap().push(leg.clone());
            }
            *n += 1;
        }
        InFlight(state.in_flight.clone(), legs)
    };
    let mode = *state.mode.lock().unwrap();
    let sid_of = |e: &serde_json::Value| e["event_sid"].as_str().unwrap_or("").to_owned();
    match mode {
        EdgeMode::Unavailable => {
            let results: Vec<_> = events
                .iter()
                .map(|e| serde_json::json!({"event_sid": sid_of(e), "status": "unavailable"}))
                .collect();
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable", "results": results})),
            )
                .into_response();
        }
        EdgeMode::Stalled(d) => tokio::time::sleep(d).await,
        EdgeMode::Up(max_ms) => {
            if max_ms > 0 {
                tokio::time::sleep(Duration::from_millis(fastrand::u64(0..=max_ms))).await;
            }
        }
    }
    let mut results = Vec::new();
    {
        let mut log = state.log.lock().unwrap();
        for e in &events {
            let sid = sid_of(e);
            let status = if sid.is_empty() || e["event_name"] == "bad" {
                serde_json::json!({"event_sid": sid, "status": "rejected", "error": "event_name is bad"})
            } else if log.iter().any(|l| l.event_sid == sid) {
                serde_json::json!({"event_sid": sid, "status": "duplicate"})
            } else {
                let leg = e["data"]["leg_sid"].as_str().unwrap_or("").to_owned();
                log.push(Logged {
                    event_sid: sid.clone(),
                    leg,
                });
                serde_json::json!({"event_sid": sid, "status": "stored"})
            };
            results.push(status);
        }
    }
    if single && results[0]["status"] == "rejected" {
        return (StatusCode::BAD_REQUEST, "{\"error\":\"event_name is bad\"}").into_response();
    }
    let top = if single {
        results[0]["status"].clone()
    } else {
        "stored".into()
    };
    axum::Json(serde_json::json!({"status": top, "results": results})).into_response()
}
