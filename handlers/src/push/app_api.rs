//! The "application backend" Exotel's sample apps (exotel-voip-sdk-android
//! and -ios) talk to, so they run against exoedge unchanged; plus the app
//! credential and the subscriber-token exchange with Exotel (seed 5880-6000).
//!
//! # The app credential
//! `/login` checks the user's password against a PBKDF2-SHA256 hash from the
//! user store and answers, besides what the apps read, an `app_token`:
//! `eat1.<base64url(claims JSON)>.<base64url(HMAC-SHA256(secret, "eat1." + claims))>`
//! where the secret is the `APP_TOKEN_SECRET` the customer sets. App routes
//! take it as `Authorization: Bearer <app_token>`. The unchanged sample apps
//! do not send it (Android sends no header; iOS sends its Exotel token);
//! [`SampleAppMode::Narrow`] (the default) lets them register a device only
//! right after a login ([`super::session`]); see docs/push.md.
//!
//! Every JSON answer here carries `http_code`, which the iOS app checks
//! instead of the HTTP status.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::devices::Platform;
use super::subscriber::SubscriberName;
use crate::destination::{Destination, Numbers};
use crate::reply::Reply;

/// App tokens live a week; the apps log in again when one lapses.
pub const APP_TOKEN_SECS: u64 = 7 * 24 * 3600;

/// Shortest `APP_TOKEN_SECRET` accepted: 32 bytes, HMAC-SHA256's block of
/// entropy. A shorter secret disables the app routes rather than weakening them.
pub const MIN_SECRET_LEN: usize = 32;

/// A context lives this long: the app posts it right before the call, and
/// Dial Whom asks within seconds. (KV's minimum expiration is 60 s.)
pub const CONTEXT_TTL_SECS: u64 = 120;

/// Fewest and most PBKDF2 iterations accepted in a user record. Workers'
/// WebCrypto refuses more than 100 000.
pub const PBKDF2_ITERATIONS: std::ops::RangeInclusive<u32> = 10_000..=100_000;

const TOKEN_PREFIX: &str = "eat1.";

/// Errors of the app-facing routes, each with its status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The body is not the JSON the route takes.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No or an invalid app credential.
    #[error("missing or invalid app token")]
    Unauthenticated,
    /// The credential is valid but names someone else.
    #[error("the app token does not cover this subscriber or account")]
    Forbidden,
    /// Wrong user name or password (the Android app reads 403 as that).
    #[error("wrong user name or password")]
    BadCredentials,
    /// Nothing stored under that name.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// An uncredentialed `devicetoken` outside a login's window.
    #[error("no credential: a device token without one is accepted only once, from the same address, within 60 s after this user's /login; log in again")]
    NoLoginWindow,
    /// Exotel refused the request as malformed (its 400).
    #[error("exotel refused the subscriber-token request: {0}")]
    ExotelRejected(String),
    /// Exotel refused our API key/token (its 401): the operator must fix the secrets.
    #[error("exotel refused exoedge's API credentials; check EXOTEL_API_KEY/EXOTEL_API_TOKEN")]
    ExotelUnauthorized,
    /// Exotel failed or answered something unreadable.
    #[error("exotel subscriber-token API failed: {0}")]
    ExotelFailed(String),
    /// A secret or binding the route needs is not configured.
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
    /// Storage failed.
    #[error("storage unavailable")]
    Storage,
    /// The body is too large, unreadable or not the JSON the route takes.
    #[error("{0}")]
    Body(#[from] crate::error::BodyError),
}

