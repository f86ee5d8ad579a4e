//! The real binary: kill -9 in the middle of a stream of events loses no
//! acknowledged event; SIGTERM shuts down cleanly; the dead-letters CLI runs.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Client, Reply, Sink, SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_proto-gateway");

fn write_config(dir: &Path, sink_url: &str) -> std::path::PathBuf {
    let path = dir.join("gateway.toml");
    let toml = format!(
        r#"
[grpc]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
[store]
path = "{store}"
[forward]
url = "{sink_url}"
secrets = ["{SECRET}"]
initial_backoff_ms = 20
max_backoff_ms = 200
timeout_ms = 3000
batch = false
[log]
filter = "warn"
"#,
        store = dir.join("outbox.sqlite3").display(),
    );
    std::fs::write(&path, toml).unwrap();
    path
}

struct Running {
    child: Child,
    grpc: SocketAddr,
    admin: SocketAddr,
}

/// Starts the binary and reads the "listening" line for its ports.
fn spawn(config: &Path, log: &Path) -> Running {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let field = |name: &str| -> SocketAddr {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap_or_else(|| {
                panic!(
                    "no {name} in {line:?}; log: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            })
            .parse()
            .unwrap()
    };
    Running {
        grpc: field("grpc="),
        admin: field("admin="),
        child,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_no_acknowledged_event() {
    // The edge is slow, so at the kill there are events acknowledged but
    // not yet delivered, deliveries in flight and RPCs in flight.
    let sink = Sink::start(|_, _| Reply {
        delay: Duration::from_millis(5),
        ..Reply::status(200)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sink.url);
    let log = dir.path().join("gateway.log");
    let mut gw = spawn(&config, &log);

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let client = Client::connect(gw.grpc).await;
    let mut senders = Vec::new();
    for leg in 0..8 {
        let mut c = client.clone();
        let acked = acked.clone();
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                let sid = format!("ev-{leg}-{i:05}");
                match c.send(&sid, Some(&format!("leg-{leg}"))).await {
                    Ok(()) => acked.lock().unwrap().push(sid),
                    Err(_) => return, // the gateway died
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 400 {
        assert!(
            Instant::now() < deadline,
            "too slow: {} acks",
            acked.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    gw.child.kill().unwrap(); // SIGKILL
    gw.child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let before: HashSet<String> = sink.delivered_ids().into_iter().collect();
    assert!(
        before.len() < acked.len(),
        "the kill should leave a backlog ({} of {} delivered)",
        before.len(),
        acked.len()
    );

    let gw = spawn(&config, &log);
    sink.wait_for("every acknowledged event", Duration::from_secs(60), |r| {
        let got: HashSet<&str> = r
            .iter()
            .filter(|x| x.status == 200)
            .map(|x| x.id.as_str())
            .collect();
        acked.iter().all(|a| got.contains(a.as_str()))
    })
    .await;
    for r in sink.received() {
        common::verify(&r).unwrap();
    }
    // Once drained, nothing is left behind.
    let deadline = Instant::now() + Duration::from_secs(10);
    while common::metric(gw.admin, "proto_gateway_queue_depth").await != 0.0 {
        assert!(Instant::now() < deadline, "queue did not drain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    terminate(gw);
}

fn terminate(mut gw: Running) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(gw.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = gw.child.try_wait().unwrap() {
            assert!(status.success(), "exit after SIGTERM: {status:?}");
            return;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_the_cli_sees_the_same_store() {
    let sink = Sink::start(|_, _| Reply::status(422)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sink.url);
    let log = dir.path().join("gateway.log");
    let gw = spawn(&config, &log);
    let mut client = Client::connect(gw.grpc).await;
    client.send("ev-refused", Some("leg-1")).await.unwrap();
    sink.wait_for("the refused delivery", Duration::from_secs(10), |r| {
        r.len() == 1
    })
    .await;

    // The CLI works on the store while the gateway runs.
    let deadline = Instant::now() + Duration::from_secs(10);
    let list = loop {
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .args(["dead-letters", "list"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        if text.contains("ev-refused") {
            break text;
        }
        assert!(Instant::now() < deadline, "dead letter not listed: {text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(list.contains("HTTP 422"), "{list}");
    let id = list.split('\t').next().unwrap().trim().to_owned();
    let show = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["dead-letters", "show", &id])
        .output()
        .unwrap();
    assert!(String::from_utf8(show.stdout)
        .unwrap()
        .contains("\"leg_sid\": \"leg-1\""));
    sink.set(|_, _| Reply::status(200));
    let replay = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["dead-letters", "replay", "--all"])
        .output()
        .unwrap();
    assert!(replay.status.success());
    sink.wait_for("the replayed delivery", Duration::from_secs(10), |r| {
        r.iter().any(|x| x.status == 200)
    })
    .await;
    terminate(gw);
    let missing = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["dead-letters", "show", "999"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no dead letter with id 999"));
}

/// Issue 6 (RELIABILITY.md): three kill -9s under load, a restart after
/// each. Every acknowledged event reaches the edge, and each redelivery
/// carries the same webhook-id and body, so the edge's dedup by webhook-id
/// leaves every event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_kill_9_under_load_then_every_acked_event_once_after_dedup() {
    let sink = Sink::start(|_, _| Reply {
        delay: Duration::from_millis(3),
        ..Reply::status(200)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sink.url);
    let log = dir.path().join("gateway.log");
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut round_acks = Vec::new();
    for round in 0..3 {
        let mut gw = spawn(&config, &log);
        let client = Client::connect(gw.grpc).await;
        let before = acked.lock().unwrap().len();
        let mut senders = Vec::new();
        for leg in 0..6 {
            let mut c = client.clone();
            let acked = acked.clone();
            senders.push(tokio::spawn(async move {
                for i in 0.. {
                    let sid = format!("k{round}-{leg}-{i:05}");
                    match c.send(&sid, Some(&format!("leg-{leg}"))).await {
                        Ok(()) => acked.lock().unwrap().push(sid),
                        Err(_) => return,
                    }
                }
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while acked.lock().unwrap().len() < before + 150 {
            assert!(Instant::now() < deadline, "round {round}: too slow");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        gw.child.kill().unwrap();
        gw.child.wait().unwrap();
        for s in senders {
            s.await.unwrap();
        }
        round_acks.push(acked.lock().unwrap().len() - before);
    }
    let gw = spawn(&config, &log);
    let acked: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    sink.wait_for("every acknowledged event", Duration::from_secs(60), |r| {
        let got: HashSet<&str> = r
            .iter()
            .filter(|x| x.status == 200)
            .map(|x| x.id.as_str())
            .collect();
        acked.iter().all(|a| got.contains(a.as_str()))
    })
    .await;
    let mut first_body: std::collections::HashMap<String, Vec<u8>> =
        std::collections::HashMap::new();
    let mut redeliveries = 0;
    for r in sink.received() {
        common::verify(&r).unwrap();
        match first_body.get(&r.id) {
            Some(b) => {
                redeliveries += 1;
                assert_eq!(
                    b, &r.body,
                    "redelivery of {} differs: the edge could not dedup it",
                    r.id
                );
            }
            None => {
                first_body.insert(r.id.clone(), r.body.clone());
            }
        }
    }
    // After dedup by webhook-id: exactly the acknowledged events, plus any
    // the gateway stored but could not acknowledge before dying (allowed:
    // at-least-once), nothing else.
    let unacked_stored = first_body.keys().filter(|k| !acked.contains(*k)).count();
    assert!(
        unacked_stored <= 3 * 6,
        "{unacked_stored} unacknowledged events delivered (at most the in-flight RPCs)"
    );
    eprintln!(
        "kill -9 x3: acks per round {round_acks:?}, {} acked all delivered, {redeliveries} redeliveries deduped by webhook-id, {unacked_stored} stored-but-unacked delivered",
        acked.len()
    );
    terminate(gw);
}
