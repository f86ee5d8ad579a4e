//! One signed delivery attempt: POST the event's JSON to the edge with
//! Standard Webhooks headers, and classify the answer.
//!
//! Signing is `handlers::webhook`, the same code the worker verifies with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;

use handlers::retry::Policy;
use handlers::webhook::{self, Secret};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;

use crate::config::ForwardConfig;
use crate::error::{Error, Result};
use crate::store::Stored;

/// Longest Retry-After the gateway obeys, in ms; beyond it the server is
/// assumed confused and an hour is waited instead.
const MAX_RETRY_AFTER_MS: u64 = 3_600_000;

/// How much of an error response body is kept in the dead-letter record.
const ERROR_BODY_EXCERPT: usize = 200;

/// What one attempt tells the scheduler to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// 2xx, or a status configured as "already delivered".
    Delivered,
    /// Network error, timeout, 408, 429 or 5xx: try again later.
    Retry {
        /// What failed (for logs and the dead-letter record).
        error: String,
        /// The server's Retry-After, when it sent one in seconds.
        retry_after: Option<Duration>,
    },
    /// Any other status (4xx, 3xx): the receiver refuses this event; the
    /// same bytes will not fare better, so it becomes a dead letter at once.
    Reject {
        /// Status and body excerpt.
        error: String,
    },
}

/// Sends events to the configured URL.
pub struct Forwarder {
    client: reqwest::Client,
    url: reqwest::Url,
    secrets: Vec<Secret>,
    already_delivered: Vec<u16>,
    /// When and how soon to retry (see [`policy`]).
    policy: Policy,
    /// `batch-<replica>-`: random per process, so batch ids from two
    /// replicas (or two runs) never collide at the edge's replay guard.
    batch_prefix: String,
    batch_seq: AtomicU64,
}

/// One element of the edge's per-event answer to a batch.
#[derive(Debug, Deserialize)]
struct EventResult {
    #[serde(default)]
    event_sid: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    error: Option<String>,
}

/// The edge's answer to a batch (200 and 503 both carry it).
#[derive(Debug, Deserialize)]
struct BatchAnswer {
    results: Vec<EventResult>,
}

