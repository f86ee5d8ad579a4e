//! Delivery scheduling: events with the same ordering key (leg or bridge sid)
//! go one at a time in commit order; different keys go in parallel, up to
//! `forward.max_in_flight`.
//!
//! An event holds its key until it is delivered or dead-lettered, retries
//! included: a later event of the same leg never overtakes an earlier one.
//! A dead letter releases the key (the leg's later events still flow).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::ForwardConfig;
use crate::forward::{retry_delay, Attempt, Forwarder};
use crate::metrics::Metrics;
use crate::store::{now_ms, Job, Outbox, Store, Stored};

/// How often the outbox is checked for events the CLI re-queued.
pub const REPLAY_POLL: Duration = Duration::from_secs(1);

/// What every delivery task shares.
pub struct Delivery {
    /// Makes the HTTP attempts.
    pub forwarder: Forwarder,
    /// Records outcomes.
    pub outbox: Outbox,
    /// Reads payloads (WAL: never blocks the writer).
    pub reader: Mutex<Connection>,
    /// Retry policy.
    pub config: ForwardConfig,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

/// Runs until `shutdown` turns true: schedules `initial` (the outbox at
/// startup), then every committed event from `committed`, then CLI replays.
/// On shutdown, attempts in progress get one request timeout to finish;
/// whatever is undelivered stays in the outbox for the next start.
pub async fn run(
    delivery: Arc<Delivery>,
    store: Store,
    initial: Vec<Job>,
    mut committed: mpsc::UnboundedReceiver<Job>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sched = Scheduler::new(delivery.config.max_in_flight);
    let mut replay_high_water = initial.iter().map(|j| j.seq).max().unwrap_or(0);
    for job in initial {
        sched.push(job);
    }
    let mut tasks: JoinSet<Arc<str>> = JoinSet::new();
    let mut poll = tokio::time::interval(REPLAY_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        for job in sched.startable() {
            delivery.metrics.in_flight_add(1);
            tasks.spawn(deliver(delivery.clone(), job, shutdown.clone()));
        }
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(job) = committed.recv() => sched.push(job),
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                delivery.metrics.in_flight_add(-1);
                match done {
                    Ok(key) => sched.finished(&key),
                    Err(e) => {
                        // A panicked delivery: its key stays blocked rather
                        // than risk reordering; the event is redelivered
                        // after a restart.
                        tracing::error!(error = %e, "delivery task failed");
                    }
                }
            }
            _ = poll.tick() => {
                let (store, d) = (store.clone(), delivery.clone());
                let found = tokio::task::spawn_blocking(move || {
                    let conn = d.reader.lock().map_err(|_| crate::error::Error::StoreClosed)?;
                    store.replays_after(&conn, replay_high_water)
                })
                .await;
                match found {
                    Ok(Ok(jobs)) => {
                        for job in jobs {
                            replay_high_water = replay_high_water.max(job.seq);
                            tracing::info!(seq = job.seq, "replayed dead letter queued");
                            delivery.metrics.queue_depth_add(1);
                            sched.push(job);
                        }
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "replay poll failed"),
                    Err(e) => tracing::warn!(error = %e, "replay poll task failed"),
                }
            }
        }
    }
    // Let attempts in progress finish (their outcome is recorded), but do
    // not start new ones; tasks see the shutdown flag between attempts.
    let grace = delivery.config.timeout() + Duration::from_secs(1);
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("deliveries still running at shutdown were abandoned; they stay queued");
        tasks.abort_all();
    }
}

/// Per-key queues and the set of keys with a delivery in progress.
struct Scheduler {
    queues: HashMap<Arc<str>, VecDeque<Job>>,
    busy: HashSet<Arc<str>>,
    /// Keys with work and no delivery in progress, waiting for a slot.
    ready: VecDeque<Arc<str>>,
    max_in_flight: usize,
}

impl Scheduler {
    fn new(max_in_flight: usize) -> Scheduler {
        Scheduler {
            queues: HashMap::new(),
            busy: HashSet::new(),
            ready: VecDeque::new(),
            max_in_flight,
        }
    }

    fn push(&mut self, job: Job) {
        let key = job.ordering_key.clone();
        let queue = self.queues.entry(key.clone()).or_default();
        let was_empty = queue.is_empty();
        queue.push_back(job);
        if was_empty && !self.busy.contains(&key) {
            self.ready.push_back(key);
        }
    }

    fn finished(&mut self, key: &Arc<str>) {
        self.busy.remove(key);
        match self.queues.get(key) {
            Some(q) if !q.is_empty() => self.ready.push_back(key.clone()),
            Some(_) => {
                self.queues.remove(key);
            }
            None => {}
        }
    }

