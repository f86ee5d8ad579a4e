//! Edge-store mode (stateless replicas): an RPC is acknowledged once the
//! edge confirmed it stored the event, within `replica.ack_budget_ms`. When
//! the edge does not confirm in time (or refuses with "unavailable", or is
//! down), the event goes to the local outbox instead and is acknowledged
//! after its fsync, exactly as in local-outbox mode; the dispatcher drains
//! the outbox in order when the edge is back.
//!
//! Concurrent RPCs share POSTs: the batcher takes everything queued, sends
//! it as one batch, answers each RPC from the edge's per-event results, and
//! meanwhile takes what arrives into the next batch (group commit to the
//! edge, like the outbox writer's group commit to disk), up to
//! `replica.max_in_flight` POSTs at once. A key is in one POST at a time,
//! which keeps its events in arrival order.
//!
//! Order across the two paths: while a key has events in the local outbox
//! ("local keys"), its later events go to the outbox too, behind them; and
//! while the replica is in fallback (the edge failed and the outbox has not
//! delivered since) every event does. Deciding the path and queueing the
//! outbox append happen under one lock, so the outbox's commit order is the
//! decision order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::convert::Event;
use crate::error::{Error, Result};
use crate::forward::{Attempt, Forwarder};
use crate::metrics::Metrics;
use crate::store::{Appended, Outbox};

/// RPCs waiting for a batch slot before callers feel backpressure.
const QUEUE: usize = 16_384;

/// Less budget than this left: do not start a request that cannot finish;
/// store locally at once.
const MIN_REQUEST_BUDGET: Duration = Duration::from_millis(5);

/// Where an RPC's event was acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acked {
    /// The edge confirmed it stored the event (or already had it).
    Edge,
    /// The local outbox committed it (or already held it).
    Outbox(Appended),
}

#[derive(Default)]
struct Inner {
    /// Keys with events in the local outbox, and how many.
    local: HashMap<Arc<str>, usize>,
    /// The edge failed and the outbox has not delivered since.
    fallback: bool,
}

/// Which keys have local events and whether the edge is confirming; shared
/// by the RPC path, the batcher, the dispatcher and `/healthz`.
pub struct ReplicaState {
    inner: Mutex<Inner>,
    metrics: Arc<Metrics>,
}

/// The outcome of choosing a path for one event.
pub enum Routed {
    /// Queued for the local outbox; the receiver answers after the commit.
    Outbox(Arc<str>, oneshot::Receiver<Result<Appended>>),
    /// Free to go to the edge.
    Edge(Event),
}

impl ReplicaState {
    /// An empty state (no local keys, confirming).
    pub fn new(metrics: Arc<Metrics>) -> ReplicaState {
        metrics.set_edge_store(true);
        ReplicaState {
            inner: Mutex::default(),
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave it inconsistent
        // (plain counter updates); keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an event already in the outbox (startup, CLI replays).
    pub fn mark_local(&self, key: &Arc<str>) {
        let mut inner = self.lock();
        *inner.local.entry(key.clone()).or_insert(0) += 1;
        self.metrics.set_local_keys(inner.local.len() as i64);
    }

    /// An outbox event of `key` was delivered or dead-lettered.
    pub fn release_local(&self, key: &str) {
        let mut inner = self.lock();
        if let Some(n) = inner.local.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                inner.local.remove(key);
            }
        }
        self.metrics.set_local_keys(inner.local.len() as i64);
    }

    /// Queues `event` for the outbox when it must go there (`force`, the
    /// replica is in fallback, or its key has local events); otherwise
    /// hands it back for the edge.
    pub fn route(&self, outbox: &Outbox, event: Event, force: bool) -> Result<Routed> {
        let mut inner = self.lock();
        if !(force || inner.fallback || inner.local.contains_key(event.ordering_key.as_str())) {
            return Ok(Routed::Edge(event));
        }
        let key: Arc<str> = Arc::from(event.ordering_key.as_str());
        // Queued while the lock is held: nothing decided after this can be
        // committed before it.
        let rx = outbox.try_enqueue(event)?;
        *inner.local.entry(key.clone()).or_insert(0) += 1;
        self.metrics.set_local_keys(inner.local.len() as i64);
        Ok(Routed::Outbox(key, rx))
    }

    /// The edge did not confirm: new events go to the outbox until it
    /// delivers again.
    pub fn edge_failed(&self) {
        let mut inner = self.lock();
        if !inner.fallback {
            inner.fallback = true;
            self.metrics.set_fallback(true);
            tracing::warn!(
                "edge did not confirm; acknowledging from the local outbox until it does"
            );
        }
    }

    /// The edge stored an event: back to acknowledging at the edge (keys
    /// with local events still go through the outbox until it drains).
    pub fn edge_confirmed(&self) {
        let mut inner = self.lock();
        if inner.fallback {
            inner.fallback = false;
            self.metrics.set_fallback(false);
            tracing::info!(
                local_keys = inner.local.len(),
                "edge confirms again; acknowledging at the edge"
            );
        }
    }