impl Forwarder {
    /// Parses the secrets (never logging them) and builds the HTTP client.
    pub fn new(cfg: &ForwardConfig, secrets: &[String]) -> Result<Forwarder> {
        let secrets = secrets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Secret::parse(s)
                    .map_err(|e| Error::Config(format!("forward.secrets entry {}: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>>>()?;
        let url = reqwest::Url::parse(&cfg.url)
            .map_err(|e| Error::Config(format!("forward.url: {e}")))?;
        // reqwest is built without a default TLS provider (no aws-lc).
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout())
            .connect_timeout(cfg.timeout().min(Duration::from_secs(5)))
            // A redirect of a POST is a misconfigured URL, not something to
            // follow silently (301/302 would even turn it into a GET).
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("exoedge-proto-gateway/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Forwarder {
            client,
            url,
            secrets,
            already_delivered: cfg.already_delivered_statuses.clone(),
            policy: policy(cfg),
            batch_prefix: format!("batch-{:08x}-", fastrand::u32(..)),
            batch_seq: AtomicU64::new(0),
        })
    }

    /// The retry rules this forwarder classifies answers with; the
    /// dispatcher schedules retries with the same.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A fresh batch id (`webhook-id` of a batch POST); every attempt gets
    /// its own, so a retry is never mistaken for a replay.
    pub fn next_batch_id(&self) -> String {
        let n = self.batch_seq.fetch_add(1, Ordering::Relaxed);
        format!("{}{n}", self.batch_prefix)
    }

    /// Sends `events` (event_sid, JSON) as one JSON array and returns one
    /// verdict per event, in order: `Delivered` for `stored` / `duplicate`,
    /// `Reject` for `rejected` (never retry it), `Retry` for `unavailable`
    /// and for any failure of the whole request. `timeout` shortens the
    /// configured per-request timeout (the edge-store budget).
    pub async fn attempt_batch(
        &self,
        events: &[(&str, &str)],
        timeout: Option<Duration>,
    ) -> Vec<Attempt> {
        let all = |a: Attempt| vec![a; events.len()];
        let mut body =
            String::with_capacity(events.iter().map(|(_, j)| j.len() + 1).sum::<usize>() + 2);
        body.push('[');
        for (i, (_, json)) in events.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(json);
        }
        body.push(']');
        let id = self.next_batch_id();
        let now = crate::store::now_ms() / 1000;
        let headers = match self.headers(&id, now, body.as_bytes()) {
            Ok(h) => h,
            Err(e) => {
                return all(Attempt::Reject {
                    error: e.to_string(),
                })
            }
        };
        let mut request = self
            .client
            .post(self.url.clone())
            .headers(headers)
            .body(body);
        if let Some(t) = timeout {
            request = request.timeout(t);
        }
        let resp = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                return all(Attempt::Retry {
                    error: format!("request failed: {}", without_url(&e)),
                    retry_after: None,
                })
            }
        };
        let status = resp.status();
        let retry_after = retry_after(&self.policy, resp.headers());
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => {
                return all(Attempt::Retry {
                    error: format!("reading the answer failed: {}", without_url(&e)),
                    retry_after,
                })
            }
        };
        match serde_json::from_str::<BatchAnswer>(&text) {
            Ok(answer)
                if answer.results.len() == events.len()
                    && answer
                        .results
                        .iter()
                        .zip(events)
                        .all(|(r, (sid, _))| r.event_sid.is_empty() || r.event_sid == *sid) =>
            {
                answer
                    .results
                    .into_iter()
                    .map(|r| match r.status.as_str() {
                        "stored" | "duplicate" => Attempt::Delivered,
                        "rejected" => Attempt::Reject {
                            error: format!(
                                "HTTP {}: rejected: {}",
                                status.as_u16(),
                                r.error.unwrap_or_default()
                            ),
                        },
                        other => Attempt::Retry {
                            error: format!("HTTP {}: {other}", status.as_u16()),
                            retry_after,
                        },
                    })
                    .collect()
            }
            // A 2xx is "stored at the edge" for the whole batch even if the
            // per-event details are missing.
            _ if status.is_success() || self.already_delivered.contains(&status.as_u16()) => {
                all(Attempt::Delivered)
            }
            _ => all(classify(&self.policy, status, retry_after, &text)),
        }
    }

    /// The Standard Webhooks headers for one attempt. The timestamp is the
    /// attempt's, so a retry hours later still passes the receiver's
    /// 5-minute window.
    pub fn headers(&self, event_sid: &str, timestamp: i64, body: &[u8]) -> Result<HeaderMap> {
        let signature = webhook::sign_all(&self.secrets, event_sid, timestamp, body);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let value = |v: &str| {
            HeaderValue::from_str(v)
                .map_err(|_| Error::InvalidEvent("event id is not a valid header value".into()))
        };
        headers.insert(webhook::HEADER_ID, value(event_sid)?);
        headers.insert(webhook::HEADER_TIMESTAMP, HeaderValue::from(timestamp));
        headers.insert(webhook::HEADER_SIGNATURE, value(&signature)?);
        Ok(headers)
    }

    /// Makes one attempt.
    pub async fn attempt(&self, event: &Stored) -> Attempt {
        let now = crate::store::now_ms() / 1000;
        let headers = match self.headers(&event.event_sid, now, event.payload.as_bytes()) {
            Ok(h) => h,
            Err(e) => {
                return Attempt::Reject {
                    error: e.to_string(),
                }
            }
        };
        let response = self
            .client
            .post(self.url.clone())
            .headers(headers)
            .body(event.payload.clone())
            .send()
            .await;
        match response {
            Err(e) => Attempt::Retry {
                error: format!("request failed: {}", without_url(&e)),
                retry_after: None,
            },
            Ok(resp) => {
                let status = resp.status();
                if status.is_success() || self.already_delivered.contains(&status.as_u16()) {
                    return Attempt::Delivered;
                }
                let retry_after = retry_after(&self.policy, resp.headers());
                let body = resp.text().await.unwrap_or_default();
                classify(&self.policy, status, retry_after, &body)
            }
        }
    }
}

/// The gateway's retry rules ([`handlers::retry`], shared with the
/// worker): backoff from `forward.initial_backoff_ms` to
/// `forward.max_backoff_ms`; 401/403 are refusals (the edge checks the
/// signature, and the same bytes will not fare better); `Retry-After` in
/// delta-seconds only (the form rate limiters send; an HTTP-date is ignored
/// and ordinary backoff applies), up to an hour.
pub fn policy(cfg: &ForwardConfig) -> Policy {
    Policy {
        base_ms: cfg.initial_backoff_ms,
        max_ms: cfg.max_backoff_ms,
        retry_after_max_ms: MAX_RETRY_AFTER_MS,
        retry_after_dates: false,
        retry_auth_failures: false,
    }
}