impl AppError {
    /// The HTTP status (and `http_code`).
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthenticated | Self::NoLoginWindow => 401,
            Self::Forbidden | Self::BadCredentials => 403,
            Self::NotFound(_) => 404,
            Self::ExotelRejected(_) => 422,
            Self::ExotelUnauthorized | Self::ExotelFailed(_) => 502,
            Self::NotConfigured(_) | Self::Storage => 503,
            Self::Body(e) => crate::body::status(e),
        }
    }

    /// `{"http_code": .., "message": ..}` with the same status.
    pub fn reply(&self) -> Reply {
        api_reply(self.status(), &self.to_string())
    }

    /// For answers whose `message` the apps display (the context: Android
    /// shows any non-empty `message` as the call's text): `message` stays
    /// empty and the explanation goes in `error`.
    pub fn quiet_reply(&self) -> Reply {
        #[derive(Serialize)]
        struct A<'a> {
            http_code: u16,
            message: &'static str,
            error: &'a str,
        }
        let status = self.status();
        Reply::json_status(
            status,
            &A {
                http_code: status,
                message: "",
                error: &self.to_string(),
            },
        )
    }
}

/// How the routes the unchanged sample apps call without an app token are
/// guarded (var `SAMPLE_APP_COMPAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleAppMode {
    /// The default: an uncredentialed `devicetoken` only within a login's
    /// window (same address, once) or with the Exotel token this backend
    /// obtained at a login; uncredentialed context and contacts calls for
    /// users of the store.
    Narrow,
    /// App tokens only: for apps changed to send one.
    Off,
}

impl SampleAppMode {
    /// Reads the var: `off` (or `app-token`) is [`Self::Off`]; unset,
    /// `narrow` and anything else is [`Self::Narrow`]. The former `open`
    /// no longer exists: it reads as `Narrow`, and `.1` says to warn.
    pub fn parse(v: &str) -> (Self, bool) {
        match v.trim().to_ascii_lowercase().as_str() {
            "off" | "app-token" | "app_token" => (Self::Off, false),
            "" | "narrow" => (Self::Narrow, false),
            _ => (Self::Narrow, true),
        }
    }
}

/// `{"http_code": status, "message": message}`.
pub fn api_reply(status: u16, message: &str) -> Reply {
    #[derive(Serialize)]
    struct A<'a> {
        http_code: u16,
        message: &'a str,
    }
    Reply::json_status(
        status,
        &A {
            http_code: status,
            message,
        },
    )
}

/// What an app token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppClaims {
    /// The login user name.
    pub user: String,
    /// The subscriber the user is, at Exotel.
    pub sub: SubscriberName,
    /// The Exotel account SID.
    pub acct: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], data: &str) -> Option<HmacSha256> {
    let mut m = HmacSha256::new_from_slice(secret).ok()?;
    m.update(data.as_bytes());
    Some(m)
}

/// Signs claims into an app token. `None` if the secret is too short.
pub fn issue_app_token(secret: &[u8], claims: &AppClaims) -> Option<String> {
    if secret.len() < MIN_SECRET_LEN {
        return None;
    }
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).ok()?);
    let signed = format!("{TOKEN_PREFIX}{body}");
    let tag = mac(secret, &signed)?.finalize().into_bytes();
    Some(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag)))
}

/// Checks an app token's signature (in constant time) and expiry.
pub fn verify_app_token(secret: &[u8], token: &str, now_secs: u64) -> Result<AppClaims, AppError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(AppError::NotConfigured(
            "APP_TOKEN_SECRET (at least 32 bytes)",
        ));
    }
    let (signed, tag) = token.rsplit_once('.').ok_or(AppError::Unauthenticated)?;
    let body = signed
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(AppError::Unauthenticated)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| AppError::Unauthenticated)?;
    mac(secret, signed)
        .ok_or(AppError::Unauthenticated)?
        .verify_slice(&tag)
        .map_err(|_| AppError::Unauthenticated)?;
    let raw = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| AppError::Unauthenticated)?;
    let claims: AppClaims = serde_json::from_slice(&raw).map_err(|_| AppError::Unauthenticated)?;
    if claims.exp <= now_secs {
        return Err(AppError::Unauthenticated);
    }
    Ok(claims)
}

/// The token of an `Authorization: Bearer ...` header that is one of ours
/// (the iOS sample app sends its Exotel token there, which is not).
pub fn app_bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && token.starts_with(TOKEN_PREFIX)).then_some(token)
}

