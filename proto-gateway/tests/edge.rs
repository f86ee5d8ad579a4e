//! Against a fake of the edge's batch contract (EVENTS-CONTRACT.md): batch
//! delivery from the outbox (per-key order, per-event results, rejected
//! events dead-lettered, unavailable ones retried), and edge-store mode
//! (acknowledged once the edge stored the event; the local outbox when the
//! edge stalls or is unavailable; drained in order when it returns).
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{config, metric, start, start_with_client, Client, EdgeMode, FakeEdge};
use proto_gateway::config::ReplicaMode;
use proto_gateway::store::Store;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(30);

async fn health(admin: std::net::SocketAddr) -> serde_json::Value {
    proto_gateway::install_crypto_provider();
    reqwest::get(format!("http://{admin}/healthz"))
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap()
}

/// Sends `per_leg` events on each of `legs` legs (one leg after another
/// within a task, legs concurrently), `ev-<leg>-<nnn>` from `from`; after
/// each ack, runs `check(sid)`.
async fn send_legs(
    client: &Client,
    legs: usize,
    from: usize,
    per_leg: usize,
    check: impl Fn(&str) + Clone + Send + 'static,
) {
    let mut tasks = Vec::new();
    for leg in 0..legs {
        let mut c = client.clone();
        let check = check.clone();
        tasks.push(tokio::spawn(async move {
            for i in from..from + per_leg {
                let sid = format!("ev-{leg:02}-{i:03}");
                c.send(&sid, Some(&format!("leg-{leg:02}"))).await.unwrap();
                check(&sid);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_keep_per_key_order_dead_letter_rejected_events_and_retry_unavailable_ones() {
    let edge = FakeEdge::start(EdgeMode::Up(5)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &edge.url);
    cfg.forward.batch = true;
    cfg.forward.max_attempts = 10_000;
    cfg.replica.mode = ReplicaMode::LocalOutbox;
    let store_path = cfg.store.path.clone();
    let (gw, client) = start_with_client(cfg).await;

    send_legs(&client, 20, 0, 20, |_| {}).await;
    let mut c = client.clone();
    let bad = common::event(&c.schema, "ev-bad", Some("leg-bad"), "bad");
    c.send_raw(bad).await.unwrap();
    edge.wait_for("400 events", WAIT, |l| l.len() == 400).await;
    edge.assert_once_and_in_order();
    let posts = edge.posts();
    assert!(
        posts.len() < 400 && posts.iter().any(|&n| n > 1),
        "events share POSTs: {posts:?}"
    );
    let store = Store::new(&store_path);
    let deadline = Instant::now() + WAIT;
    while store.list_dead(10).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "ev-bad never dead-lettered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = store.list_dead(10).unwrap();
    assert_eq!(dead[0].event_sid, "ev-bad");
    assert!(
        dead[0].last_error.contains("rejected"),
        "{}",
        dead[0].last_error
    );

    // The edge's objects do not confirm for a while: retried, then drained
    // in order.
    edge.set(EdgeMode::Unavailable);
    send_legs(&client, 20, 20, 5, |_| {}).await;
    let retries_before = metric(gw.admin_addr(), "proto_gateway_delivery_retries_total").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(metric(gw.admin_addr(), "proto_gateway_delivery_retries_total").await > retries_before);
    edge.set(EdgeMode::Up(5));
    edge.wait_for("the backlog", WAIT, |l| l.len() == 500).await;
    edge.assert_once_and_in_order();
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_dead_letters_total").await,
        1.0
    );
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_store_acks_once_stored_at_the_edge_and_falls_back_to_the_outbox_when_it_does_not_confirm(
) {
    let edge = FakeEdge::start(EdgeMode::Up(2)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &edge.url);
    cfg.forward.batch = true;
    cfg.forward.max_attempts = 10_000;
    cfg.replica.mode = ReplicaMode::EdgeStore;
    cfg.replica.ack_budget_ms = 150;
    let gw = start(cfg).await;
    let admin = gw.admin_addr();
    let client = Client::connect(gw.grpc_addr()).await;

    // 1. The edge confirms: every ack means "in the edge's log".
    let e = edge.clone();
    send_legs(&client, 10, 0, 10, move |sid| {
        assert!(e.has(sid), "{sid} acknowledged before the edge stored it")
    })
    .await;
    assert_eq!(
        metric(admin, "proto_gateway_events_acked_at_edge_total").await,
        100.0
    );
    assert_eq!(
        metric(admin, "proto_gateway_outbox_commits_total").await,
        0.0,
        "no fsync on this path"
    );
    let h = health(admin).await;
    assert_eq!(
        (h["mode"].as_str(), h["edge"].as_str()),
        (Some("edge-store"), Some("confirming")),
        "{h}"
    );

    // The edge refuses an invalid event: the caller hears it.
    let mut c = client.clone();
    let bad = common::event(&c.schema, "ev-bad", Some("leg-bad"), "bad");
    let err = c.send_raw(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("rejected"), "{}", err.message());

    // 2. The edge stalls: acks come from the outbox within about the budget.
    edge.set(EdgeMode::Stalled(Duration::from_secs(5)));
    let started = Instant::now();
    send_legs(&client, 10, 10, 1, |_| {}).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "acked in {:?}",
        started.elapsed()
    );
    // Down: later events go straight to the outbox (no wait on the edge).
    edge.set(EdgeMode::Unavailable);
    let started = Instant::now();
    send_legs(&client, 10, 11, 4, |_| {}).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "acked in {:?}",
        started.elapsed()
    );
    let h = health(admin).await;
    assert_eq!(h["edge"], "fallback", "{h}");
    assert_eq!(h["local_keys"], 10, "{h}");
    assert_eq!(metric(admin, "proto_gateway_edge_fallback").await, 1.0);
    assert_eq!(
        metric(admin, "proto_gateway_events_acked_at_edge_total").await,
        100.0
    );

    // 3. The edge returns: the outbox drains in order, then acks are at
    // the edge again.
    edge.set(EdgeMode::Up(2));
    edge.wait_for("the local backlog", WAIT, |l| l.len() == 150)
        .await;
    let deadline = Instant::now() + WAIT;
    loop {
        let h = health(admin).await;
        if h["edge"] == "confirming" && h["local_keys"] == 0 && h["queue_depth"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "never back to confirming: {h}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e = edge.clone();
    send_legs(&client, 10, 15, 5, move |sid| {
        assert!(e.has(sid), "{sid} acknowledged before the edge stored it")
    })
    .await;
    assert_eq!(edge.log().len(), 200);
    edge.assert_once_and_in_order();
    assert_eq!(
        metric(admin, "proto_gateway_events_acked_at_edge_total").await,
        150.0
    );
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_never_in_two_posts_at_once_even_with_concurrent_rpcs_of_one_leg() {
    // Slow, jittery answers and many RPCs of the same few legs at once:
    // the edge-store batcher and the outbox dispatcher must each keep a
    // leg in one POST at a time (the fake edge records any overlap).
    let edge = FakeEdge::start(EdgeMode::Up(15)).await;
    for mode in [ReplicaMode::EdgeStore, ReplicaMode::LocalOutbox] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), &edge.url);
        cfg.forward.batch = true;
        cfg.replica.mode = mode;
        cfg.replica.ack_budget_ms = 2_000;
        let (gw, client) = start_with_client(cfg).await;
        let before = edge.log().len();
        let mut tasks = Vec::new();
        for t in 0..40 {
            let mut c = client.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..10 {
                    let sid = format!("ev-{mode:?}-{t:02}-{i:02}");
                    c.send(&sid, Some(&format!("leg-{mode:?}-{}", t % 3)))
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        edge.wait_for("every event", WAIT, |l| l.len() == before + 400)
            .await;
        assert!(
            edge.posts().iter().any(|&n| n > 1),
            "{mode:?}: concurrent RPCs share POSTs"
        );
        assert_eq!(
            edge.overlaps(),
            Vec::<String>::new(),
            "{mode:?}: a leg in two POSTs at once"
        );
        gw.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_new_events_of_a_leg_queue_behind_its_stored_ones() {
    // Acknowledged from the outbox while the edge is unavailable; the
    // replica restarts once it is back and new events of the same legs
    // arrive at once: they must reach the edge after the stored ones.
    let edge = FakeEdge::start(EdgeMode::Unavailable).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &edge.url);
    cfg.forward.batch = true;
    cfg.forward.max_attempts = 10_000;
    cfg.forward.initial_backoff_ms = 300;
    cfg.forward.max_backoff_ms = 300;
    cfg.replica.mode = ReplicaMode::EdgeStore;
    let (gw, client) = start_with_client(cfg.clone()).await;
    send_legs(&client, 5, 0, 5, |_| {}).await;
    assert_eq!(
        metric(gw.admin_addr(), "proto_gateway_queue_depth").await,
        25.0
    );
    gw.stop().await.unwrap();

    // Back, but slow to answer: the first delivery is still in flight when
    // the new events arrive.
    edge.set(EdgeMode::Stalled(Duration::from_millis(500)));
    let gw = start(cfg).await;
    let h = health(gw.admin_addr()).await;
    assert_eq!(h["local_keys"], 5, "{h}");
    let client = Client::connect(gw.grpc_addr()).await;
    send_legs(&client, 5, 5, 5, |_| {}).await;
    edge.set(EdgeMode::Up(5));
    edge.wait_for("all 50", WAIT, |l| l.len() == 50).await;
    edge.assert_once_and_in_order();
    gw.stop().await.unwrap();
}