    /// Whether the replica is acknowledging from its outbox.
    pub fn in_fallback(&self) -> bool {
        self.lock().fallback
    }

    /// Keys that have events in the local outbox.
    pub fn local_keys(&self) -> usize {
        self.lock().local.len()
    }
}

struct Pending {
    event: Event,
    at: Instant,
    reply: oneshot::Sender<Result<Acked>>,
}

/// The RPC side of edge-store mode; cheap to clone.
#[derive(Clone)]
pub struct EdgeStore {
    tx: mpsc::Sender<Pending>,
    state: Arc<ReplicaState>,
    outbox: Outbox,
}

impl EdgeStore {
    /// Starts the batcher. It stops when every `EdgeStore` clone is gone
    /// (after the gRPC server stopped), having answered what it took.
    pub fn start(
        forwarder: Arc<Forwarder>,
        outbox: Outbox,
        state: Arc<ReplicaState>,
        metrics: Arc<Metrics>,
        budget: Duration,
        max_batch: usize,
        max_in_flight: usize,
    ) -> (EdgeStore, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let batcher = Batcher {
            forwarder,
            outbox: outbox.clone(),
            state: state.clone(),
            metrics,
            budget,
            max_batch,
            max_in_flight: max_in_flight.max(1),
        };
        let task = tokio::spawn(Arc::new(batcher).run(rx));
        (EdgeStore { tx, state, outbox }, task)
    }

    /// Stores one event at the edge, or in the outbox when it must or the
    /// edge does not confirm in time; returns where.
    pub async fn store(&self, event: Event) -> Result<Acked> {
        match self.state.route(&self.outbox, event, false)? {
            Routed::Outbox(key, rx) => committed(&self.state, &key, rx).await,
            Routed::Edge(event) => {
                let (reply, rx) = oneshot::channel();
                self.tx
                    .send(Pending {
                        event,
                        at: Instant::now(),
                        reply,
                    })
                    .await
                    .map_err(|_| Error::StoreClosed)?;
                rx.await.map_err(|_| Error::StoreClosed)?
            }
        }
    }
}

/// Waits for an outbox commit; a duplicate (already waiting) or a failed
/// append adds no row, so its key count is given back.
async fn committed(
    state: &ReplicaState,
    key: &str,
    rx: oneshot::Receiver<Result<Appended>>,
) -> Result<Acked> {
    let result = rx.await.map_err(|_| Error::StoreClosed).and_then(|r| r);
    match result {
        Ok(Appended::New(job)) => Ok(Acked::Outbox(Appended::New(job))),
        Ok(Appended::Duplicate) => {
            state.release_local(key);
            Ok(Acked::Outbox(Appended::Duplicate))
        }
        Err(e) => {
            state.release_local(key);
            Err(e)
        }
    }
}

struct Batcher {
    forwarder: Arc<Forwarder>,
    outbox: Outbox,
    state: Arc<ReplicaState>,
    metrics: Arc<Metrics>,
    budget: Duration,
    max_batch: usize,
    max_in_flight: usize,
}

impl Batcher {
    /// Takes queued RPCs into batches, up to `max_in_flight` POSTs at once.
    /// A key is in at most one POST at a time: an event whose key is in a
    /// POST still in flight waits (in arrival order) for the next one, so a
    /// key's events reach the edge, or fall back to the outbox, in order.
    async fn run(self: Arc<Self>, mut rx: mpsc::Receiver<Pending>) {
        let mut waiting: VecDeque<Pending> = VecDeque::new();
        let mut busy: HashSet<String> = HashSet::new();
        let mut posts: JoinSet<Vec<String>> = JoinSet::new();
        let mut open = true;
        loop {
            while posts.len() < self.max_in_flight {
                let mut batch = Vec::new();
                let mut keys = HashSet::new();
                let mut later = VecDeque::new();
                let mut consider =
                    |p: Pending, batch: &mut Vec<Pending>, later: &mut VecDeque<Pending>| {
                        if batch.len() < self.max_batch && !busy.contains(&p.event.ordering_key) {
                            keys.insert(p.event.ordering_key.clone());
                            batch.push(p);
                        } else {
                            later.push_back(p);
                        }
                    };
                for p in waiting.drain(..) {
                    consider(p, &mut batch, &mut later);
                }
                while open && batch.len() < self.max_batch {
                    match rx.try_recv() {
                        Ok(p) => consider(p, &mut batch, &mut later),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => open = false,
                    }
                }
                waiting = later;
                if batch.is_empty() {
                    break;
                }
                busy.extend(keys.iter().cloned());
                let me = self.clone();
                posts.spawn(async move {
                    me.send(batch).await;
                    keys.into_iter().collect()
                });
            }
            if !open && posts.is_empty() && waiting.is_empty() {
                return;
            }
            tokio::select! {
                received = rx.recv(), if open && posts.len() < self.max_in_flight => match received {
                    Some(p) => waiting.push_back(p),
                    None => open = false,
                },
                Some(done) = posts.join_next(), if !posts.is_empty() => match done {
                    Ok(keys) => {
                        for key in &keys {
                            busy.remove(key);
                        }
                    }
                    // Its RPCs see StoreClosed (not acknowledged); its keys
                    // stay busy rather than risk reordering.
                    Err(e) => tracing::error!(error = %e, "edge-store batch task failed"),
                },
                else => return,
            }
        }
    }

