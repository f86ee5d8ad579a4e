//! FCM HTTP v1 (`POST {base}/v1/projects/{project}/messages:send`): the
//! service account, the access-token cache rule, the message, and what the
//! answer means for the registry.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body::PushBody;
use super::devices::Platform;
use super::PushOutcome;

/// FCM's production host; tests point the `FCM_BASE_URL` var elsewhere.
pub const DEFAULT_BASE_URL: &str = "https://fcm.googleapis.com";

/// Google's token endpoint, used when the key file names none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// How long FCM keeps trying to deliver. A call rings for under a minute;
/// a push that arrives later only shows a missed-call ghost.
pub const TTL: &str = "30s";

/// An access token is renewed this long before it expires, so a push never
/// goes out with one that lapses in flight.
pub const REFRESH_MARGIN_MS: i64 = 5 * 60 * 1000;

/// The fields of a Google service-account key file that are used.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    /// The Firebase project.
    pub project_id: String,
    /// PKCS#8 PEM of the RSA key.
    pub private_key: String,
    /// Key id, sent as the JWT `kid`.
    #[serde(default)]
    pub private_key_id: Option<String>,
    /// The account, the JWT `iss`.
    pub client_email: String,
    /// The token endpoint, the JWT `aud`.
    #[serde(default)]
    pub token_uri: Option<String>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads the key file JSON (the `FCM_SERVICE_ACCOUNT` secret).
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }

    /// The token endpoint.
    pub fn token_uri(&self) -> &str {
        self.token_uri
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_TOKEN_URI)
    }
}

/// The form body that exchanges a signed assertion for an access token.
pub fn token_request_body(assertion: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
        .append_pair("assertion", assertion)
        .finish()
}

/// Google's token answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Seconds it lives (3599 in practice).
    pub expires_in: u64,
}

/// An access token and when to stop using it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedToken {
    /// The bearer token.
    pub token: String,
    /// Epoch ms after which a new one is fetched ([`REFRESH_MARGIN_MS`] early).
    pub renew_at_ms: i64,
}

impl CachedToken {
    /// Caches a token received at `now_ms`.
    pub fn new(r: TokenResponse, now_ms: i64) -> Self {
        let life = i64::try_from(r.expires_in)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        // A very short life still caches for half of it rather than never.
        let renew_at_ms = now_ms.saturating_add((life - REFRESH_MARGIN_MS).max(life / 2));
        Self {
            token: r.access_token,
            renew_at_ms,
        }
    }

    /// Whether it may still be sent.
    pub fn fresh(&self, now_ms: i64) -> bool {
        now_ms < self.renew_at_ms
    }
}

/// `messages:send` URL.
pub fn send_url(base: &str, project_id: &str) -> String {
    format!(
        "{}/v1/projects/{project_id}/messages:send",
        base.trim_end_matches('/')
    )
}

/// The request body FCM receives.
#[derive(Debug, Clone, Serialize)]
pub struct SendRequest<'a> {
    /// The one message.
    pub message: Message<'a>,
}

/// A data-only message: no `notification`, so the app's own code runs and
/// rings (Android's `onMessageReceived`; iOS's
/// `application(_:didReceiveRemoteNotification:fetchCompletionHandler:)`).
#[derive(Debug, Clone, Serialize)]
pub struct Message<'a> {
    /// The device's registration token.
    pub token: &'a str,
    /// Exactly the three keys the app reads.
    pub data: &'a PushBody,
    /// Delivery options for an Android device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub android: Option<AndroidConfig>,
    /// Delivery options for an iPhone that registered an FCM token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apns: Option<ApnsConfig>,
}

/// The Android delivery options.
#[derive(Debug, Clone, Serialize)]
pub struct AndroidConfig {
    /// `HIGH`: wakes the device from Doze at once.
    pub priority: &'static str,
    /// Give up after this long.
    pub ttl: &'static str,
}

/// What FCM forwards to APNs for an iPhone: a background notification, the
/// only kind that wakes the app with data and no alert. Apple requires
/// `apns-push-type: background`, `apns-priority: 5` and
/// `content-available: 1` for it (FCM rejects a data message to an Apple
/// device at priority 10 with `INVALID_ARGUMENT`).
#[derive(Debug, Clone, Serialize)]
pub struct ApnsConfig {
    /// APNs request headers.
    pub headers: ApnsHeaders,
    /// The `aps` dictionary; the data keys are added by FCM at the top level.
    pub payload: ApnsPayload,
}

/// The APNs headers FCM passes on.
#[derive(Debug, Clone, Serialize)]
pub struct ApnsHeaders {
    /// `background`.
    #[serde(rename = "apns-push-type")]
    pub push_type: &'static str,
    /// `5`, as background notifications must be.
    #[serde(rename = "apns-priority")]
    pub priority: &'static str,
    /// Epoch seconds after which APNs drops it: the same 30 s as Android's `ttl`.
    #[serde(rename = "apns-expiration")]
    pub expiration: String,
}

/// `{"aps": {"content-available": 1}}`.
#[derive(Debug, Clone, Serialize)]
pub struct ApnsPayload {
    /// The `aps` dictionary.
    pub aps: Aps,
}

/// The `aps` dictionary of a background notification.
#[derive(Debug, Clone, Serialize)]
pub struct Aps {
    /// 1: wake the app in the background.
    #[serde(rename = "content-available")]
    pub content_available: u8,
}

/// Seconds [`TTL`] stands for.
pub const TTL_SECS: u64 = 30;

