//! Counters, one gauge and one histogram, rendered in the Prometheus text
//! format by `/metrics`. Hand-rolled: a handful of atomics does not justify a
//! metrics framework.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds (seconds) of the delivery latency buckets: from storing an
/// event to the edge answering 2xx, retries included.
const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// All gateway metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    accepted: AtomicU64,
    rejected: AtomicU64,
    delivered: AtomicU64,
    retries: AtomicU64,
    dead_letters: AtomicU64,
    commits: AtomicU64,
    queue_depth: AtomicI64,
    in_flight: AtomicI64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    acked_at_edge: AtomicU64,
    edge_store: AtomicI64,
    fallback: AtomicI64,
    fallbacks: AtomicU64,
    local_keys: AtomicI64,
}

impl Metrics {
    /// An event was acknowledged to the caller.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
    }
    /// An event was acknowledged because the edge confirmed it stored it.
    pub fn acked_at_edge(&self) {
        self.acked_at_edge.fetch_add(1, Relaxed);
    }
    /// Whether this replica acknowledges at the edge (edge-store mode).
    pub fn set_edge_store(&self, on: bool) {
        self.edge_store.store(on as i64, Relaxed);
    }
    /// Whether this replica is acknowledging from its outbox because the
    /// edge did not confirm.
    pub fn set_fallback(&self, on: bool) {
        if on {
            self.fallbacks.fetch_add(1, Relaxed);
        }
        self.fallback.store(on as i64, Relaxed);
    }
    /// Ordering keys with events in the local outbox.
    pub fn set_local_keys(&self, n: i64) {
        self.local_keys.store(n, Relaxed);
    }
    /// A request was refused as malformed or oversized.
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }
    /// A delivery attempt failed and will be retried.
    pub fn retried(&self) {
        self.retries.fetch_add(1, Relaxed);
    }
    /// An event became a dead letter.
    pub fn dead_lettered(&self) {
        self.dead_letters.fetch_add(1, Relaxed);
        self.queue_depth_add(-1);
    }
    /// The outbox committed one transaction (one fsync).
    pub fn committed(&self) {
        self.commits.fetch_add(1, Relaxed);
    }
    /// Outbox transactions so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(Relaxed)
    }
    /// Changes the number of undelivered events.
    pub fn queue_depth_add(&self, n: i64) {
        self.queue_depth.fetch_add(n, Relaxed);
    }
    /// Sets the number of undelivered events (at startup).
    pub fn set_queue_depth(&self, n: i64) {
        self.queue_depth.store(n, Relaxed);
    }
    /// Current number of undelivered events.
    pub fn queue_depth(&self) -> i64 {
        self.queue_depth.load(Relaxed)
    }
    /// Changes the number of ordering keys being delivered right now.
    pub fn in_flight_add(&self, n: i64) {
        self.in_flight.fetch_add(n, Relaxed);
    }
    /// An event was delivered `latency` after it was stored.
    pub fn delivered(&self, latency: Duration) {
        self.delivered.fetch_add(1, Relaxed);
        self.queue_depth_add(-1);
        let secs = latency.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_us
            .fetch_add(latency.as_micros() as u64, Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        counter(
            &mut out,
            "proto_gateway_events_accepted_total",
            "Events acknowledged after a durable commit.",
            self.accepted.load(Relaxed),
        );
        counter(
            &mut out,
            "proto_gateway_events_rejected_total",
            "Requests refused as malformed or oversized.",
            self.rejected.load(Relaxed),
        );
        counter(
            &mut out,
            "proto_gateway_events_delivered_total",
            "Events the edge accepted.",
            self.delivered.load(Relaxed),
        );
        counter(
            &mut out,
            "proto_gateway_delivery_retries_total",
            "Delivery attempts that failed and were retried.",
            self.retries.load(Relaxed),
        );
        counter(
            &mut out,
            "proto_gateway_dead_letters_total",
            "Events moved to the dead-letter table.",
            self.dead_letters.load(Relaxed),
        );
        counter(
            &mut out,
            "proto_gateway_outbox_commits_total",
            "Outbox transactions (each one fsync); far fewer than events under load.",
            self.commits.load(Relaxed),
        );
        counter(
            &mut out,
            "proto_gateway_events_acked_at_edge_total",
            "Events acknowledged because the edge confirmed the store (edge-store mode).",
            self.acked_at_edge.load(Relaxed),
        );
        counter(
            &mut out,
            "proto_gateway_edge_fallbacks_total",
            "Times the replica fell back to acknowledging from its local outbox.",
            self.fallbacks.load(Relaxed),
        );
        gauge(
            &mut out,
            "proto_gateway_edge_store_mode",
            "1 if RPCs are acknowledged once the edge stored the event, 0 for local-outbox mode.",
            self.edge_store.load(Relaxed),
        );
        gauge(
            &mut out,
            "proto_gateway_edge_fallback",
            "1 while the edge does not confirm and events are acknowledged from the local outbox.",
            self.fallback.load(Relaxed),
        );
        gauge(
            &mut out,
            "proto_gateway_local_keys",
            "Ordering keys with events in the local outbox (their new events queue behind them).",
            self.local_keys.load(Relaxed),
        );
        gauge(
            &mut out,
            "proto_gateway_queue_depth",
            "Stored events not yet delivered.",
            self.queue_depth.load(Relaxed).max(0),
        );
        gauge(
            &mut out,
            "proto_gateway_deliveries_in_flight",
            "Ordering keys with a delivery in progress.",
            self.in_flight.load(Relaxed).max(0),
        );
        let name = "proto_gateway_delivery_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from durable commit to the edge's 2xx, retries included.\n# TYPE {name} histogram"
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.latency_sum_us.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_histogram_cumulatively() {
        let m = Metrics::default();
        m.set_queue_depth(3);
        m.delivered(Duration::from_millis(7));
        m.delivered(Duration::from_secs(2));
        let text = m.render();
        assert!(text.contains("proto_gateway_delivery_latency_seconds_bucket{le=\"0.01\"} 1"));
        assert!(text.contains("proto_gateway_delivery_latency_seconds_bucket{le=\"2.5\"} 2"));
        assert!(text.contains("proto_gateway_delivery_latency_seconds_count 2"));
        assert!(text.contains("proto_gateway_queue_depth 1\n"));
        assert!(text.contains("proto_gateway_events_delivered_total 2\n"));
    }
}