    /// Jobs to start now: the head of each ready key, while slots last.
    fn startable(&mut self) -> Vec<Job> {
        let mut out = Vec::new();
        while self.busy.len() < self.max_in_flight {
            let Some(key) = self.ready.pop_front() else {
                break;
            };
            if let Some(job) = self.queues.get_mut(&key).and_then(VecDeque::pop_front) {
                self.busy.insert(key);
                out.push(job);
            }
        }
        out
    }
}

/// Delivers one event with retries; returns its key when the key is free.
async fn deliver(
    delivery: Arc<Delivery>,
    job: Job,
    mut shutdown: watch::Receiver<bool>,
) -> Arc<str> {
    let key = job.ordering_key.clone();
    let Some(event) = load(&delivery, job.seq).await else {
        return key;
    };
    let cfg = &delivery.config;
    let initial = Duration::from_millis(cfg.initial_backoff_ms);
    let max = Duration::from_millis(cfg.max_backoff_ms);
    // Attempts made before a restart count toward the limit.
    let mut attempt = job.attempts;
    loop {
        attempt += 1;
        let outcome = delivery.forwarder.attempt(&event).await;
        let (error, retry_after) = match outcome {
            Attempt::Delivered => {
                let latency = Duration::from_millis(
                    now_ms().saturating_sub(job.received_at_ms).max(0) as u64,
                );
                delivery.metrics.delivered(latency);
                tracing::info!(event_sid = %event.event_sid, key = %key, attempt, "delivered");
                record(delivery.outbox.delivered(job.seq).await, &event);
                return key;
            }
            Attempt::Reject { error } => {
                bury(&delivery, &event, attempt, error).await;
                return key;
            }
            Attempt::Retry { error, retry_after } => (error, retry_after),
        };
        if attempt >= cfg.max_attempts {
            bury(&delivery, &event, attempt, error).await;
            return key;
        }
        record(delivery.outbox.failed(job.seq, attempt).await, &event);
        delivery.metrics.retried();
        let delay = retry_delay(attempt, initial, max, retry_after);
        tracing::warn!(event_sid = %event.event_sid, key = %key, attempt, error = %error, delay_ms = delay.as_millis() as u64, "delivery failed; will retry");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return key,
        }
        if *shutdown.borrow() {
            return key;
        }
    }
}

async fn bury(delivery: &Delivery, event: &Stored, attempts: u32, error: String) {
    tracing::error!(event_sid = %event.event_sid, attempts, error = %error, "dead letter");
    delivery.metrics.dead_lettered();
    record(
        delivery.outbox.dead(event.seq, attempts, error).await,
        event,
    );
}

fn record(result: crate::error::Result<()>, event: &Stored) {
    if let Err(e) = result {
        // Only at shutdown: the row stays in the outbox and is delivered
        // again after the restart (at-least-once).
        tracing::warn!(event_sid = %event.event_sid, error = %e, "outcome not recorded");
    }
}

async fn load(delivery: &Arc<Delivery>, seq: i64) -> Option<Stored> {
    let d = delivery.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let conn = d
            .reader
            .lock()
            .map_err(|_| crate::error::Error::StoreClosed)?;
        Store::load(&conn, seq)
    })
    .await;
    match loaded {
        Ok(Ok(Some(event))) => Some(event),
        Ok(Ok(None)) => None,
        Ok(Err(e)) => {
            tracing::error!(seq, error = %e, "cannot load event; it stays queued");
            None
        }
        Err(e) => {
            tracing::error!(seq, error = %e, "load task failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(seq: i64, key: &str) -> Job {
        Job {
            seq,
            ordering_key: Arc::from(key),
            received_at_ms: 0,
            attempts: 0,
        }
    }

    #[test]
    fn one_per_key_in_order_and_keys_in_parallel() {
        let mut s = Scheduler::new(8);
        s.push(job(1, "a"));
        s.push(job(2, "a"));
        s.push(job(3, "b"));
        let first: Vec<i64> = s.startable().iter().map(|j| j.seq).collect();
        assert_eq!(first, vec![1, 3]);
        assert!(s.startable().is_empty(), "a is busy until 1 finishes");
        s.finished(&Arc::from("a"));
        assert_eq!(
            s.startable().iter().map(|j| j.seq).collect::<Vec<_>>(),
            vec![2]
        );
    }

    #[test]
    fn slots_limit_parallel_keys() {
        let mut s = Scheduler::new(1);
        s.push(job(1, "a"));
        s.push(job(2, "b"));
        assert_eq!(s.startable().len(), 1);
        assert!(s.startable().is_empty());
        s.finished(&Arc::from("a"));
        assert_eq!(s.startable()[0].seq, 2);
        s.finished(&Arc::from("b"));
        assert!(s.queues.is_empty());
    }
}
