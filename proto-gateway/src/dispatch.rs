//! Delivery scheduling: events with the same ordering key (leg or bridge sid)
//! go in commit order, never two deliveries of one key at once; different
//! keys go in parallel.
//!
//! With `forward.batch` one POST carries many events (a JSON array, answered
//! per event): each batch takes the queued events of keys that have no
//! delivery in progress, a key's events consecutive and in order (the edge
//! hands a key's events to its log in array order). Without it, each POST
//! carries one event and up to `forward.max_in_flight` keys are in flight.
//! Either way the edge's reorder window is not relied upon.
//!
//! An event holds its key until it is delivered or dead-lettered, retries
//! and their backoff included: a later event of the same leg never
//! overtakes an earlier one. A dead letter releases the key (the leg's later
//! events still flow). An event that cannot be loaded from the store keeps
//! its key (it is tried again later). Once shutdown has begun nothing new
//! starts; an event abandoned in its backoff keeps its key until the
//! process exits and is first in line after the restart.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::ForwardConfig;
use crate::forward::{retry_delay, Attempt, Forwarder};
use crate::metrics::Metrics;
use crate::replica::ReplicaState;
use crate::store::{now_ms, Job, Outbox, Store, Stored};

/// How often the outbox is checked for events the CLI re-queued.
pub const REPLAY_POLL: Duration = Duration::from_secs(1);

/// What every delivery task shares.
pub struct Delivery {
    /// Makes the HTTP attempts.
    pub forwarder: Arc<Forwarder>,
    /// Records outcomes.
    pub outbox: Outbox,
    /// Reads payloads (WAL: never blocks the writer).
    pub reader: Mutex<Connection>,
    /// Retry policy.
    pub config: ForwardConfig,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Edge-store mode: which keys have local events, edge health.
    pub replica: Option<Arc<ReplicaState>>,
}

/// What a finished batch tells the scheduler.
struct Finished {
    /// Keys whose events in the batch are all resolved: free again.
    done: Vec<Arc<str>>,
    /// Events to try again (in order per key); their keys stay busy until
    /// `delay` has passed.
    retry: Vec<Job>,
    delay: Duration,
    /// Keys counted in the in-flight gauge.
    keys: usize,
}

/// Runs until `shutdown` turns true: schedules `initial` (the outbox at
/// startup), then every committed event from `committed`, then CLI replays.
/// On shutdown, attempts in progress get one request timeout to finish
/// (their outcome is recorded); nothing new starts; whatever is undelivered
/// stays in the outbox for the next start.
pub async fn run(
    delivery: Arc<Delivery>,
    store: Store,
    initial: Vec<Job>,
    mut committed: mpsc::UnboundedReceiver<Job>,
    mut shutdown: watch::Receiver<bool>,
) {
    let cfg = delivery.config.clone();
    let (per_post, slots) = if cfg.batch {
        (cfg.batch_max_events, cfg.batches_in_flight)
    } else {
        (1, cfg.max_in_flight)
    };
    let mut sched = Scheduler::default();
    let mut replay_high_water = initial.iter().map(|j| j.seq).max().unwrap_or(0);
    // (Edge-store mode: the caller counted these as local events before
    // the gRPC server started, so no RPC can overtake them.)
    for job in initial {
        sched.push(job);
    }
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut backoffs: JoinSet<Vec<Arc<str>>> = JoinSet::new();
    let mut poll = tokio::time::interval(REPLAY_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if *shutdown.borrow() {
            break;
        }
        while tasks.len() < slots {
            let jobs = sched.take(per_post, cfg.batch_max_bytes);
            if jobs.is_empty() {
                break;
            }
            let keys = distinct_keys(&jobs).len();
            delivery.metrics.in_flight_add(keys as i64);
            tasks.spawn(deliver(delivery.clone(), jobs, keys));
        }
        // Biased: shutdown is seen before a finished delivery could free a
        // key and let its next event start.
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            Some(done) = tasks.join_next(), if !tasks.is_empty() => match done {
                Ok(f) => {
                    delivery.metrics.in_flight_add(-(f.keys as i64));
                    for key in &f.done {
                        sched.finished(key);
                    }
                    if !f.retry.is_empty() {
                        let keys = distinct_keys(&f.retry);
                        sched.requeue_front(f.retry);
                        let delay = f.delay;
                        backoffs.spawn(async move {
                            tokio::time::sleep(delay).await;
                            keys
                        });
                    }
                }
                // A panicked delivery: its keys stay blocked rather than
                // risk reordering; the events are redelivered after a
                // restart.
                Err(e) => tracing::error!(error = %e, "delivery task failed"),
            },
            Some(Ok(keys)) = backoffs.join_next(), if !backoffs.is_empty() => {
                for key in &keys {
                    sched.finished(key);
                }
            }
            Some(job) = committed.recv() => sched.push(job),
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
                            if let Some(r) = &delivery.replica {
                                r.mark_local(&job.ordering_key);
                            }
                            sched.push(job);
                        }
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "replay poll failed"),
                    Err(e) => tracing::warn!(error = %e, "replay poll task failed"),
                }
            }
        }
    }
    // Attempts in progress finish and record their outcome; nothing new
    // starts, and events waiting out a backoff keep their keys.
    backoffs.abort_all();
    let grace = cfg.timeout() + Duration::from_secs(1);
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("deliveries still running at shutdown were abandoned; they stay queued");
        tasks.abort_all();
    }
}