/// The message for one device of `platform`, sent at `now_secs`.
pub fn message<'a>(
    token: &'a str,
    body: &'a PushBody,
    platform: Platform,
    now_secs: u64,
) -> SendRequest<'a> {
    let (android, apns) = match platform {
        Platform::Android => (
            Some(AndroidConfig {
                priority: "HIGH",
                ttl: TTL,
            }),
            None,
        ),
        Platform::Ios => (
            None,
            Some(ApnsConfig {
                headers: ApnsHeaders {
                    push_type: "background",
                    priority: "5",
                    expiration: (now_secs + TTL_SECS).to_string(),
                },
                payload: ApnsPayload {
                    aps: Aps {
                        content_available: 1,
                    },
                },
            }),
        ),
    };
    SendRequest {
        message: Message {
            token,
            data: body,
            android,
            apns,
        },
    }
}

/// What an FCM answer means. A 404 `UNREGISTERED`, or a 400
/// `INVALID_ARGUMENT` about the token, means the token will never work again.
pub fn classify(status: u16, body: &str) -> PushOutcome {
    if (200..300).contains(&status) {
        return PushOutcome::Accepted;
    }
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let err = &v["error"];
    let status_text = err["status"].as_str().unwrap_or("");
    let message = err["message"].as_str().unwrap_or("");
    let details = err["details"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let error_code = details
        .iter()
        .find_map(|d| d["errorCode"].as_str())
        .unwrap_or("");
    let token_field = details.iter().any(|d| {
        d["fieldViolations"].as_array().is_some_and(|fv| {
            fv.iter()
                .any(|f| f["field"].as_str() == Some("message.token"))
        })
    });
    let about_token = token_field || message.to_ascii_lowercase().contains("registration token");
    let unregistered = (status == 404
        && (error_code == "UNREGISTERED" || status_text == "NOT_FOUND"))
        || (status == 400
            && (error_code == "INVALID_ARGUMENT" || status_text == "INVALID_ARGUMENT")
            && about_token);
    if unregistered {
        return PushOutcome::Unregistered;
    }
    let code = if error_code.is_empty() {
        status_text
    } else {
        error_code
    };
    PushOutcome::Failed {
        reason: format!("fcm {status} {code}").trim_end().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::subscriber::SubscriberName;

    fn body() -> PushBody {
        PushBody {
            subscriber_name: SubscriberName::parse("bob").unwrap(),
            payload: "p-data".into(),
            payload_version: "2".into(),
        }
    }

    #[test]
    fn the_exact_message() {
        let b = body();
        let v = serde_json::to_value(message("tok-1", &b, Platform::Android, 1_000)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"message": {
                "token": "tok-1",
                "data": {"subscriberName": "bob", "payload": "p-data", "payloadVersion": "2"},
                "android": {"priority": "HIGH", "ttl": "30s"}
            }})
        );
        assert!(v["message"].get("notification").is_none());
        // An iPhone's FCM token: the same data, woken as a background notification.
        let v = serde_json::to_value(message("tok-2", &b, Platform::Ios, 1_000)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"message": {
                "token": "tok-2",
                "data": {"subscriberName": "bob", "payload": "p-data", "payloadVersion": "2"},
                "apns": {
                    "headers": {"apns-push-type": "background", "apns-priority": "5", "apns-expiration": "1030"},
                    "payload": {"aps": {"content-available": 1}}
                }
            }})
        );
        assert_eq!(
            send_url("https://fcm.googleapis.com/", "proj-1"),
            "https://fcm.googleapis.com/v1/projects/proj-1/messages:send"
        );
    }

    #[test]
    fn classification() {
        assert_eq!(
            classify(200, r#"{"name":"projects/p/messages/1"}"#),
            PushOutcome::Accepted
        );
        let unreg = r#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
        assert_eq!(classify(404, unreg), PushOutcome::Unregistered);
        let bad_token = r#"{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}"#;
        assert_eq!(classify(400, bad_token), PushOutcome::Unregistered);
        // INVALID_ARGUMENT about something else keeps the token
        let bad_ttl = r#"{"error":{"code":400,"message":"Invalid value at 'message.android.ttl'","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.android.ttl"}]}]}}"#;
        assert_eq!(
            classify(400, bad_ttl),
            PushOutcome::Failed {
                reason: "fcm 400 INVALID_ARGUMENT".into()
            }
        );
        assert_eq!(
            classify(503, "oops"),
            PushOutcome::Failed {
                reason: "fcm 503".into()
            }
        );
        let quota = r#"{"error":{"status":"RESOURCE_EXHAUSTED","details":[{"errorCode":"QUOTA_EXCEEDED"}]}}"#;
        assert_eq!(
            classify(429, quota),
            PushOutcome::Failed {
                reason: "fcm 429 QUOTA_EXCEEDED".into()
            }
        );
    }

    #[test]
    fn token_cache_rule() {
        let t = CachedToken::new(
            TokenResponse {
                access_token: "a".into(),
                expires_in: 3599,
            },
            1000,
        );
        assert!(t.fresh(1000 + 3_599_000 - REFRESH_MARGIN_MS - 1));
        assert!(!t.fresh(1000 + 3_599_000 - REFRESH_MARGIN_MS));
        let short = CachedToken::new(
            TokenResponse {
                access_token: "a".into(),
                expires_in: 60,
            },
            0,
        );
        assert!(short.fresh(29_999) && !short.fresh(30_000));
        assert_eq!(
            token_request_body("a.b.c"),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c"
        );
    }

    #[test]
    fn key_file() {
        let sa = ServiceAccount::from_json(
            r#"{"type":"service_account","project_id":"p","private_key_id":"k","private_key":"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n","client_email":"a@b","token_uri":"https://oauth2.googleapis.com/token"}"#,
        )
        .unwrap();
        assert_eq!(sa.token_uri(), DEFAULT_TOKEN_URI);
        assert!(!format!("{sa:?}").contains("PRIVATE"));
    }
}