/// A stored password: PBKDF2-HMAC-SHA256. The worker derives with WebCrypto
/// and compares here; scripts/add-user.mjs writes these records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordHash {
    /// Always `pbkdf2-sha256`.
    pub alg: String,
    /// Iterations, within [`PBKDF2_ITERATIONS`].
    pub iterations: u32,
    /// Salt, standard base64.
    pub salt: String,
    /// Derived key, standard base64 (32 bytes).
    pub hash: String,
}

/// What deriving a candidate key needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pbkdf2Params {
    /// Salt bytes.
    pub salt: Vec<u8>,
    /// Iterations.
    pub iterations: u32,
    /// Key length in bits (what WebCrypto's deriveBits takes).
    pub bits: u32,
}

impl PasswordHash {
    /// The derivation parameters, or why the record is unusable.
    pub fn params(&self) -> Result<Pbkdf2Params, AppError> {
        let bad = |why: &str| AppError::BadRequest(format!("user record: {why}"));
        if self.alg != "pbkdf2-sha256" {
            return Err(bad("alg must be pbkdf2-sha256"));
        }
        if !PBKDF2_ITERATIONS.contains(&self.iterations) {
            return Err(bad("iterations must be 10000..=100000"));
        }
        let salt = STANDARD
            .decode(&self.salt)
            .map_err(|_| bad("salt is not base64"))?;
        let hash = STANDARD
            .decode(&self.hash)
            .map_err(|_| bad("hash is not base64"))?;
        if salt.len() < 16 || hash.len() < 16 || hash.len() > 64 {
            return Err(bad("salt or hash too short"));
        }
        Ok(Pbkdf2Params {
            salt,
            iterations: self.iterations,
            bits: (hash.len() * 8) as u32,
        })
    }

    /// Constant-time comparison of a derived key with the stored one.
    pub fn matches(&self, derived: &[u8]) -> bool {
        match STANDARD.decode(&self.hash) {
            Ok(h) => h.len() == derived.len() && bool::from(h.ct_eq(derived)),
            Err(_) => false,
        }
    }
}

/// A user of the sample-app backend (KV key [`user_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// The password hash; never the password.
    pub password: PasswordHash,
    /// The Exotel subscriber; defaults to the user name.
    #[serde(default)]
    pub subscriber_name: Option<SubscriberName>,
    /// The SIP ExoPhone the app dials; defaults to the `EXOPHONE` var.
    #[serde(default)]
    pub exophone: Option<String>,
    /// Name shown for calls; defaults to the user name.
    #[serde(default)]
    pub contact_display_name: Option<String>,
}

/// KV key of a user record.
pub fn user_key(user_name: &str) -> String {
    format!("user:{user_name}")
}

/// Whether a user name can be a KV key and a path segment.
pub fn valid_user_name(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && !u
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
}

/// `POST /login`.
#[derive(Clone, Deserialize)]
pub struct LoginRequest {
    /// User name.
    pub user_name: String,
    /// Password, checked against the hash and dropped.
    pub password: String,
    /// The account the app thinks it is in; must match ours when sent.
    #[serde(default)]
    pub account_sid: Option<String>,
    /// Android ID or iOS identifier, sent on to Exotel.
    #[serde(default)]
    pub device_id: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("user_name", &self.user_name)
            .field("password", &"<redacted>")
            .field("account_sid", &self.account_sid)
            .field("device_id", &self.device_id)
            .finish()
    }
}

/// The platform a device id implies: iOS identifiers are UUIDs, Android IDs
/// are 16 hex digits.
pub fn platform_of_device_id(device_id: &str) -> Platform {
    let groups: Vec<&str> = device_id.split('-').collect();
    let uuid = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if uuid {
        Platform::Ios
    } else {
        Platform::Android
    }
}