fn distinct_keys(jobs: &[Job]) -> Vec<Arc<str>> {
    let mut seen = HashSet::new();
    jobs.iter()
        .filter(|j| seen.insert(j.ordering_key.clone()))
        .map(|j| j.ordering_key.clone())
        .collect()
}

/// Per-key queues and the set of keys with a delivery in progress (or
/// waiting out a backoff).
#[derive(Default)]
struct Scheduler {
    queues: HashMap<Arc<str>, VecDeque<Job>>,
    busy: HashSet<Arc<str>>,
    /// Keys with work and no delivery in progress.
    ready: VecDeque<Arc<str>>,
}

impl Scheduler {
    fn push(&mut self, job: Job) {
        let key = job.ordering_key.clone();
        let queue = self.queues.entry(key.clone()).or_default();
        let was_empty = queue.is_empty();
        queue.push_back(job);
        if was_empty && !self.busy.contains(&key) {
            self.ready.push_back(key);
        }
    }

    /// Puts events back at the head of their (busy) keys' queues, in order.
    fn requeue_front(&mut self, jobs: Vec<Job>) {
        for job in jobs.into_iter().rev() {
            self.queues
                .entry(job.ordering_key.clone())
                .or_default()
                .push_front(job);
        }
    }

    fn finished(&mut self, key: &Arc<str>) {
        if !self.busy.remove(key) {
            return;
        }
        match self.queues.get(key) {
            Some(q) if !q.is_empty() => self.ready.push_back(key.clone()),
            Some(_) => {
                self.queues.remove(key);
            }
            None => {}
        }
    }

    /// The next POST's events: ready keys' queued events, each key's in
    /// order and consecutive, up to `max_events` and about `max_bytes` of
    /// JSON (one event always fits). The keys become busy.
    fn take(&mut self, max_events: usize, max_bytes: usize) -> Vec<Job> {
        let mut out = Vec::new();
        let mut bytes = 2;
        while out.len() < max_events {
            let Some(key) = self.ready.pop_front() else {
                break;
            };
            let Some(queue) = self.queues.get_mut(&key) else {
                continue;
            };
            let before = out.len();
            while out.len() < max_events {
                let Some(job) = queue.front() else { break };
                if !out.is_empty() && bytes + job.len + 1 > max_bytes {
                    break;
                }
                bytes += job.len + 1;
                out.extend(queue.pop_front());
            }
            if out.len() == before {
                // Did not fit: first in line for the next POST.
                self.ready.push_front(key);
                break;
            }
            self.busy.insert(key);
        }
        out
    }
}

