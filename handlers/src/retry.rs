//! When to try a delivery again, and after how long: exponential backoff
//! with jitter, `Retry-After` parsing, and the outcome of one attempt.
//!
//! Shared by the two places that deliver over HTTP and retry: the worker's
//! `EventLog` posting leg actions to Exotel (`src/event_log.rs`) and
//! proto-gateway forwarding stored events to the edge (`forward.rs`,
//! `dispatch.rs`). Pure: the caller brings the clock (`now_ms`) and the
//! randomness (`jitter`), so every rule here is tested natively.
//!
//! The two callers differ in three rules, each a field of [`Policy`]:
//! the worker retries 401/403 (Exotel credentials can be fixed while the
//! event waits) and honours a `Retry-After` HTTP-date up to its backoff cap;
//! the gateway treats 401/403 as a refusal (the edge rejects those bytes
//! for good) and honours `Retry-After` in seconds only, up to an hour.

/// First backoff step of the worker's action posts after a 429 or a 5xx,
/// in ms; doubles per attempt.
pub const BACKOFF_BASE_MS: u64 = 250;
/// Longest single wait of the worker's action posts, in ms (also the cap on
/// a `Retry-After`).
pub const BACKOFF_MAX_MS: u64 = 4_000;

/// What to do after one attempt to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver accepted it (2xx; Exotel answers 202).
    Done,
    /// Worth another try after this many ms: 429 (Exotel's seed 450-523
    /// asks for exponential backoff), 5xx, 408, and, where the policy says
    /// so, 401/403 (credentials can be fixed, after which a retry succeeds).
    Retry {
        /// How long to wait.
        after_ms: u64,
    },
    /// Retrying the same request cannot help (400 bad ExoML, 404 leg gone, ...).
    Fail,
}

/// The retry rules of one kind of delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// First backoff step, in ms (attempt 0 waits about this long).
    pub base_ms: u64,
    /// Longest backoff, in ms.
    pub max_ms: u64,
    /// Longest `Retry-After` obeyed, in ms; a longer one is cut to this.
    pub retry_after_max_ms: u64,
    /// Whether a `Retry-After` HTTP-date is obeyed; `false` obeys the
    /// delay-seconds form only (the form rate limiters send).
    pub retry_after_dates: bool,
    /// Whether 401 and 403 are worth retrying.
    pub retry_auth_failures: bool,
}

impl Policy {
    /// The worker's leg-action posts to Exotel: `base_ms` from
    /// `EVENTS_BACKOFF_MS`, everything capped at [`BACKOFF_MAX_MS`] because
    /// a leg's later events wait behind the retry.
    pub fn exotel_actions(base_ms: u64) -> Policy {
        Policy {
            base_ms,
            max_ms: BACKOFF_MAX_MS,
            retry_after_max_ms: BACKOFF_MAX_MS,
            retry_after_dates: true,
            retry_auth_failures: true,
        }
    }

    /// Exponential backoff with jitter: attempt 0 waits about `base_ms`,
    /// each further attempt twice as long, capped at `max_ms`. `jitter` in
    /// [0, 1) spreads the wait over its upper half ("equal jitter"), so
    /// retries of many events do not arrive together and none is immediate.
    pub fn backoff_ms(&self, attempt: u32, jitter: f64) -> u64 {
        let full = self
            .base_ms
            .saturating_mul(1u64.checked_shl(attempt).unwrap_or(u64::MAX))
            .min(self.max_ms);
        let j = jitter.clamp(0.0, 1.0);
        (full as f64 * (0.5 + 0.5 * j)) as u64
    }

    /// Whether a non-2xx status is worth another try: 408, 429 and 5xx
    /// always; 401/403 when [`Policy::retry_auth_failures`].
    pub fn retries(&self, status: u16) -> bool {
        match status {
            429 | 408 | 500..=599 => true,
            401 | 403 => self.retry_auth_failures,
            _ => false,
        }
    }