/// Decides retry or reject for a non-success status.
pub fn classify(
    policy: &Policy,
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &str,
) -> Attempt {
    let excerpt: String = body.chars().take(ERROR_BODY_EXCERPT).collect();
    let error = format!("HTTP {}: {}", status.as_u16(), excerpt.trim());
    if policy.retries(status.as_u16()) {
        Attempt::Retry { error, retry_after }
    } else {
        Attempt::Reject { error }
    }
}

/// The response's Retry-After as the gateway obeys it ([`policy`]).
fn retry_after(policy: &Policy, headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    policy
        .retry_after_ms(value, crate::store::now_ms())
        .map(Duration::from_millis)
}

/// reqwest errors include the URL, which may carry credentials in a
/// user-info part; logs and dead letters get the error without it.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else {
        "error"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// Delay before attempt `attempt + 1` (1-based `attempt` that just failed):
/// [`Policy::wait_ms`] with the jitter drawn here, so a burst of failures
/// spreads out but never retries immediately. A server's Retry-After wins
/// when it asks for longer.
pub fn retry_delay(policy: &Policy, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let asked = retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Duration::from_millis(policy.wait_ms(attempt.saturating_sub(1), fastrand::f64(), asked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEV_WEBHOOK_SECRET;

    #[test]
    fn statuses_are_classified() {
        let p = policy(&ForwardConfig::default());
        assert!(matches!(
            classify(&p, StatusCode::INTERNAL_SERVER_ERROR, None, "x"),
            Attempt::Retry { .. }
        ));
        assert!(matches!(
            classify(&p, StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(2)), ""),
            Attempt::Retry { retry_after: Some(d), .. } if d == Duration::from_secs(2)
        ));
        assert!(matches!(
            classify(&p, StatusCode::BAD_REQUEST, None, "bad signature"),
            Attempt::Reject { error } if error == "HTTP 400: bad signature"
        ));
        assert!(matches!(
            classify(&p, StatusCode::MOVED_PERMANENTLY, None, ""),
            Attempt::Reject { .. }
        ));
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let i = Duration::from_millis(100);
        let m = Duration::from_secs(1);
        let p = policy(&ForwardConfig {
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
            ..ForwardConfig::default()
        });
        for _ in 0..50 {
            let d1 = retry_delay(&p, 1, None);
            assert!(d1 >= Duration::from_millis(50) && d1 <= i, "{d1:?}");
            let d3 = retry_delay(&p, 3, None);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d30 = retry_delay(&p, 30, None);
            assert!(d30 >= m / 2 && d30 <= m);
            let ra = retry_delay(&p, 1, Some(Duration::from_secs(5)));
            assert_eq!(ra, Duration::from_secs(5));
        }
    }

    #[test]
    fn signs_with_every_secret_verifiably() {
        let second = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let cfg = ForwardConfig::default();
        let f = Forwarder::new(&cfg, &[DEV_WEBHOOK_SECRET.into(), second.into()]).unwrap();
        let body = br#"{"event_sid":"ev1"}"#;
        let h = f.headers("ev1", 1_700_000_000, body).unwrap();
        let sig = h[webhook::HEADER_SIGNATURE].to_str().unwrap();
        assert_eq!(sig.split(' ').count(), 2);
        let signed = webhook::SignedHeaders {
            id: "ev1",
            timestamp: "1700000000",
            signature: sig,
        };
        // A receiver that knows only the new secret still verifies.
        let only_new = [Secret::parse(second).unwrap()];
        assert!(webhook::verify(&only_new, &signed, body, 1_700_000_010).is_ok());
        assert_eq!(h[webhook::HEADER_ID], "ev1");
    }

    #[test]
    fn batch_ids_are_unique_and_valid_webhook_ids() {
        let f = Forwarder::new(&ForwardConfig::default(), &[DEV_WEBHOOK_SECRET.into()]).unwrap();
        let (a, b) = (f.next_batch_id(), f.next_batch_id());
        assert_ne!(a, b);
        assert!(a.starts_with("batch-") && !a.contains('.'));
    }

    #[test]
    fn bad_secret_is_a_config_error_without_the_secret() {
        let err = Forwarder::new(&ForwardConfig::default(), &["whsec_!!notbase64".into()])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("entry 1"), "{err}");
        assert!(!err.contains("notbase64"), "{err}");
    }
}