/// Delivers one POST's events (one attempt) and records each outcome.
async fn deliver(delivery: Arc<Delivery>, jobs: Vec<Job>, keys: usize) -> Finished {
    let cfg = &delivery.config;
    let policy = delivery.forwarder.policy();
    let mut finished = Finished {
        done: Vec::new(),
        retry: Vec::new(),
        delay: Duration::ZERO,
        keys,
    };
    let all_keys = distinct_keys(&jobs);
    let (loaded, unreadable) = load(&delivery, jobs).await;
    let mut held: HashSet<Arc<str>> = HashSet::new();
    if !unreadable.is_empty() {
        // Never skip an event: its key waits (later events of the leg
        // would overtake it) and the load is tried again.
        held.extend(unreadable.iter().map(|j| j.ordering_key.clone()));
        finished.delay = retry_delay(policy, 2, None);
        finished.retry.extend(unreadable);
    }
    let verdicts = if loaded.is_empty() {
        Vec::new()
    } else if cfg.batch {
        let events: Vec<(&str, &str)> = loaded
            .iter()
            .map(|(_, s)| (s.event_sid.as_str(), s.payload.as_str()))
            .collect();
        delivery.forwarder.attempt_batch(&events, None).await
    } else {
        let mut v = Vec::with_capacity(loaded.len());
        for (_, stored) in &loaded {
            v.push(delivery.forwarder.attempt(stored).await);
        }
        v
    };
    let mut retry_after_max: Option<Duration> = None;
    let mut attempt_max = 0;
    for ((job, event), verdict) in loaded.into_iter().zip(verdicts) {
        let attempt = job.attempts + 1;
        let resolved = match verdict {
            Attempt::Delivered => {
                let latency = Duration::from_millis(
                    now_ms().saturating_sub(job.received_at_ms).max(0) as u64,
                );
                delivery.metrics.delivered(latency);
                tracing::debug!(event_sid = %event.event_sid, key = %job.ordering_key, attempt, "delivered");
                record(delivery.outbox.delivered(job.seq).await, &event);
                if let Some(r) = &delivery.replica {
                    r.edge_confirmed();
                }
                true
            }
            Attempt::Reject { error } => {
                bury(&delivery, &event, attempt, error).await;
                true
            }
            Attempt::Retry { error, retry_after } => {
                if attempt >= cfg.max_attempts {
                    bury(&delivery, &event, attempt, error).await;
                    true
                } else {
                    record(delivery.outbox.failed(job.seq, attempt).await, &event);
                    delivery.metrics.retried();
                    tracing::warn!(event_sid = %event.event_sid, key = %job.ordering_key, attempt, error = %error, "delivery failed; will retry");
                    attempt_max = attempt_max.max(attempt);
                    retry_after_max = retry_after_max.max(retry_after);
                    held.insert(job.ordering_key.clone());
                    finished.retry.push(Job {
                        attempts: attempt,
                        ..job.clone()
                    });
                    false
                }
            }
        };
        if resolved {
            if let Some(r) = &delivery.replica {
                r.release_local(&job.ordering_key);
            }
        }
    }
    if attempt_max > 0 {
        finished.delay = finished
            .delay
            .max(retry_delay(policy, attempt_max, retry_after_max));
    }
    finished.done = all_keys.into_iter().filter(|k| !held.contains(k)).collect();
    finished
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

/// Loads each event's payload; returns the loaded ones and the jobs that
/// could not be read (with every later job of their keys, which must not
/// overtake them). A row that is gone was resolved already and is dropped.
async fn load(delivery: &Arc<Delivery>, jobs: Vec<Job>) -> (Vec<(Job, Stored)>, Vec<Job>) {
    let d = delivery.clone();
    let fallback = jobs.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let Ok(conn) = d.reader.lock() else {
            return (Vec::new(), jobs);
        };
        let mut ok = Vec::with_capacity(jobs.len());
        let mut unreadable: Vec<Job> = Vec::new();
        let mut broken: HashSet<Arc<str>> = HashSet::new();
        for job in jobs {
            if broken.contains(&job.ordering_key) {
                unreadable.push(job);
                continue;
            }
            match Store::load(&conn, job.seq) {
                Ok(Some(stored)) => ok.push((job, stored)),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(seq = job.seq, key = %job.ordering_key, error = %e, "cannot load event; its key waits and the load is retried");
                    broken.insert(job.ordering_key.clone());
                    unreadable.push(job);
                }
            }
        }
        (ok, unreadable)
    })
    .await;
    match loaded {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(error = %e, "load task failed; retrying");
            (Vec::new(), fallback)
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
            len: 10,
        }
    }

    fn seqs(jobs: &[Job]) -> Vec<i64> {
        jobs.iter().map(|j| j.seq).collect()
    }

    #[test]
    fn single_mode_one_per_key_in_order_and_keys_in_parallel() {
        let mut s = Scheduler::default();
        s.push(job(1, "a"));
        s.push(job(2, "a"));
        s.push(job(3, "b"));
        assert_eq!(seqs(&s.take(1, 1000)), vec![1]);
        assert_eq!(seqs(&s.take(1, 1000)), vec![3]);
        assert!(s.take(1, 1000).is_empty(), "a is busy until 1 finishes");
        s.finished(&Arc::from("a"));
        assert_eq!(seqs(&s.take(1, 1000)), vec![2]);
        s.finished(&Arc::from("a"));
        s.finished(&Arc::from("b"));
        assert!(s.queues.is_empty());
    }

    #[test]
    fn a_batch_takes_each_free_keys_events_in_order_within_limits() {
        let mut s = Scheduler::default();
        for (seq, key) in [(1, "a"), (2, "b"), (3, "a"), (4, "c"), (5, "a")] {
            s.push(job(seq, key));
        }
        // 10 bytes each + separators: 4 events fit in 46 bytes.
        assert_eq!(seqs(&s.take(500, 46)), vec![1, 3, 5, 2]);
        assert_eq!(seqs(&s.take(500, 46)), vec![4]);
        assert!(s.take(500, 46).is_empty(), "every key is busy");
        // a retried: back at the head, its key still busy.
        s.requeue_front(vec![job(3, "a"), job(5, "a")]);
        s.push(job(6, "a"));
        assert!(s.take(500, 1000).is_empty());
        s.finished(&Arc::from("a"));
        assert_eq!(seqs(&s.take(2, 1000)), vec![3, 5]);
        s.finished(&Arc::from("a"));
        assert_eq!(seqs(&s.take(500, 1000)), vec![6]);
    }
}