/// What `/login` answers on success: what both sample apps decode, plus our
/// `app_token` (the apps ignore keys they do not know).
#[derive(Debug, Clone, Serialize)]
pub struct LoginAnswer {
    /// 200.
    pub http_code: u16,
    /// Exotel's token object (`access_token`, `refresh_token`), passed through.
    pub subscriber_token: Value,
    /// The Exotel SDK host the app connects to.
    pub host_name: String,
    /// The account.
    pub account_sid: String,
    /// The SIP ExoPhone to dial.
    pub exophone: String,
    /// Display name.
    pub contact_display_name: String,
    /// The subscriber.
    pub subscriber_name: SubscriberName,
    /// The app credential for the other routes.
    pub app_token: String,
}

/// Exotel's subscriber-token URL.
pub fn subscriber_token_url(base: &str, account_sid: &str) -> String {
    format!(
        "{}/v2/accounts/{account_sid}/subscriber-token",
        base.trim_end_matches('/')
    )
}

/// The body sent to Exotel.
#[derive(Debug, Clone, Serialize)]
pub struct ExotelTokenRequest<'a> {
    /// `android` or `ios`.
    pub platform: Platform,
    /// The device.
    pub device_id: &'a str,
    /// The subscriber.
    pub subscriber_name: &'a SubscriberName,
}

/// Reads Exotel's answer: `{"http_code":200,"response":{"data":{"subscriber_token":{..}}}}`.
pub fn parse_exotel_token(status: u16, body: &str) -> Result<Value, AppError> {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = || {
        let r = &v["response"];
        r["error_data"]["description"]
            .as_str()
            .or_else(|| r["error_data"]["message"].as_str())
            .or_else(|| r["message"].as_str())
            .or_else(|| v["message"].as_str())
            .unwrap_or("no detail")
            .chars()
            .take(200)
            .collect::<String>()
    };
    match status {
        200 | 201 => {
            let t = &v["response"]["data"]["subscriber_token"];
            if t.is_null() {
                Err(AppError::ExotelFailed(
                    "answer lacks response.data.subscriber_token".into(),
                ))
            } else {
                Ok(t.clone())
            }
        }
        400 => Err(AppError::ExotelRejected(message())),
        401 | 403 => Err(AppError::ExotelUnauthorized),
        s => Err(AppError::ExotelFailed(format!("status {s}"))),
    }
}

/// `POST /v1/subscriber-token` (app token required).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubscriberTokenRequest {
    /// The device.
    pub device_id: String,
    /// `android`/`ios`; inferred from the device id when absent.
    #[serde(default)]
    pub platform: Option<String>,
}

/// Its answer.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriberTokenAnswer {
    /// 200.
    pub http_code: u16,
    /// The subscriber.
    pub subscriber_name: SubscriberName,
    /// Exotel's token object.
    pub subscriber_token: Value,
}

/// The sample apps' `devicetoken` body.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceTokenRequest {
    /// FCM token or PushKit VoIP token.
    #[serde(rename = "deviceToken")]
    pub device_token: String,
    /// Optional platform hint (not sent by the sample apps).
    #[serde(default)]
    pub platform: Option<String>,
}

/// The sample apps' context body.
#[derive(Debug, Clone, Deserialize)]
pub struct ContextRequest {
    /// Whom the user is calling: `sip:bob`, a number, or `wa:<number>`.
    #[serde(rename = "dialToNumber", default)]
    pub dial_to_number: String,
    /// Free text shown to the callee.
    #[serde(default)]
    pub message: String,
}

/// A stored context (in the user's Durable Object, see [`super::session`];
/// ignored after [`CONTEXT_TTL_SECS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRecord {
    /// Whom the user is calling.
    #[serde(rename = "dialToNumber")]
    pub dial_to_number: String,
    /// Free text.
    pub message: String,
    /// Epoch ms after which it is ignored.
    pub expires_ms: i64,
    /// The call Dial Whom answered from it: a context belongs to one call,
    /// so one left behind (the app died before deleting it) does not route
    /// the user's next call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_to: Option<String>,
}

