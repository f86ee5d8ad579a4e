//! Load generator for proto-gateway (BENCHMARKS.md, bench/run.sh).
//!
//! `loadgen run` drives TriggerCallbackEvent at a fixed rate (open loop:
//! latency counts from when each event was due, so a stalled gateway cannot
//! hide its queueing) or flat out (closed loop, N in flight), while an
//! in-process HTTP sink plays the edge. Every event's send, ack and arrival
//! at the sink go on one clock, so ack latency and ack-to-sink latency come
//! from the same process. `loadgen outage` takes the sink down for a while
//! and reports the backlog and how fast it drains. `loadgen sink` runs the
//! sink alone.
//!
//! Events are built from the gateway's own contract (its .proto, compiled by
//! protox at startup, exactly as the gateway reads it) and sent with its raw
//! codec, so the bytes are what a real client sends.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use proto_gateway::config::ProtoConfig;
use proto_gateway::convert::EventSchema;
use proto_gateway::service::RawCodec;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tonic::transport::Channel;

/// Events per leg: consecutive events share an ordering key, as a call's
/// answered/gather/dial events would.
const EVENTS_PER_LEG: u64 = 4;

#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "proto-gateway load generator and HTTP sink")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drive the gateway at a fixed rate or flat out; print one JSON line.
    Run(RunArgs),
    /// Sink down for a while, then back: backlog and drain rate; one JSON line.
    Outage(OutageArgs),
    /// One connection, one request after another, each timed: the latency
    /// a caller's callbacks see, without wrk's correction (which, at one
    /// connection, turns a single stall of the machine into hundreds of
    /// samples); one JSON line.
    Sequential {
        /// The URL to GET (http only).
        #[arg(long)]
        url: String,
        /// Seconds to send for.
        #[arg(long, default_value_t = 4)]
        secs: u64,
        /// Label printed with the results.
        #[arg(long, default_value = "run")]
        label: String,
        /// Keep-alive connections, each sending one request after another
        /// (wrk's -c, without its 2 s cut-off: a request that takes longer
        /// is timed all the same, and named in `slowest`).
        #[arg(long, default_value_t = 1)]
        connections: usize,
        /// Open every connection and send one untimed request on each
        /// before the timed requests start (wrk opens its connections
        /// under load, and times their first requests).
        #[arg(long)]
        open_first: bool,
    },
    /// Only the HTTP sink (answers 200 to everything) until killed.
    Sink {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:18800")]
        listen: SocketAddr,
    },
}

#[derive(Debug, Args, Clone)]
struct Common {
    /// The gateway's gRPC address (plaintext); several, comma-separated, to
    /// spread the load over replicas (as a TCP load balancer would:
    /// connections are assigned round-robin, requests round-robin over
    /// connections, so one leg's events reach several replicas).
    #[arg(long, default_value = "127.0.0.1:50051", value_delimiter = ',')]
    grpc: Vec<SocketAddr>,
    /// Where the in-process sink listens (the gateway's forward.url points here).
    #[arg(long, default_value = "127.0.0.1:18800")]
    sink: SocketAddr,
    /// HTTP/2 connections per gateway address (requests are spread over them).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Label printed with the results (e.g. durable, no-durability).
    #[arg(long, default_value = "run")]
    label: String,
    /// Prefix of event ids; must differ between runs against one outbox.
    #[arg(long, default_value = "ev")]
    prefix: String,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Events per second; 0 = flat out with --concurrency in flight.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Seconds to send for.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Flat out: requests in flight. Fixed rate: cap on requests in flight.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Seconds to wait after sending for the sink to receive everything.
    #[arg(long, default_value_t = 60)]
    drain_timeout: u64,
}

#[derive(Debug, Args)]
struct OutageArgs {
    #[command(flatten)]
    common: Common,
    /// Events per second, sent for the whole scenario.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds of normal operation before the sink goes down.
    #[arg(long, default_value_t = 5)]
    before: u64,
    /// Seconds the sink is down (events keep arriving meanwhile).
    #[arg(long, default_value_t = 60)]
    down: u64,
    /// Seconds to wait, after the sink is back, for the backlog to drain.
    #[arg(long, default_value_t = 180)]
    drain_timeout: u64,
    /// The gateway's admin address, for its queue depth and dead letters.
    #[arg(long)]
    admin: Option<SocketAddr>,
}

