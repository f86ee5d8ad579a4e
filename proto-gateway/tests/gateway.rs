//! The gateway in process, with a real gRPC client and a local HTTP sink:
//! ordering, signatures, retries, dead letters and replay, input errors,
//! restart recovery.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{config, metric, start, start_with_client, verify, Reply, Sink};
use proto_gateway::cli::{self, DeadLetters};
use proto_gateway::store::Store;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_order_is_kept_and_every_delivery_is_signed() {
    // Random latency per request makes concurrent keys overlap, and would
    // reorder a leg's events if two of them were ever in flight at once.
    let sink = Sink::start(|_, _| Reply {
        delay: Duration::from_millis(fastrand::u64(0..6)),
        ..Reply::status(200)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, client) = start_with_client(config(dir.path(), &sink.url)).await;

    const LEGS: usize = 4;
    const PER_LEG: usize = 25;
    let mut tasks = Vec::new();
    for leg in 0..LEGS {
        let mut c = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_LEG {
                // Sequential per leg: each ack comes before the next send,
                // so commit order is the order Exotel produced them.
                c.send(&format!("ev-{leg}-{i:03}"), Some(&format!("leg-{leg}")))
                    .await
                    .unwrap();
            }
        }));
    }
    // Events without a leg are unordered and must not block anyone.
    let mut c = client.clone();
    c.send("ev-free", None).await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    sink.wait_for("all deliveries", WAIT, |r| r.len() == LEGS * PER_LEG + 1)
        .await;

    let received = sink.received();
    let mut per_leg: HashMap<String, Vec<String>> = HashMap::new();
    for r in &received {
        verify(r).unwrap_or_else(|e| panic!("signature of {}: {e}", r.id));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body["event_sid"],
            r.id.as_str(),
            "webhook-id is the event_sid"
        );
        assert_eq!(body["event_name"], "leg_answered");
        if let Some(leg) = body["data"]["leg_sid"].as_str() {
            per_leg
                .entry(leg.to_owned())
                .or_default()
                .push(r.id.clone());
        }
    }
    for (leg, ids) in &per_leg {
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, &sorted, "events of {leg} out of order");
        assert_eq!(ids.len(), PER_LEG);
    }
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_events_accepted_total").await,
        (LEGS * PER_LEG + 1) as f64
    );
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_events_delivered_total").await,
        (LEGS * PER_LEG + 1) as f64
    );
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_queue_depth").await,
        0.0
    );
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_500_and_429_with_retry_after_then_succeeds() {
    let sink = Sink::start(|_, attempt| match attempt {
        1 => Reply::status(500),
        2 => Reply {
            retry_after: Some(1),
            ..Reply::status(429)
        },
        _ => Reply::status(200),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, mut client) = start_with_client(config(dir.path(), &sink.url)).await;
    client.send("ev-retry", Some("leg-r")).await.unwrap();
    sink.wait_for("third attempt", WAIT, |r| r.len() == 3).await;
    let r = sink.received();
    assert_eq!(
        r.iter().map(|x| x.status).collect::<Vec<_>>(),
        vec![500, 429, 200]
    );
    let waited = r[2].at - r[1].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 honoured, waited {waited:?}"
    );
    for x in &r {
        verify(x).unwrap();
    }
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_delivery_retries_total").await,
        2.0
    );
    assert_eq!(
        metric(
            gw.admin_addr(),
            "proto_gateway_delivery_latency_seconds_count"
        )
        .await,
        1.0
    );
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_after_the_limit_or_a_4xx_and_replay_delivers_them() {
    let sink = Sink::start(|id, _| match id {
        "ev-bad" => Reply::status(400),
        _ => Reply::status(503),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &sink.url);
    cfg.forward.max_attempts = 3;
    let store_path = cfg.store.path.clone();
    let (gw, mut client) = start_with_client(cfg).await;
    client.send("ev-down", Some("leg-d")).await.unwrap();
    client.send("ev-next", Some("leg-d")).await.unwrap();
    client.send("ev-bad", Some("leg-b")).await.unwrap();

    let store = Store::new(&store_path);
    let deadline = Instant::now() + WAIT;
    while store.list_dead(10).unwrap().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "dead letters: {:?}",
            store.list_dead(10)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = store.list_dead(10).unwrap();
    let by_sid: HashMap<&str, _> = dead.iter().map(|d| (d.event_sid.as_str(), d)).collect();
    assert_eq!(by_sid["ev-down"].attempts, 3);
    assert!(by_sid["ev-down"].last_error.starts_with("HTTP 503"));
    assert_eq!(by_sid["ev-bad"].attempts, 1, "a 4xx is not retried");
    // A dead letter releases its key: ev-next was tried after ev-down.
    let order: Vec<String> = sink
        .received()
        .into_iter()
        .map(|r| r.id)
        .filter(|i| i != "ev-bad")
        .collect();
    assert_eq!(
        order,
        vec!["ev-down", "ev-down", "ev-down", "ev-next", "ev-next", "ev-next"]
    );
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_dead_letters_total").await,
        3.0
    );

    // `show` includes the payload as JSON.
    let mut out = Vec::new();
    cli::dead_letters(
        &store,
        &DeadLetters::Show {
            id: by_sid["ev-bad"].id,
        },
        &mut out,
    )
    .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(shown["payload"]["event_sid"], "ev-bad");

    // The edge recovers; replay one, then the rest, through the CLI code
    // while the gateway runs.
    sink.set(|_, _| Reply::status(200));
    let mut out = Vec::new();
    cli::dead_letters(
        &store,
        &DeadLetters::Replay {
            id: Some(by_sid["ev-bad"].id),
            all: false,
        },
        &mut out,
    )
    .unwrap();
    assert!(String::from_utf8(out).unwrap().starts_with("replayed 1 "));
    sink.wait_for("replayed ev-bad", WAIT, |r| {
        r.iter().any(|x| x.id == "ev-bad" && x.status == 200)
    })
    .await;
    cli::dead_letters(
        &store,
        &DeadLetters::Replay {
            id: None,
            all: true,
        },
        &mut Vec::new(),
    )
    .unwrap();
    sink.wait_for("replayed rest", WAIT, |r| {
        r.iter().filter(|x| x.status == 200).count() == 3
    })
    .await;
    let ok: Vec<String> = sink.delivered_ids();
    assert_eq!(
        ok[1..],
        ["ev-down".to_string(), "ev-next".to_string()],
        "replay keeps commit order"
    );
    assert!(store.list_dead(10).unwrap().is_empty());
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_oversized_and_incomplete_events_are_refused() {
    let sink = Sink::start(|_, _| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &sink.url);
    cfg.grpc.max_message_bytes = 4096;
    let (gw, mut client) = start_with_client(cfg).await;

    let err = client.send_raw(vec![0xff; 64]).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let err = client.send("", Some("leg")).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("event_sid"));
    let mut huge = common::event(&client.schema, "ev-huge", Some("leg"), "leg_answered");
    // An unknown length-delimited field (number 99) pads the message: still
    // valid protobuf, just too big.
    huge.extend_from_slice(&[0x9a, 0x06]);
    huge.extend_from_slice(&[0x80, 0x80, 0x01]); // length 16384
    huge.extend(std::iter::repeat_n(b'x', 16384));
    let err = client.send_raw(huge).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");

    // The gateway is unharmed and still accepts good events.
    client.send("ev-ok", Some("leg")).await.unwrap();
    sink.wait_for("good event", WAIT, |r| r.len() == 1).await;
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_events_rejected_total").await,
        2.0
    );
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_events_survive_a_restart_and_duplicates_are_stored_once() {
    let sink = Sink::start(|_, _| Reply::status(503)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &sink.url);
    cfg.forward.initial_backoff_ms = 10_000;
    cfg.forward.max_backoff_ms = 10_000;
    let (gw, mut client) = start_with_client(cfg.clone()).await;
    for i in 0..10 {
        client
            .send(&format!("ev-{i}"), Some("leg-x"))
            .await
            .unwrap();
    }
    // Exotel retrying an event it already sent: acknowledged, stored once.
    client.send("ev-3", Some("leg-x")).await.unwrap();
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_queue_depth").await,
        10.0
    );
    let started = Instant::now();
    gw.stop().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown does not wait out backoff"
    );

    sink.set(|_, _| Reply::status(200));
    let gw = start(cfg).await;
    sink.wait_for("redelivery", WAIT, |r| {
        r.iter().filter(|x| x.status == 200).count() == 10
    })
    .await;
    let ids = sink.delivered_ids();
    let expected: Vec<String> = (0..10).map(|i| format!("ev-{i}")).collect();
    assert_eq!(ids, expected);
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_ok_and_unknown_methods_are_unimplemented() {
    let sink = Sink::start(|_, _| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = start(config(dir.path(), &sink.url)).await;
    proto_gateway::install_crypto_provider();
    let health = reqwest::get(format!("http://{}/healthz", gw.admin_addr()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&health.text().await.unwrap()).unwrap();
    // A loopback edge: local-outbox mode, and /healthz says so.
    assert_eq!(body["mode"], "local-outbox", "{body}");
    assert!(body.get("edge").is_none(), "{body}");
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_edge_store_mode").await,
        0.0
    );
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", gw.grpc_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let err = grpc
        .unary(
            tonic::Request::new(vec![]),
            "/exotel.callback.v1.CallbackEventService/Other"
                .parse()
                .unwrap(),
            proto_gateway::service::RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    gw.stop().await.unwrap();
}

/// Load figures for docs/gateway.md (not a pass/fail test):
/// `cargo test --profile gateway -p proto-gateway --test gateway throughput -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput() {
    let sink = Sink::start(|_, _| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, client) = start_with_client(config(dir.path(), &sink.url)).await;
    const TASKS: usize = 64;
    const PER_TASK: usize = 150;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let mut c = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                c.send(&format!("ev-{t}-{i}"), Some(&format!("leg-{}", t % 16)))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let accepted_in = started.elapsed();
    let total = TASKS * PER_TASK;
    sink.wait_for("all", Duration::from_secs(120), |r| r.len() == total)
        .await;
    let delivered_in = started.elapsed();
    let commits = metric(gw.admin_addr(), "proto_gateway_outbox_commits_total").await;
    println!(
        "{total} events from {TASKS} concurrent callers: acknowledged in {accepted_in:?} ({:.0}/s), \
         all delivered after {delivered_in:?}; {commits} outbox commits (fsyncs) in total, \
         including the delivered-row deletes",
        total as f64 / accepted_in.as_secs_f64()
    );
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attempt_limit_holds_across_restarts() {
    let sink = Sink::start(|_, _| Reply::status(503)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &sink.url);
    cfg.forward.max_attempts = 3;
    // Long enough that the first gateway stops during its first backoff.
    cfg.forward.initial_backoff_ms = 2_000;
    cfg.forward.max_backoff_ms = 2_000;
    let store_path = cfg.store.path.clone();
    let (gw, mut client) = start_with_client(cfg.clone()).await;
    client.send("ev-persist", Some("leg-p")).await.unwrap();
    sink.wait_for("first attempt", WAIT, |r| r.len() == 1).await;
    gw.stop().await.unwrap();
    assert_eq!(sink.received().len(), 1);

    // After the restart only two attempts remain, not three.
    let gw = start(cfg).await;
    let store = Store::new(&store_path);
    let deadline = Instant::now() + WAIT;
    while store.list_dead(10).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.list_dead(10).unwrap()[0].attempts, 3);
    assert_eq!(sink.received().len(), 3, "1 before the restart + 2 after");
    gw.stop().await.unwrap();
}