impl ContextRecord {
    /// Validates a posted context.
    pub fn new(req: ContextRequest, now_ms: i64) -> Result<Self, AppError> {
        let d = req.dial_to_number.trim();
        if d.len() > 64 || req.message.len() > 1024 {
            return Err(AppError::BadRequest(
                "dialToNumber or message too long".into(),
            ));
        }
        Ok(Self {
            dial_to_number: d.to_owned(),
            message: req.message,
            expires_ms: now_ms + CONTEXT_TTL_SECS as i64 * 1000,
            served_to: None,
        })
    }

    /// Whether it still counts.
    pub fn live(&self, now_ms: i64) -> bool {
        now_ms < self.expires_ms
    }
}

/// The GET answer: `{dialToNumber, message, http_code}`.
#[derive(Debug, Clone, Serialize)]
pub struct ContextAnswer<'a> {
    /// 200.
    pub http_code: u16,
    /// Whom the user is calling.
    #[serde(rename = "dialToNumber")]
    pub dial_to_number: &'a str,
    /// Free text.
    pub message: &'a str,
}

/// The app user behind a Dial Whom `CallFrom` of `sip:<user>` (or
/// `sip:<user>@domain`); `None` for a phone number.
pub fn caller_user(call_from: &str) -> Option<String> {
    let rest = call_from.trim().strip_prefix("sip:")?;
    let user = rest.split('@').next().unwrap_or("");
    valid_user_name(user).then(|| user.to_owned())
}

