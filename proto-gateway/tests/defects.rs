//! Defects found in the gateway (issue 13, item 7), each pinned by a test
//! that failed before its fix: a SIGTERM during a retry's backoff let a
//! leg's later event overtake the earlier one; an event whose JSON is over
//! the edge's limit was acknowledged and could only dead-letter; an
//! event_sid that cannot be a header value was acknowledged and
//! dead-lettered on its first try; an event that could not be loaded from
//! the store released its key.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{config, metric, start, start_with_client, Client, Reply, Sink};
use prost::Message as _;
use prost_reflect::DynamicMessage;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(20);

/// Per leg, the order in which the sink answered 2xx.
fn delivered_per_leg(sink: &Sink) -> HashMap<String, Vec<String>> {
    let mut per_leg: HashMap<String, Vec<String>> = HashMap::new();
    for r in sink.received() {
        if !(200..300).contains(&r.status) {
            continue;
        }
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let leg = body["data"]["leg_sid"].as_str().unwrap_or("").to_owned();
        per_leg.entry(leg).or_default().push(r.id);
    }
    per_leg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_backoff_never_lets_a_later_event_overtake_an_earlier_one() {
    // Every leg's first event fails once (and then waits out a long
    // backoff); its second event would be accepted at once.
    let sink = Sink::start(|id, attempt| {
        if id.ends_with("-1") && attempt == 1 {
            Reply::status(500)
        } else {
            Reply::status(200)
        }
    })
    .await;
    const LEGS: usize = 20;
    const ROUNDS: usize = 4;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), &sink.url);
        cfg.forward.initial_backoff_ms = 5_000;
        cfg.forward.max_backoff_ms = 5_000;
        let (gw, mut client) = start_with_client(cfg.clone()).await;
        for leg in 0..LEGS {
            let leg_sid = format!("leg-{round}-{leg}");
            client
                .send(&format!("ev-{round}-{leg}-1"), Some(&leg_sid))
                .await
                .unwrap();
            client
                .send(&format!("ev-{round}-{leg}-2"), Some(&leg_sid))
                .await
                .unwrap();
        }
        let prefix = format!("ev-{round}-");
        sink.wait_for("every first event failed once", WAIT, |r| {
            r.iter()
                .filter(|x| x.id.starts_with(&prefix) && x.status == 500)
                .count()
                == LEGS
        })
        .await;
        gw.stop().await.unwrap();
        // Restart: the first events are delivered now, then the second ones.
        let gw = start(cfg).await;
        sink.wait_for("all delivered after the restart", WAIT, |r| {
            r.iter()
                .filter(|x| x.id.starts_with(&prefix) && x.status == 200)
                .count()
                >= 2 * LEGS
        })
        .await;
        gw.stop().await.unwrap();
    }
    for (leg, ids) in delivered_per_leg(&sink) {
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted, "events of {leg} delivered out of order");
    }
}

/// An event whose `action_custom_parameter` is `n` copies of `c`.
fn event_with_parameter(client: &Client, sid: &str, c: char, n: usize) -> Vec<u8> {
    let json = serde_json::json!({
        "event_sid": sid,
        "event_type": "leg_action_event",
        "event_name": "leg_answered",
        "action_custom_parameter": std::iter::repeat_n(c, n).collect::<String>(),
        "data": { "leg_sid": "leg-size" },
    });
    DynamicMessage::deserialize(client.schema.input().clone(), json)
        .unwrap()
        .encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_json_is_over_the_edge_limit_is_refused_at_intake() {
    let sink = Sink::start(|_, _| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, mut client) = start_with_client(config(dir.path(), &sink.url)).await;
    // 12,000 control characters: 12 KB of protobuf, 72 KB of JSON
    // (each one is written \u0001).
    let escaped = event_with_parameter(&client, "ev-escaped", '\u{1}', 12_000);
    assert!(escaped.len() < 64 * 1024);
    let err = client.send_raw(escaped).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("JSON") && err.message().contains("65536"),
        "says why: {}",
        err.message()
    );
    // Just under the limit as JSON is accepted and delivered.
    let fits = event_with_parameter(&client, "ev-fits", 'a', 60_000);
    client.send_raw(fits).await.unwrap();
    sink.wait_for("the event that fits", WAIT, |r| r.len() == 1)
        .await;
    assert_eq!(sink.delivered_ids(), vec!["ev-fits"]);
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_dead_letters_total").await,
        0.0
    );
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_sid_that_cannot_be_a_header_value_is_refused() {
    let sink = Sink::start(|_, _| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, mut client) = start_with_client(config(dir.path(), &sink.url)).await;
    for sid in [
        "ev\n1",
        "évènement",
        "ev\u{7f}",
        "ev.with.dots",
        &"x".repeat(257),
    ] {
        let err = client.send(sid, Some("leg-h")).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{sid:?}: {err:?}");
        assert!(err.message().contains("event_sid"), "{}", err.message());
    }
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_queue_depth").await,
        0.0
    );
    client.send("ev-good", Some("leg-h")).await.unwrap();
    sink.wait_for("the good event", WAIT, |r| r.len() == 1)
        .await;
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_dead_letters_total").await,
        0.0
    );
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_cannot_be_loaded_keeps_its_key() {
    let sink = Sink::start(|_, _| Reply::status(503)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &sink.url);
    cfg.forward.initial_backoff_ms = 10_000;
    cfg.forward.max_backoff_ms = 10_000;
    let store_path = cfg.store.path.clone();
    let (gw, mut client) = start_with_client(cfg.clone()).await;
    client.send("ev-first", Some("leg-l")).await.unwrap();
    client.send("ev-second", Some("leg-l")).await.unwrap();
    client.send("ev-other", Some("leg-o")).await.unwrap();
    gw.stop().await.unwrap();

    // The first event's row becomes unreadable (as a damaged page would).
    {
        let conn = rusqlite::Connection::open(&store_path).unwrap();
        let n = conn
            .execute(
                "UPDATE outbox SET payload = X'FF00' WHERE event_sid = 'ev-first'",
                [],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    sink.set(|_, _| Reply::status(200));
    let gw = start(cfg).await;
    sink.wait_for("the other leg's event", WAIT, |r| {
        r.iter().any(|x| x.id == "ev-other" && x.status == 200)
    })
    .await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        assert!(
            !sink.delivered_ids().iter().any(|i| i == "ev-second"),
            "ev-second overtook the unreadable ev-first"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_queue_depth").await,
        2.0,
        "both of leg-l's events are still queued"
    );
    gw.stop().await.unwrap();
}