/// Per-event timestamps in nanoseconds since the run's start, plus one (0 = not yet).
struct Timeline {
    start: Instant,
    send: Vec<AtomicU64>,
    ack: Vec<AtomicU64>,
    sink: Vec<AtomicU64>,
    acked: AtomicU64,
    failed: AtomicU64,
    delivered: AtomicU64,
    duplicates: AtomicU64,
    foreign: AtomicU64,
    prefix: String,
}

impl Timeline {
    fn new(capacity: usize, prefix: &str) -> Arc<Timeline> {
        let v = || (0..capacity).map(|_| AtomicU64::new(0)).collect::<Vec<_>>();
        Arc::new(Timeline {
            start: Instant::now(),
            send: v(),
            ack: v(),
            sink: v(),
            acked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            prefix: format!("{prefix}-"),
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64 + 1
    }

    fn at(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_nanos() as u64 + 1
    }

    /// The sink saw `webhook_id`.
    fn arrived(&self, webhook_id: &str) {
        let index = webhook_id
            .strip_prefix(&self.prefix)
            .and_then(|i| i.parse::<usize>().ok());
        match index.and_then(|i| self.sink.get(i)) {
            Some(slot) => {
                if slot
                    .compare_exchange(0, self.now(), Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                {
                    self.delivered.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.duplicates.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                self.foreign.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Builds event `i` from the contract: a leg event whose leg is shared by
/// [`EVENTS_PER_LEG`] consecutive events.
struct Events {
    input: MessageDescriptor,
    prefix: String,
    /// The encoded `event_timestamp` (the same in every event).
    timestamp: Vec<u8>,
}

const EVENT_NAMES: [&str; 4] = [
    "leg_answered",
    "gather_success",
    "play_completed",
    "leg_terminated",
];

impl Events {
    fn new(input: MessageDescriptor, prefix: String) -> Result<Events> {
        let ts = input
            .get_field_by_name("event_timestamp")
            .context("contract has no event_timestamp")?;
        let prost_reflect::Kind::Message(ts_desc) = ts.kind() else {
            bail!("event_timestamp is not a message")
        };
        let timestamp =
            DynamicMessage::deserialize(ts_desc, json!("2026-05-13T05:30:00.963868626Z"))?
                .encode_to_vec();
        let events = Events {
            input,
            prefix,
            timestamp,
        };
        // The fast encoder must produce the message the contract does.
        for i in [0, 1, 2, 3, 4, 7, 1_234_567, 99_999_999] {
            // Equal as messages (a map's entries may come in any order).
            let decode = |b: Vec<u8>| DynamicMessage::decode(events.input.clone(), b.as_slice());
            if decode(events.encode(i)?)? != decode(events.encode_reflect(i)?)? {
                bail!("the hand-written encoding of event {i} differs from the contract's");
            }
        }
        Ok(events)
    }

    /// Event `i` encoded as a client with generated code would (fields in
    /// number order, the Struct's map in key order): the message
    /// [`Events::encode_reflect`] produces, checked at startup, at a
    /// fraction of its cost, so the load generator leaves the CPU to the
    /// gateway it measures.
    fn encode(&self, i: u64) -> Result<Vec<u8>> {
        use prost::encoding::{encode_key, encode_varint, WireType};
        fn string(tag: u32, v: &str, buf: &mut Vec<u8>) {
            encode_key(tag, WireType::LengthDelimited, buf);
            encode_varint(v.len() as u64, buf);
            buf.extend_from_slice(v.as_bytes());
        }
        fn message(tag: u32, v: &[u8], buf: &mut Vec<u8>) {
            encode_key(tag, WireType::LengthDelimited, buf);
            encode_varint(v.len() as u64, buf);
            buf.extend_from_slice(v);
        }
        let leg = i / EVENTS_PER_LEG;
        let leg_sid = format!("leg-{}-{leg:08}", self.prefix);
        let call_sid = format!("b6cf2a0e7c4d4e51a2f0c3d9{leg:08x}");
        // google.protobuf.Struct: map<string, Value> fields = 1, as entries
        // {1: key, 2: Value {3: string_value}}, keys sorted.
        let mut data = Vec::with_capacity(256);
        let mut entry = Vec::with_capacity(96);
        let mut value = Vec::with_capacity(64);
        for (k, v) in [
            ("account_sid", "exoedgebench1"),
            ("call_sid", call_sid.as_str()),
            ("digits", "9"),
            ("direction", "inbound"),
            ("from", "+919876543210"),
            ("leg_sid", leg_sid.as_str()),
            ("state", "answered"),
            ("to", "+918047115777"),
        ] {
            value.clear();
            string(3, v, &mut value);
            entry.clear();
            string(1, k, &mut entry);
            message(2, &value, &mut entry);
            message(1, &entry, &mut data);
        }
        let mut buf = Vec::with_capacity(512);
        string(1, &format!("{}-{i}", self.prefix), &mut buf);
        string(2, "leg_action_event", &mut buf);
        string(3, EVENT_NAMES[(i % EVENTS_PER_LEG) as usize], &mut buf);
        message(4, &self.timestamp, &mut buf);
        string(5, &format!("act-{leg}"), &mut buf);
        string(6, "exoedge:bench", &mut buf);
        message(7, &data, &mut buf);
        Ok(buf)
    }

    /// Event `i` built from JSON through the contract's descriptors.
    fn encode_reflect(&self, i: u64) -> Result<Vec<u8>> {
        let leg = i / EVENTS_PER_LEG;
        let json = json!({
            "event_sid": format!("{}-{i}", self.prefix),
            "event_type": "leg_action_event",
            "event_name": EVENT_NAMES[(i % EVENTS_PER_LEG) as usize],
            "event_timestamp": "2026-05-13T05:30:00.963868626Z",
            "action_sid": format!("act-{leg}"),
            "action_custom_parameter": "exoedge:bench",
            "data": {
                "leg_sid": format!("leg-{}-{leg:08}", self.prefix),
                "call_sid": format!("b6cf2a0e7c4d4e51a2f0c3d9{leg:08x}"),
                "account_sid": "exoedgebench1",
                "direction": "inbound",
                "from": "+919876543210",
                "to": "+918047115777",
                "state": "answered",
                "digits": "9"
            }
        });
        let msg = DynamicMessage::deserialize(self.input.clone(), json)
            .context("event does not fit the contract")?;
        Ok(msg.encode_to_vec())
    }
}

struct Client {
    channels: Vec<tonic::client::Grpc<Channel>>,
    path: http::uri::PathAndQuery,
}

impl Client {
    async fn connect(addrs: &[SocketAddr], n: usize, schema: &EventSchema) -> Result<Client> {
        let mut channels = Vec::new();
        for _ in 0..n.max(1) {
            for addr in addrs {
                let ch = Channel::from_shared(format!("http://{addr}"))?
                    .connect()
                    .await
                    .with_context(|| format!("connecting to the gateway at {addr}"))?;
                channels.push(tonic::client::Grpc::new(ch));
            }
        }
        Ok(Client {
            channels,
            path: schema.rpc_path().parse()?,
        })
    }

    async fn send(&self, i: u64, bytes: Vec<u8>) -> Result<(), tonic::Status> {
        let mut grpc = self.channels[i as usize % self.channels.len()].clone();
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        grpc.unary(tonic::Request::new(bytes), self.path.clone(), RawCodec)
            .await
            .map(|_: tonic::Response<Bytes>| ())
    }
}

/// One request, timed from `due` (fixed rate) or from now (flat out).
async fn send_one(client: &Client, events: &Events, tl: &Timeline, i: u64, due: Option<Instant>) {
    let slot = i as usize;
    let bytes = match events.encode(i) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("encode: {e:#}");
            tl.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    tl.send[slot].store(
        due.map(|d| tl.at(d)).unwrap_or_else(|| tl.now()),
        Ordering::Relaxed,
    );
    match client.send(i, bytes).await {
        Ok(()) => {
            tl.ack[slot].store(tl.now(), Ordering::Relaxed);
            tl.acked.fetch_add(1, Ordering::Relaxed);
        }
        Err(s) => {
            if tl.failed.fetch_add(1, Ordering::Relaxed) < 5 {
                eprintln!("event {i}: {} {}", s.code(), s.message());
            }
        }
    }
}

/// Sends events `0..` at `rate`/s for `secs` (open loop), at most `cap` in flight.
async fn fixed_rate(
    client: Arc<Client>,
    events: Arc<Events>,
    tl: Arc<Timeline>,
    rate: u64,
    secs: u64,
    cap: usize,
) -> u64 {
    let total = rate * secs;
    let sem = Arc::new(Semaphore::new(cap));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..total {
        let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        let (c, e, t) = (client.clone(), events.clone(), tl.clone());
        tasks.spawn(async move {
            send_one(&c, &e, &t, i, Some(due)).await;
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    total
}

/// Sends as fast as `concurrency` requests in flight allow, for `secs`.
async fn flat_out(
    client: Arc<Client>,
    events: Arc<Events>,
    tl: Arc<Timeline>,
    secs: u64,
    concurrency: usize,
) -> u64 {
    let next = Arc::new(AtomicU64::new(0));
    let capacity = tl.send.len() as u64;
    let stop_at = Instant::now() + Duration::from_secs(secs);
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let (c, e, t, n) = (client.clone(), events.clone(), tl.clone(), next.clone());
        tasks.spawn(async move {
            while Instant::now() < stop_at {
                let i = n.fetch_add(1, Ordering::Relaxed);
                if i >= capacity {
                    break;
                }
                send_one(&c, &e, &t, i, None).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    next.load(Ordering::Relaxed).min(capacity)
}

/// One event of a batch as the sink reads it: every field parsed, as the
/// edge's typed event is.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct SinkEvent {
    event_sid: String,
    event_type: String,
    #[serde(default)]
    event_name: String,
    #[serde(default)]
    event_timestamp: Option<String>,
    #[serde(default)]
    action_sid: Option<String>,
    #[serde(default)]
    action_custom_parameter: Option<String>,
    #[serde(default)]
    data: std::collections::HashMap<String, serde_json::Value>,
}

#[derive(serde::Serialize)]
struct SinkResult<'a> {
    event_sid: &'a str,
    status: &'static str,
}

#[derive(serde::Serialize)]
struct SinkAnswer<'a> {
    status: &'static str,
    results: Vec<SinkResult<'a>>,
}

/// The sink plays the edge's `POST /events`: a single event is recorded by
/// its `webhook-id`; a batch (JSON array) by each element's `event_sid`,
/// answered with per-event `stored` results as the edge's batch contract
/// does. While `up` is false it neither listens nor keeps connections (the
/// edge is down).
async fn sink(
    addr: SocketAddr,
    tl: Option<Arc<Timeline>>,
    mut up: watch::Receiver<bool>,
) -> Result<()> {
    loop {
        while !*up.borrow_and_update() {
            up.changed().await?;
        }
        let listener = bind_retrying(addr).await?;
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let tl = tl.clone();
                    conns.spawn(async move {
                        let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let tl = tl.clone();
                            async move {
                                let id = req.headers().get("webhook-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
                                // Read the whole body, so the connection is reused.
                                let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                                let answer = match body.first() {
                                    Some(b'[') => {
                                        // Every event parsed in full (as the edge does),
                                        // into types rather than a Value tree.
                                        let events: Vec<SinkEvent> = serde_json::from_slice(&body).unwrap_or_default();
                                        let results: Vec<SinkResult> = events
                                            .iter()
                                            .map(|e| {
                                                if let Some(tl) = &tl {
                                                    tl.arrived(&e.event_sid);
                                                }
                                                SinkResult { event_sid: &e.event_sid, status: "stored" }
                                            })
                                            .collect();
                                        serde_json::to_string(&SinkAnswer { status: "stored", results }).unwrap_or_default()
                                    }
                                    _ => {
                                        if let (Some(tl), Some(id)) = (&tl, &id) {
                                            tl.arrived(id);
                                        }
                                        json!({"status": "stored", "results": [{"event_sid": id, "status": "stored"}]}).to_string()
                                    }
                                };
                                Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from(answer))))
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
                _ = up.changed() => {
                    if !*up.borrow() {
                        break;
                    }
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        // Down: stop listening and cut every open connection.
        drop(listener);
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
}

async fn bind_retrying(addr: SocketAddr) -> Result<TcpListener> {
    let mut last = None;
    for _ in 0..50 {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(anyhow!("binding the sink on {addr}: {:?}", last))
}

/// A percentile of sorted nanoseconds, in milliseconds.
fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1e6
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

async fn wait_delivered(tl: &Timeline, want: u64, timeout: Duration) -> bool {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if tl.delivered.load(Ordering::Relaxed) >= want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tl.delivered.load(Ordering::Relaxed) >= want
}

fn summarize(tl: &Timeline, n: usize) -> serde_json::Value {
    let mut ack_lat = Vec::with_capacity(n);
    let mut e2e = Vec::with_capacity(n);
    let mut send_to_sink = Vec::with_capacity(n);
    let (mut first_send, mut last_ack, mut last_sink) = (u64::MAX, 0u64, 0u64);
    let mut sink_before_ack = 0u64;
    for i in 0..n {
        let (s, a, k) = (
            tl.send[i].load(Ordering::Relaxed),
            tl.ack[i].load(Ordering::Relaxed),
            tl.sink[i].load(Ordering::Relaxed),
        );
        if s == 0 {
            continue;
        }
        first_send = first_send.min(s);
        if a != 0 {
            ack_lat.push(a.saturating_sub(s));
            last_ack = last_ack.max(a);
            if k != 0 {
                if k < a {
                    sink_before_ack += 1;
                }
                e2e.push(k.saturating_sub(a));
            }
        }
        if k != 0 {
            send_to_sink.push(k.saturating_sub(s));
            last_sink = last_sink.max(k);
        }
    }
    ack_lat.sort_unstable();
    e2e.sort_unstable();
    send_to_sink.sort_unstable();
    let acked = tl.acked.load(Ordering::Relaxed);
    let delivered = tl.delivered.load(Ordering::Relaxed);
    let secs = |end: u64| {
        if end > first_send {
            (end - first_send) as f64 / 1e9
        } else {
            f64::NAN
        }
    };
    json!({
        "sent": ack_lat.len() as u64 + tl.failed.load(Ordering::Relaxed),
        "acked": acked,
        "failed": tl.failed.load(Ordering::Relaxed),
        "delivered": delivered,
        "duplicates": tl.duplicates.load(Ordering::Relaxed),
        "accepted_per_s": round3(acked as f64 / secs(last_ack)).round(),
        "delivered_per_s": round3(delivered as f64 / secs(last_sink)).round(),
        "ack_ms": { "p50": round3(pct(&ack_lat, 0.50)), "p99": round3(pct(&ack_lat, 0.99)), "p999": round3(pct(&ack_lat, 0.999)), "max": round3(pct(&ack_lat, 1.0)) },
        "ack_to_sink_ms": { "p50": round3(pct(&e2e, 0.50)), "p99": round3(pct(&e2e, 0.99)), "max": round3(pct(&e2e, 1.0)), "sink_before_ack": sink_before_ack },
        "send_to_sink_ms": { "p50": round3(pct(&send_to_sink, 0.50)), "p99": round3(pct(&send_to_sink, 0.99)) },
    })
}

async fn setup(common: &Common) -> Result<(Arc<Client>, Arc<Events>)> {
    let schema = EventSchema::load(&ProtoConfig::default())
        .map_err(|e| anyhow!("loading the contract: {e}"))?;
    // Fails before the clock starts if the contract and the events disagree.
    let events = Arc::new(Events::new(schema.input().clone(), common.prefix.clone())?);
    let client = Arc::new(Client::connect(&common.grpc, common.connections, &schema).await?);
    Ok((client, events))
}

async fn run(args: RunArgs) -> Result<serde_json::Value> {
    let (client, events) = setup(&args.common).await?;
    let capacity = if args.rate > 0 {
        args.rate * args.duration
    } else {
        100_000 * args.duration.max(1)
    };
    let tl = Timeline::new(capacity as usize, &args.common.prefix);
    let (_up_tx, up_rx) = watch::channel(true);
    let sink_task = tokio::spawn(sink(args.common.sink, Some(tl.clone()), up_rx));
    let n = if args.rate > 0 {
        fixed_rate(
            client,
            events,
            tl.clone(),
            args.rate,
            args.duration,
            args.concurrency,
        )
        .await
    } else {
        flat_out(client, events, tl.clone(), args.duration, args.concurrency).await
    };
    let acked = tl.acked.load(Ordering::Relaxed);
    let drained = wait_delivered(&tl, acked, Duration::from_secs(args.drain_timeout)).await;
    sink_task.abort();
    let mut out = summarize(&tl, n as usize);
    out["label"] = json!(args.common.label);
    out["mode"] = json!(if args.rate > 0 {
        "fixed_rate"
    } else {
        "flat_out"
    });
    out["target_rate"] = json!(args.rate);
    out["duration_s"] = json!(args.duration);
    out["concurrency"] = json!(args.concurrency);
    out["all_delivered"] = json!(drained);
    Ok(out)
}

/// One Prometheus sample from the gateway's admin server (plain HTTP/1.0).
async fn metric(admin: SocketAddr, name: &str) -> Option<f64> {
    let mut s = TcpStream::connect(admin).await.ok()?;
    s.write_all(format!("GET /metrics HTTP/1.0\r\nhost: {admin}\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

async fn outage(args: OutageArgs) -> Result<serde_json::Value> {
    if args.rate == 0 {
        bail!("--rate must be positive");
    }
    let (client, events) = setup(&args.common).await?;
    let secs = args.before + args.down;
    let tl = Timeline::new((args.rate * secs) as usize, &args.common.prefix);
    let (up_tx, up_rx) = watch::channel(true);
    let sink_task = tokio::spawn(sink(args.common.sink, Some(tl.clone()), up_rx));
    let sender = tokio::spawn(fixed_rate(
        client,
        events,
        tl.clone(),
        args.rate,
        secs,
        4096,
    ));

    tokio::time::sleep(Duration::from_secs(args.before)).await;
    up_tx.send(false)?;
    let went_down = Instant::now();
    let delivered_at_down = tl.delivered.load(Ordering::Relaxed);
    let n = sender.await?;
    let acked = tl.acked.load(Ordering::Relaxed);
    let delivered_at_restore = tl.delivered.load(Ordering::Relaxed);
    let backlog = acked.saturating_sub(delivered_at_restore);
    let queue_depth = match args.admin {
        Some(a) => metric(a, "proto_gateway_queue_depth").await,
        None => None,
    };
    let down_for = went_down.elapsed();
    up_tx.send(true)?;
    let restored = Instant::now();

    // Delivery per second after the sink is back.
    let mut per_second = Vec::new();
    let mut first_after = None;
    let mut last = delivered_at_restore;
    let until = restored + Duration::from_secs(args.drain_timeout);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut second_start = (Instant::now(), last);
    while Instant::now() < until {
        tick.tick().await;
        let d = tl.delivered.load(Ordering::Relaxed);
        if first_after.is_none() && d > delivered_at_restore {
            first_after = Some(restored.elapsed());
        }
        if second_start.0.elapsed() >= Duration::from_secs(1) {
            per_second.push(d - second_start.1);
            second_start = (Instant::now(), d);
        }
        last = d;
        if d >= acked {
            break;
        }
    }
    let drain_time = restored.elapsed();
    let drained = last >= acked;
    let dead = match args.admin {
        Some(a) => metric(a, "proto_gateway_dead_letters_total").await,
        None => None,
    };
    sink_task.abort();
    let delivering_secs = first_after
        .map(|f| drain_time.saturating_sub(f).as_secs_f64())
        .unwrap_or(f64::NAN);
    let mut out = summarize(&tl, n as usize);
    out["label"] = json!(args.common.label);
    out["mode"] = json!("outage");
    out["target_rate"] = json!(args.rate);
    out["outage"] = json!({
        "sink_down_s": round3(down_for.as_secs_f64()),
        "delivered_before_down": delivered_at_down,
        "backlog_at_restore": backlog,
        "gateway_queue_depth_at_restore": queue_depth,
        "first_delivery_after_restore_s": first_after.map(|f| round3(f.as_secs_f64())),
        "drained": drained,
        "drain_s": round3(drain_time.as_secs_f64()),
        "drain_rate_per_s": round3(backlog as f64 / drain_time.as_secs_f64()).round(),
        "drain_rate_while_delivering_per_s": round3(backlog as f64 / delivering_secs).round(),
        "peak_delivered_per_s": per_second.iter().max().copied().unwrap_or(0),
        "undelivered_at_end": acked.saturating_sub(last),
        "dead_letters_total": dead,
    });
    Ok(out)
}

/// One request of [`sequential`].
struct Timed {
    /// When it was sent, after the clock started.
    at: Duration,
    /// Send to the end of the body.
    took: Duration,
    connection: usize,
    /// The first request on its connection: wrk times the request it
    /// sends on a connection it has just opened, under load.
    first: bool,
    ok: bool,
}

/// [`Command::Sequential`]: GETs `url` on `connections` keep-alive
/// connections for `secs`, one request after another on each, every request
/// timed from send to the end of its body.
async fn sequential(
    url: &str,
    secs: u64,
    label: &str,
    connections: usize,
    open_first: bool,
) -> Result<serde_json::Value> {
    let uri: hyper::Uri = url.parse().context("--url")?;
    // With `open_first`, every connection is open and has been answered
    // once by the time the clock starts.
    let start = Instant::now() + Duration::from_millis(if open_first { 1000 } else { 0 });
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::with_capacity(connections);
    for connection in 0..connections.max(1) {
        let uri = uri.clone();
        tasks.push(tokio::spawn(async move {
            one_connection(&uri, start, deadline, connection, open_first).await
        }));
    }
    let mut timed: Vec<Timed> = Vec::new();
    for task in tasks {
        timed.extend(task.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut micros: Vec<u128> = timed.iter().map(|t| t.took.as_micros()).collect();
    micros.sort_unstable();
    let ms = |q: f64| {
        let i = ((micros.len() as f64 * q) as usize).min(micros.len().saturating_sub(1));
        micros.get(i).map_or(0.0, |&us| us as f64 / 1000.0)
    };
    let over_2s = |t: &&Timed| t.took > Duration::from_secs(2);
    timed.sort_unstable_by_key(|t| std::cmp::Reverse(t.took));
    let slowest: Vec<_> = timed
        .iter()
        .take(10)
        .map(|t| {
            serde_json::json!({
                "at_ms": t.at.as_millis(),
                "ms": round3(t.took.as_secs_f64() * 1000.0),
                "connection": t.connection,
                "first_on_connection": t.first,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "label": label,
        "connections": connections,
        "requests": micros.len(),
        "failed": timed.iter().filter(|t| !t.ok).count(),
        "per_s": round3(micros.len() as f64 / elapsed).round(),
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "p999_ms": ms(0.999),
        "max_ms": ms(1.0),
        "over_10ms": micros.iter().filter(|&&us| us > 10_000).count(),
        // What wrk would count as timeouts.
        "over_2s": timed.iter().filter(over_2s).count(),
        "over_2s_first_on_connection": timed.iter().filter(over_2s).filter(|t| t.first).count(),
        "slowest": slowest,
    }))
}

/// One connection of [`sequential`]: requests until `deadline`; the one in
/// flight then is still waited for and timed.
async fn one_connection(
    uri: &hyper::Uri,
    start: Instant,
    deadline: Instant,
    connection: usize,
    open_first: bool,
) -> Result<Vec<Timed>> {
    let authority = uri
        .authority()
        .ok_or_else(|| anyhow!("--url needs a host"))?
        .clone();
    let stream = tokio::net::TcpStream::connect(authority.as_str())
        .await
        .with_context(|| format!("connect {authority}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    // Origin form (`/path?query`), as a browser or Exotel sends it.
    let target = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let request = || {
        http::Request::get(target.as_str())
            .header(http::header::HOST, authority.as_str())
            .body(http_body_util::Empty::<Bytes>::new())
    };
    if open_first {
        let response = sender.send_request(request()?).await?;
        response.into_body().collect().await?;
        tokio::time::sleep_until(start.into()).await;
    }
    let mut timed = Vec::new();
    while Instant::now() < deadline {
        // The previous response's end frees the connection a moment later.
        sender.ready().await?;
        let sent = Instant::now();
        let response = sender.send_request(request()?).await?;
        let ok = response.status().is_success();
        response.into_body().collect().await?;
        timed.push(Timed {
            at: sent.saturating_duration_since(start),
            took: sent.elapsed(),
            connection,
            first: timed.is_empty() && !open_first,
            ok,
        });
    }
    Ok(timed)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let out = match cli.command {
            Command::Run(a) => run(a).await?,
            Command::Outage(a) => outage(a).await?,
            Command::Sequential {
                url,
                secs,
                label,
                connections,
                open_first,
            } => sequential(&url, secs, &label, connections, open_first).await?,
            Command::Sink { listen } => {
                let (_tx, rx) = watch::channel(true);
                sink(listen, None, rx).await?;
                return Ok(());
            }
        };
        println!("{out}");
        Ok(())
    })
}