/// What Dial Whom dials for a caller's context: `sip:bob` or a phone
/// number. `wa:` targets and anything unparsable give `None` (the configured
/// answer serves instead).
pub fn dial_target(dial_to: &str) -> Option<Numbers> {
    let d = dial_to.trim();
    if d.is_empty() || d.starts_with("wa:") {
        return None;
    }
    let dest = if let Some(user) = d.strip_prefix("sip:") {
        if !valid_user_name(user) {
            return None;
        }
        Destination::try_from(format!("sip:{user}")).ok()?
    } else {
        Destination::try_from(d).ok()?
    };
    Some(Numbers::one(dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims(exp: u64) -> AppClaims {
        AppClaims {
            user: "alice".into(),
            sub: SubscriberName::parse("alice").unwrap(),
            acct: "exotel13m2".into(),
            exp,
        }
    }

    #[test]
    fn app_token_round_trip_and_tamper() {
        let t = issue_app_token(SECRET, &claims(100)).unwrap();
        assert!(t.starts_with("eat1."));
        assert_eq!(verify_app_token(SECRET, &t, 99).unwrap(), claims(100));
        assert_eq!(
            verify_app_token(SECRET, &t, 100),
            Err(AppError::Unauthenticated)
        );
        let other = b"ffffffffffffffffffffffffffffffff";
        assert_eq!(
            verify_app_token(other, &t, 1),
            Err(AppError::Unauthenticated)
        );
        // swap the claims for others signed by nobody
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(u64::MAX)).unwrap());
        let tag = t.rsplit_once('.').unwrap().1;
        assert_eq!(
            verify_app_token(SECRET, &format!("eat1.{forged_body}.{tag}"), 1),
            Err(AppError::Unauthenticated)
        );
        assert!(issue_app_token(b"short", &claims(1)).is_none());
        assert!(matches!(
            verify_app_token(b"short", &t, 1),
            Err(AppError::NotConfigured(_))
        ));
        assert_eq!(app_bearer(Some(&format!("Bearer {t}"))), Some(t.as_str()));
        assert_eq!(app_bearer(Some("Bearer eyJhbGciOi.x.y")), None);
        assert_eq!(app_bearer(None), None);
    }

    #[test]
    fn password_records() {
        let rec = PasswordHash {
            alg: "pbkdf2-sha256".into(),
            iterations: 100_000,
            salt: STANDARD.encode([7u8; 16]),
            hash: STANDARD.encode([9u8; 32]),
        };
        let p = rec.params().unwrap();
        assert_eq!((p.salt.len(), p.iterations, p.bits), (16, 100_000, 256));
        assert!(rec.matches(&[9u8; 32]));
        assert!(!rec.matches(&[9u8; 31]));
        assert!(!rec.matches(&[8u8; 32]));
        assert!(PasswordHash {
            iterations: 1000,
            ..rec.clone()
        }
        .params()
        .is_err());
        assert!(PasswordHash {
            alg: "md5".into(),
            ..rec.clone()
        }
        .params()
        .is_err());
        let u: UserRecord = serde_json::from_value(serde_json::json!({"password": rec})).unwrap();
        assert_eq!(u.subscriber_name, None);
    }

    #[test]
    fn exotel_answers() {
        let ok = r#"{"request_id":"r","method":"POST","http_code":200,"response":{"code":200,"error_data":null,"status":"success","data":{"subscriber_name":"archit","subscriber_token":{"refresh_token":"r.t","access_token":"a.t"}}}}"#;
        assert_eq!(parse_exotel_token(200, ok).unwrap()["access_token"], "a.t");
        let bad = r#"{"http_code":400,"response":{"code":400,"status":"failure","error_data":{"code":1001,"description":"Invalid subscriber_name"}}}"#;
        assert_eq!(
            parse_exotel_token(400, bad),
            Err(AppError::ExotelRejected("Invalid subscriber_name".into()))
        );
        assert_eq!(
            parse_exotel_token(401, "{}"),
            Err(AppError::ExotelUnauthorized)
        );
        assert_eq!(
            parse_exotel_token(500, ""),
            Err(AppError::ExotelFailed("status 500".into()))
        );
        assert!(matches!(
            parse_exotel_token(200, "{}"),
            Err(AppError::ExotelFailed(_))
        ));
        assert_eq!(AppError::ExotelRejected("x".into()).status(), 422);
        assert_eq!(
            subscriber_token_url("https://x/", "sid"),
            "https://x/v2/accounts/sid/subscriber-token"
        );
        let v: Value = serde_json::from_str(&AppError::BadCredentials.reply().body).unwrap();
        assert_eq!(v["http_code"], 403);
        // where the apps display `message`, our text goes elsewhere
        let v: Value =
            serde_json::from_str(&AppError::NotFound("context").quiet_reply().body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"http_code": 404, "message": "", "error": "not found: context"})
        );
        assert_eq!(AppError::NoLoginWindow.status(), 401);
        assert_eq!(SampleAppMode::parse(""), (SampleAppMode::Narrow, false));
        assert_eq!(SampleAppMode::parse("OFF"), (SampleAppMode::Off, false));
        assert_eq!(SampleAppMode::parse("open"), (SampleAppMode::Narrow, true));
    }

    #[test]
    fn context_and_dial_whom() {
        assert_eq!(caller_user("sip:alice"), Some("alice".into()));
        assert_eq!(caller_user("sip:alice@exotel.in"), Some("alice".into()));
        assert_eq!(caller_user("09900112233"), None);
        assert_eq!(
            dial_target("sip:bob").unwrap().as_slice()[0].as_str(),
            "sip:bob"
        );
        assert_eq!(
            dial_target("09812345678").unwrap().as_slice()[0].as_str(),
            "+919812345678"
        );
        assert_eq!(dial_target("wa:09812345678"), None);
        assert_eq!(dial_target(""), None);
        assert_eq!(dial_target("sip:a b"), None);
        let c = ContextRecord::new(
            ContextRequest {
                dial_to_number: " sip:bob ".into(),
                message: "hi".into(),
            },
            1000,
        )
        .unwrap();
        assert_eq!(c.dial_to_number, "sip:bob");
        assert!(c.live(1000 + CONTEXT_TTL_SECS as i64 * 1000 - 1));
        assert!(!c.live(1000 + CONTEXT_TTL_SECS as i64 * 1000));
        assert_eq!(platform_of_device_id("2fc4b5912826ad1"), Platform::Android);
        assert_eq!(
            platform_of_device_id("E621E1F8-C36C-495A-93FC-0C247A3E6E5F"),
            Platform::Ios
        );
    }
}