    /// A `Retry-After` value as this policy obeys it: in ms from `now_ms`,
    /// capped at [`Policy::retry_after_max_ms`]; `None` when it is
    /// unreadable or a date the policy ignores.
    pub fn retry_after_ms(&self, value: &str, now_ms: i64) -> Option<u64> {
        let asked = match RetryAfter::parse(value)? {
            RetryAfter::Date { .. } if !self.retry_after_dates => return None,
            r => r.delay_ms(now_ms),
        };
        Some(asked.min(self.retry_after_max_ms))
    }

    /// The wait before the next try: the backoff for `attempt`, or the
    /// server's `asked_ms` (already capped) when it asks for longer.
    pub fn wait_ms(&self, attempt: u32, jitter: f64, asked_ms: Option<u64>) -> u64 {
        let backoff = self.backoff_ms(attempt, jitter);
        asked_ms.map_or(backoff, |a| a.max(backoff))
    }

    /// Classifies a response to a delivery: 2xx is done, a retryable status
    /// waits [`Policy::wait_ms`] (honouring `retry_after`), anything else
    /// fails.
    pub fn after_response(
        &self,
        status: u16,
        retry_after: Option<&str>,
        attempt: u32,
        jitter: f64,
        now_ms: i64,
    ) -> Outcome {
        match status {
            200..=299 => Outcome::Done,
            s if self.retries(s) => {
                let asked = retry_after.and_then(|v| self.retry_after_ms(v, now_ms));
                Outcome::Retry {
                    after_ms: self.wait_ms(attempt, jitter, asked),
                }
            }
            _ => Outcome::Fail,
        }
    }
}

/// A parsed `Retry-After` header (RFC 9110 10.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Delay-seconds.
    Seconds(u64),
    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as Unix ms.
    Date {
        /// When the server is willing again.
        at_ms: i64,
    },
}

impl RetryAfter {
    /// Reads delay-seconds or an IMF-fixdate; anything else (the obsolete
    /// date forms included) is `None`, and ordinary backoff applies.
    pub fn parse(value: &str) -> Option<RetryAfter> {
        let v = value.trim();
        if let Ok(s) = v.parse::<u64>() {
            return Some(RetryAfter::Seconds(s));
        }
        let format = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        let at = time::PrimitiveDateTime::parse(v, &format)
            .ok()?
            .assume_utc();
        let at_ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
        Some(RetryAfter::Date { at_ms })
    }

    /// The wait it asks for, in ms from `now_ms`; a date in the past is 0.
    pub fn delay_ms(self, now_ms: i64) -> u64 {
        match self {
            RetryAfter::Seconds(s) => s.saturating_mul(1000),
            RetryAfter::Date { at_ms } => u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(0),
        }
    }
}