    /// Sends one batch and answers every RPC in it.
    async fn send(&self, mut taken: Vec<Pending>) {
        // Route again now: the replica may have fallen back, or a key may
        // have gained local events, since these RPCs were queued.
        let mut direct: Vec<Pending> = Vec::with_capacity(taken.len());
        for p in taken.drain(..) {
            let Pending { event, at, reply } = p;
            match self.state.route(&self.outbox, event, false) {
                Ok(Routed::Edge(event)) => direct.push(Pending { event, at, reply }),
                Ok(Routed::Outbox(key, rx)) => self.answer_later(key, rx, reply),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if direct.is_empty() {
            return;
        }
        let oldest = direct
            .iter()
            .map(|p| p.at)
            .min()
            .unwrap_or_else(Instant::now);
        let left = self.budget.saturating_sub(oldest.elapsed());
        let verdicts = if left < MIN_REQUEST_BUDGET {
            vec![
                Attempt::Retry {
                    error: "ack budget spent waiting for a batch".into(),
                    retry_after: None,
                };
                direct.len()
            ]
        } else {
            let events: Vec<(&str, &str)> = direct
                .iter()
                .map(|p| (p.event.event_sid.as_str(), p.event.json.as_str()))
                .collect();
            self.forwarder.attempt_batch(&events, Some(left)).await
        };
        let mut fell_back = false;
        for (p, verdict) in direct.into_iter().zip(verdicts) {
            match verdict {
                Attempt::Delivered => {
                    self.metrics.acked_at_edge();
                    let _ = p.reply.send(Ok(Acked::Edge));
                }
                Attempt::Reject { error } => {
                    let _ = p.reply.send(Err(Error::EdgeRejected(error)));
                }
                Attempt::Retry { error, .. } => {
                    if !fell_back {
                        fell_back = true;
                        tracing::warn!(error = %error, "edge did not confirm in time; storing locally");
                        self.state.edge_failed();
                    }
                    // In array order: a key's events keep their order in
                    // the outbox.
                    match self.state.route(&self.outbox, p.event, true) {
                        Ok(Routed::Outbox(key, rx)) => self.answer_later(key, rx, p.reply),
                        Ok(Routed::Edge(_)) => {
                            let _ = p.reply.send(Err(Error::StoreClosed));
                        }
                        Err(e) => {
                            let _ = p.reply.send(Err(e));
                        }
                    }
                }
            }
        }
        if !fell_back {
            self.state.edge_confirmed();
        }
    }

    /// Answers an RPC once its outbox append committed, without holding up
    /// the next batch.
    fn answer_later(
        &self,
        key: Arc<str>,
        rx: oneshot::Receiver<Result<Appended>>,
        reply: oneshot::Sender<Result<Acked>>,
    ) {
        let state = self.state.clone();
        tokio::spawn(async move {
            let _ = reply.send(committed(&state, &key, rx).await);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::ev;

    #[tokio::test]
    async fn a_key_with_local_events_stays_local_until_they_are_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, _rx) = mpsc::unbounded_channel();
        let metrics = Arc::new(Metrics::default());
        let (outbox, writer) =
            Outbox::start(&dir.path().join("o.db"), 16, tx, metrics.clone()).unwrap();
        let state = ReplicaState::new(metrics);
        assert!(matches!(
            state.route(&outbox, ev("a1", "a"), false).unwrap(),
            Routed::Edge(_)
        ));
        let Routed::Outbox(key, rx) = state.route(&outbox, ev("a1", "a"), true).unwrap() else {
            panic!()
        };
        assert!(matches!(
            committed(&state, &key, rx).await.unwrap(),
            Acked::Outbox(Appended::New(_))
        ));
        assert!(matches!(
            state.route(&outbox, ev("a2", "a"), false).unwrap(),
            Routed::Outbox(..)
        ));
        assert!(matches!(
            state.route(&outbox, ev("b1", "b"), false).unwrap(),
            Routed::Edge(_)
        ));
        assert_eq!(state.local_keys(), 1);
        state.release_local("a");
        state.release_local("a");
        assert!(matches!(
            state.route(&outbox, ev("a3", "a"), false).unwrap(),
            Routed::Edge(_)
        ));
        state.edge_failed();
        assert!(matches!(
            state.route(&outbox, ev("c1", "c"), false).unwrap(),
            Routed::Outbox(..)
        ));
        state.edge_confirmed();
        assert!(!state.in_fallback());
        outbox.close().await;
        writer.join();
    }
}
