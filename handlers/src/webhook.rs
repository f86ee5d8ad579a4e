//! Standard Webhooks (<https://www.standardwebhooks.com>), symmetric scheme:
//! the one signing function the gateway uses to sign what it delivers and the
//! one verification the worker's `POST /events` runs, so the two cannot drift.
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, signed
//! with HMAC-SHA256 and sent as `v1,<base64>`. Secrets are `whsec_<base64>`
//! (24 to 64 random bytes). The signature header may carry several
//! space-separated signatures, so a sender can sign with the old and the new
//! secret while a rotation is under way; a receiver may likewise hold several
//! secrets. A signature is good if any signature matches any secret. A
//! header with more than [`MAX_SIGNATURES`] `v1` signatures is refused
//! unchecked.
//!
//! # Example
//! ```
//! use handlers::webhook::{sign, verify, Secret, SignedHeaders};
//! let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
//! let body = br#"{"test": 2432232314}"#;
//! let sig = sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
//! assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
//! let headers = SignedHeaders { id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", signature: &sig };
//! assert!(verify(&[secret], &headers, body, 1614265330 + 60).is_ok());
//! ```

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

/// Header carrying the message id (the idempotency key; for call events, the event sid).
pub const HEADER_ID: &str = "webhook-id";
/// Header carrying the attempt's Unix timestamp in seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying the space-separated signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// How far a timestamp may be from the receiver's clock, either way: the
/// spec's recommended 5 minutes. Older is a replay risk; newer is a sender
/// with a wrong clock (or a signature minted for later use).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Prefix of a serialised symmetric secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Shortest secret the spec allows (192 bits).
pub const MIN_SECRET_BYTES: usize = 24;
/// Longest secret the spec allows (512 bits).
pub const MAX_SECRET_BYTES: usize = 64;
/// Longest webhook-id accepted; ids are short sids, and a bound keeps the
/// replay store's keys small.
pub const MAX_ID_LEN: usize = 256;

/// Most `v1` signatures one delivery may carry. A rotation needs two (the
/// old secret's and the new one's); four leave room for a sender that holds
/// a third while it rotates again. Every candidate is compared with every
/// secret's HMAC, so a header carrying thousands of `v1,...` entries would
/// cost the receiver thousands of comparisons for one request: a delivery
/// over the cap is refused with [`WebhookError::TooManySignatures`], by
/// [`check_headers`] (before its body is read) and by [`verify`], and no
/// HMAC is computed for it. A sender must sign with at most this many
/// secrets.
pub const MAX_SIGNATURES: usize = 4;

/// The signature scheme identifier for HMAC-SHA256.
const VERSION: &str = "v1";

/// Why a secret was rejected or a delivery did not verify.
///
/// The receiver must not tell the sender which of these it was (the worker
/// answers a bare 401); the variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WebhookError {
    /// The secret is not base64 (after the optional `whsec_` prefix).
    #[error("webhook secret is not base64; expected whsec_<base64>")]
    SecretNotBase64,
    /// The decoded secret is too short or too long.
    #[error(
        "webhook secret is {0} bytes; the spec wants {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES}"
    )]
    SecretLength(usize),
    /// No secret is configured, so nothing can verify.
    #[error("no webhook secret configured")]
    NoSecret,
    /// `webhook-id` is empty, too long, or contains a `.` (which would let
    /// the id and timestamp fields be shifted against each other).
    #[error("webhook-id missing or malformed")]
    BadId,
    /// `webhook-timestamp` is not an integer number of seconds.
    #[error("webhook-timestamp missing or not an integer")]
    BadTimestamp,
    /// The timestamp is more than [`TOLERANCE_SECONDS`] from now.
    #[error("webhook-timestamp outside the {TOLERANCE_SECONDS} s tolerance")]
    Stale,
    /// No `v1` signature in the header matched any secret.
    #[error("no matching webhook signature")]
    NoMatch,
    /// The header carries more than [`MAX_SIGNATURES`] `v1` signatures.
    #[error("webhook-signature carries more than {MAX_SIGNATURES} v1 signatures")]
    TooManySignatures,
}