/// A `Retry-After` value in ms from `now_ms`, uncapped: delay-seconds, or
/// an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 10.2.3); a
/// date in the past is 0. Anything else is ignored (`None`).
pub fn retry_after_ms(value: &str, now_ms: i64) -> Option<u64> {
    RetryAfter::parse(value).map(|r| r.delay_ms(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gateway's rules (proto-gateway `forward::policy`), with its
    /// test's 100 ms / 1 s backoff.
    fn gateway(base_ms: u64, max_ms: u64) -> Policy {
        Policy {
            base_ms,
            max_ms,
            retry_after_max_ms: 3_600_000,
            retry_after_dates: false,
            retry_auth_failures: false,
        }
    }

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let p = Policy::exotel_actions(250);
        assert_eq!(p.backoff_ms(0, 1.0), 250);
        assert_eq!(p.backoff_ms(1, 1.0), 500);
        assert_eq!(p.backoff_ms(2, 0.0), 500);
        assert_eq!(p.backoff_ms(30, 1.0), BACKOFF_MAX_MS);
        assert_eq!(p.after_response(202, None, 0, 0.0, 0), Outcome::Done);
        assert_eq!(
            p.after_response(429, None, 1, 1.0, 0),
            Outcome::Retry { after_ms: 500 }
        );
        assert_eq!(
            p.after_response(429, Some("2"), 0, 1.0, 0),
            Outcome::Retry { after_ms: 2000 }
        );
        assert_eq!(
            p.after_response(429, Some("3600"), 0, 1.0, 0),
            Outcome::Retry {
                after_ms: BACKOFF_MAX_MS
            }
        );
        assert_eq!(
            p.after_response(503, Some("soon"), 0, 1.0, 0),
            Outcome::Retry { after_ms: 250 }
        );
        assert_eq!(
            p.after_response(401, None, 0, 1.0, 0),
            Outcome::Retry { after_ms: 250 }
        );
        assert_eq!(p.after_response(400, None, 0, 1.0, 0), Outcome::Fail);
        assert_eq!(p.after_response(404, None, 0, 1.0, 0), Outcome::Fail);
        // The HTTP-date form: 3 s after "now", and one already past.
        let now = 784_111_774_000; // Sun, 06 Nov 1994 08:49:34 GMT
        assert_eq!(
            retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(3_000)
        );
        assert_eq!(
            p.after_response(429, Some("Sun, 06 Nov 1994 08:49:37 GMT"), 0, 1.0, now),
            Outcome::Retry { after_ms: 3_000 }
        );
        assert_eq!(
            retry_after_ms("Sun, 06 Nov 1994 08:49:30 GMT", now),
            Some(0)
        );
        assert_eq!(retry_after_ms("Sunday, 06-Nov-94 08:49:37 GMT", now), None);
    }

    /// The gateway's backoff (moved from proto-gateway forward.rs, where its
    /// attempts count from 1 and the jitter is drawn at random): grows,
    /// caps, stays in the upper half, and yields to a longer Retry-After.
    #[test]
    fn gateway_backoff_grows_caps_and_honours_retry_after() {
        let p = gateway(100, 1_000);
        for i in 0..=50 {
            let j = f64::from(i) / 50.0;
            let d1 = p.wait_ms(0, j, None);
            assert!((50..=100).contains(&d1), "{d1}");
            let d3 = p.wait_ms(2, j, None);
            assert!((200..=400).contains(&d3), "{d3}");
            let d30 = p.wait_ms(29, j, None);
            assert!((500..=1_000).contains(&d30), "{d30}");
            assert_eq!(p.wait_ms(0, j, Some(5_000)), 5_000);
        }
        // Far past any shift width: still the cap, no overflow.
        assert_eq!(p.backoff_ms(u32::MAX, 1.0), 1_000);
    }

    #[test]
    fn the_gateway_and_the_worker_differ_where_their_policies_say() {
        let (g, w) = (gateway(100, 1_000), Policy::exotel_actions(250));
        // 408, 429 and 5xx are retried by both; other 4xx and 3xx by neither.
        for s in [408, 429, 500, 503, 599] {
            assert!(g.retries(s) && w.retries(s), "{s}");
        }
        for s in [301, 400, 404, 409, 413, 422] {
            assert!(!g.retries(s) && !w.retries(s), "{s}");
        }
        // 401/403: credentials at Exotel can be fixed; the edge refuses.
        assert!(w.retries(401) && w.retries(403));
        assert!(!g.retries(401) && !g.retries(403));
        // Retry-After: seconds for both, capped differently; dates only
        // for the worker.
        assert_eq!(g.retry_after_ms("7200", 0), Some(3_600_000));
        assert_eq!(w.retry_after_ms("7200", 0), Some(BACKOFF_MAX_MS));
        assert_eq!(g.retry_after_ms(" 2 ", 0), Some(2_000));
        let now = 784_111_774_000;
        assert_eq!(g.retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now), None);
        assert_eq!(
            w.retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(3_000)
        );
        assert_eq!(g.retry_after_ms("soon", 0), None);
    }
}