/// A decoded symmetric secret. Its `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl Secret {
    /// Parses `whsec_<base64>`. The bare base64 form is accepted too, as the
    /// reference libraries do, since the prefix only labels the scheme.
    pub fn parse(s: &str) -> Result<Self, WebhookError> {
        let s = s.trim();
        let b64 = s.strip_prefix(SECRET_PREFIX).unwrap_or(s);
        let key = STANDARD
            .decode(b64)
            .map_err(|_| WebhookError::SecretNotBase64)?;
        Self::from_bytes(key)
    }

    /// A secret from raw key bytes (checked against the spec's lengths).
    pub fn from_bytes(key: Vec<u8>) -> Result<Self, WebhookError> {
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
            return Err(WebhookError::SecretLength(key.len()));
        }
        Ok(Self(key))
    }

    /// The serialised form, `whsec_<base64>`, e.g. to print a generated secret.
    pub fn to_whsec(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, msg_id: &str, timestamp: &str, payload: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail; the fallback
        // keeps the request path free of panics all the same.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(payload);
        mac
    }
}

/// Parses a list of secrets separated by commas or whitespace (how a
/// rotation is configured in one env var or secret). Every entry must parse:
/// a typo in one secret should fail loudly at startup, not silently shrink
/// the set.
pub fn parse_secrets(list: &str) -> Result<Vec<Secret>, WebhookError> {
    let secrets = list
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(Secret::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if secrets.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    Ok(secrets)
}

/// Signs one message: returns `v1,<base64 of HMAC-SHA256(id.timestamp.payload)>`.
pub fn sign(secret: &Secret, msg_id: &str, timestamp: i64, payload: &[u8]) -> String {
    let tag = secret
        .mac(msg_id, &timestamp.to_string(), payload)
        .finalize()
        .into_bytes();
    format!("{VERSION},{}", STANDARD.encode(tag))
}

/// Signs with every secret, space-separated: the `webhook-signature` value
/// a sender puts on a delivery while rotating (old and new secret both sign).
pub fn sign_all(secrets: &[Secret], msg_id: &str, timestamp: i64, payload: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| sign(s, msg_id, timestamp, payload))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The three header values of a delivery, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedHeaders<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp`.
    pub timestamp: &'a str,
    /// `webhook-signature`.
    pub signature: &'a str,
}

/// Verifies a delivery: a well-formed id, a timestamp within
/// [`TOLERANCE_SECONDS`] of `now` (Unix seconds) either way, and at least one
/// `v1` signature matching one of `secrets`. The HMAC comparison is constant
/// time (`Mac::verify_slice`); signatures of other schemes (`v1a`, ...) are
/// skipped, not errors. More than [`MAX_SIGNATURES`] `v1` signatures are
/// refused.
///
/// The timestamp and the signature count are checked before any HMAC is
/// computed: a stale or over-signed delivery costs nothing. The body is
/// hashed once per secret, whatever the number of candidates. Replays inside the window are the caller's job (keep the
/// id for longer than the window).
pub fn verify(
    secrets: &[Secret],
    headers: &SignedHeaders<'_>,
    payload: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    check_headers(headers, now)?;
    let (id, ts_text) = (headers.id.trim(), headers.timestamp.trim());
    let candidates: Vec<Vec<u8>> = headers
        .signature
        .split_whitespace()
        .filter_map(|s| s.split_once(','))
        .filter(|(version, _)| *version == VERSION)
        .filter_map(|(_, b64)| STANDARD.decode(b64).ok())
        .collect();
    // Every pair is tried even after a match would be found, so the time
    // taken does not depend on which secret or signature matched.
    let mut matched = false;
    for secret in secrets {
        let mac = secret.mac(id, ts_text, payload);
        for candidate in &candidates {
            matched |= mac.clone().verify_slice(candidate).is_ok();
        }
    }
    if matched {
        Ok(())
    } else {
        Err(WebhookError::NoMatch)
    }
}

/// The checks of [`verify`] that need no body and no secret: a well-formed
/// id, a timestamp within the window, one to [`MAX_SIGNATURES`] `v1`
/// signatures. A
/// receiver runs them before reading a large body, so a delivery that can
/// never verify costs no read.
pub fn check_headers(headers: &SignedHeaders<'_>, now: i64) -> Result<(), WebhookError> {
    let id = headers.id.trim();
    if id.is_empty() || id.len() > MAX_ID_LEN || id.contains('.') {
        return Err(WebhookError::BadId);
    }
    let ts_text = headers.timestamp.trim();
    // Digits only: `i64::from_str` would take "+5", which signs differently.
    if ts_text.is_empty() || ts_text.len() > 12 || !ts_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::BadTimestamp);
    }
    let ts: i64 = ts_text.parse().map_err(|_| WebhookError::BadTimestamp)?;
    if (now - ts).abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale);
    }
    let v1 = headers
        .signature
        .split_whitespace()
        .filter(|s| s.split_once(',').is_some_and(|(v, _)| v == VERSION))
        .take(MAX_SIGNATURES + 1)
        .count();
    match v1 {
        0 => Err(WebhookError::NoMatch),
        n if n > MAX_SIGNATURES => Err(WebhookError::TooManySignatures),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector published with the spec's reference libraries
    // (standard-webhooks/libraries, e.g. go/webhook_test.go TestWebhookSign).
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TS: i64 = 1614265330;
    const VECTOR_PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
    const VECTOR_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret() -> Secret {
        Secret::parse(VECTOR_SECRET).unwrap()
    }

    fn headers(sig: &str) -> SignedHeaders<'_> {
        SignedHeaders {
            id: VECTOR_ID,
            timestamp: "1614265330",
            signature: sig,
        }
    }

    #[test]
    fn signs_the_published_vector() {
        assert_eq!(
            sign(&secret(), VECTOR_ID, VECTOR_TS, VECTOR_PAYLOAD),
            VECTOR_SIG
        );
    }

    #[test]
    fn verifies_the_published_vector() {
        assert_eq!(
            verify(&[secret()], &headers(VECTOR_SIG), VECTOR_PAYLOAD, VECTOR_TS),
            Ok(())
        );
    }

    #[test]
    fn the_prefix_is_optional_and_round_trips() {
        let bare = Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(bare, secret());
        assert_eq!(bare.to_whsec(), VECTOR_SECRET);
        assert!(!format!("{bare:?}").contains("MfKQ"));
    }

    #[test]
    fn bad_secrets_are_rejected() {
        assert_eq!(
            Secret::parse("whsec_not base64!"),
            Err(WebhookError::SecretNotBase64)
        );
        assert_eq!(
            Secret::parse("whsec_c2hvcnQ="),
            Err(WebhookError::SecretLength(5))
        );
        assert_eq!(
            Secret::from_bytes(vec![0; 65]),
            Err(WebhookError::SecretLength(65))
        );
        assert_eq!(parse_secrets(" , "), Err(WebhookError::NoSecret));
        assert!(parse_secrets(&format!("{VECTOR_SECRET},whsec_c2hvcnQ=")).is_err());
        assert_eq!(
            parse_secrets(&format!(
                "{VECTOR_SECRET}, {}",
                Secret::from_bytes(vec![7; 32]).unwrap().to_whsec()
            ))
            .unwrap()
            .len(),
            2
        );
    }

    #[test]
    fn tampering_fails() {
        let s = [secret()];
        assert_eq!(
            verify(
                &s,
                &headers(VECTOR_SIG),
                br#"{"test": 2432232315}"#,
                VECTOR_TS
            ),
            Err(WebhookError::NoMatch)
        );
        let other_id = SignedHeaders {
            id: "msg_other",
            ..headers(VECTOR_SIG)
        };
        assert_eq!(
            verify(&s, &other_id, VECTOR_PAYLOAD, VECTOR_TS),
            Err(WebhookError::NoMatch)
        );
        let other_ts = SignedHeaders {
            timestamp: "1614265331",
            ..headers(VECTOR_SIG)
        };
        assert_eq!(
            verify(&s, &other_ts, VECTOR_PAYLOAD, VECTOR_TS),
            Err(WebhookError::NoMatch)
        );
        let other_key = Secret::from_bytes(vec![1; 24]).unwrap();
        assert_eq!(
            verify(
                &[other_key],
                &headers(VECTOR_SIG),
                VECTOR_PAYLOAD,
                VECTOR_TS
            ),
            Err(WebhookError::NoMatch)
        );
        assert_eq!(
            verify(
                &s,
                &headers("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="),
                VECTOR_PAYLOAD,
                VECTOR_TS
            ),
            Err(WebhookError::NoMatch)
        );
        // The right bytes under another scheme's identifier do not count.
        assert_eq!(
            verify(
                &s,
                &headers(&VECTOR_SIG.replace("v1,", "v2,")),
                VECTOR_PAYLOAD,
                VECTOR_TS
            ),
            Err(WebhookError::NoMatch)
        );
        assert_eq!(
            verify(&s, &headers(""), VECTOR_PAYLOAD, VECTOR_TS),
            Err(WebhookError::NoMatch)
        );
        assert_eq!(
            verify(&[], &headers(VECTOR_SIG), VECTOR_PAYLOAD, VECTOR_TS),
            Err(WebhookError::NoSecret)
        );
    }

    #[test]
    fn the_window_is_five_minutes_both_ways() {
        let s = [secret()];
        let h = headers(VECTOR_SIG);
        assert_eq!(verify(&s, &h, VECTOR_PAYLOAD, VECTOR_TS + 300), Ok(()));
        assert_eq!(verify(&s, &h, VECTOR_PAYLOAD, VECTOR_TS - 300), Ok(()));
        assert_eq!(
            verify(&s, &h, VECTOR_PAYLOAD, VECTOR_TS + 301),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            verify(&s, &h, VECTOR_PAYLOAD, VECTOR_TS - 301),
            Err(WebhookError::Stale)
        );
    }

    #[test]
    fn header_checks_need_no_body_and_refuse_what_can_never_verify() {
        let ok = SignedHeaders {
            id: VECTOR_ID,
            timestamp: "1614265330",
            signature: VECTOR_SIG,
        };
        assert_eq!(check_headers(&ok, VECTOR_TS), Ok(()));
        assert_eq!(
            check_headers(&ok, VECTOR_TS + TOLERANCE_SECONDS + 1),
            Err(WebhookError::Stale)
        );
        let no_sig = SignedHeaders {
            signature: "",
            ..ok
        };
        assert_eq!(
            check_headers(&no_sig, VECTOR_TS),
            Err(WebhookError::NoMatch)
        );
        let other_scheme = SignedHeaders {
            signature: "v1a,abc",
            ..ok
        };
        assert_eq!(
            check_headers(&other_scheme, VECTOR_TS),
            Err(WebhookError::NoMatch)
        );
        let no_id = SignedHeaders { id: "", ..ok };
        assert_eq!(check_headers(&no_id, VECTOR_TS), Err(WebhookError::BadId));
    }

    #[test]
    fn more_signatures_than_the_cap_are_refused_before_any_hmac() {
        let s = [secret()];
        // The right signature after junk: up to the cap it verifies...
        let junk = |n: usize| vec!["v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="; n];
        let mut at_cap = junk(MAX_SIGNATURES - 1);
        at_cap.push(VECTOR_SIG);
        let at_cap = at_cap.join(" ");
        assert_eq!(check_headers(&headers(&at_cap), VECTOR_TS), Ok(()));
        assert_eq!(
            verify(&s, &headers(&at_cap), VECTOR_PAYLOAD, VECTOR_TS),
            Ok(())
        );
        // ...one more `v1` entry and it does not, whatever else is there.
        for n in [MAX_SIGNATURES, 5_000] {
            let mut over = junk(n);
            over.push(VECTOR_SIG);
            let over = over.join(" ");
            assert_eq!(
                check_headers(&headers(&over), VECTOR_TS),
                Err(WebhookError::TooManySignatures),
                "{n}"
            );
            assert_eq!(
                verify(&s, &headers(&over), VECTOR_PAYLOAD, VECTOR_TS),
                Err(WebhookError::TooManySignatures),
                "{n}"
            );
        }
        // Entries of other schemes and junk do not count against the cap.
        let mut others = ["v1a,abc=", "garbage", "v2,AAAA"].repeat(100);
        others.push(VECTOR_SIG);
        assert_eq!(
            verify(&s, &headers(&others.join(" ")), VECTOR_PAYLOAD, VECTOR_TS),
            Ok(())
        );
        // A sender mid-rotation signing with as many secrets as the cap
        // (the right one last) still verifies.
        let mut many: Vec<Secret> = (1..MAX_SIGNATURES)
            .map(|i| Secret::from_bytes(vec![i as u8; 32]).unwrap())
            .collect();
        many.push(secret());
        let sig = sign_all(&many, VECTOR_ID, VECTOR_TS, VECTOR_PAYLOAD);
        assert_eq!(sig.split(' ').count(), MAX_SIGNATURES);
        assert_eq!(
            verify(&s, &headers(&sig), VECTOR_PAYLOAD, VECTOR_TS),
            Ok(())
        );
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let s = [secret()];
        for ts in [
            "",
            "abc",
            "+1614265330",
            "1614265330.0",
            "-1",
            "99999999999999999999",
        ] {
            let h = SignedHeaders {
                timestamp: ts,
                ..headers(VECTOR_SIG)
            };
            assert_eq!(
                verify(&s, &h, VECTOR_PAYLOAD, VECTOR_TS),
                Err(WebhookError::BadTimestamp),
                "{ts:?}"
            );
        }
        let long = "x".repeat(MAX_ID_LEN + 1);
        for id in ["", "msg.with.dots", long.as_str()] {
            let h = SignedHeaders {
                id,
                ..headers(VECTOR_SIG)
            };
            assert_eq!(
                verify(&s, &h, VECTOR_PAYLOAD, VECTOR_TS),
                Err(WebhookError::BadId)
            );
        }
    }

    #[test]
    fn several_signatures_and_several_secrets_rotate() {
        let old = Secret::from_bytes(vec![9; 32]).unwrap();
        // The header carries junk, another scheme and the right one.
        let header = format!(
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1a,abc= garbage {VECTOR_SIG} v1,!!!"
        );
        assert_eq!(
            verify(
                &[old.clone(), secret()],
                &headers(&header),
                VECTOR_PAYLOAD,
                VECTOR_TS
            ),
            Ok(())
        );
        // A sender mid-rotation signs with both; a receiver holding only one still verifies.
        let both = sign_all(
            &[old.clone(), secret()],
            VECTOR_ID,
            VECTOR_TS,
            VECTOR_PAYLOAD,
        );
        assert_eq!(both.split(' ').count(), 2);
        assert!(both.ends_with(VECTOR_SIG));
        assert_eq!(
            verify(&[secret()], &headers(&both), VECTOR_PAYLOAD, VECTOR_TS),
            Ok(())
        );
        assert_eq!(
            verify(&[old], &headers(&both), VECTOR_PAYLOAD, VECTOR_TS),
            Ok(())
        );
    }
}
