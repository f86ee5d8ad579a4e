//! APNs VoIP pushes: what the worker asks proto-gateway to send, and the
//! request proto-gateway makes to APNs (`POST /3/device/<token>` over
//! HTTP/2, which a Worker's fetch cannot speak).

use serde::{Deserialize, Serialize};

use super::body::PushBody;
use super::PushOutcome;

/// APNs development host.
pub const SANDBOX_HOST: &str = "https://api.sandbox.push.apple.com";

/// APNs production host.
pub const PRODUCTION_HOST: &str = "https://api.push.apple.com";

/// Seconds APNs keeps trying: like FCM's TTL, a late call push is useless.
pub const EXPIRATION_SECS: u64 = 30;

/// Path of the gateway endpoint the worker calls.
pub const RELAY_PATH: &str = "/v1/apns/voip";

/// Worker → gateway: one VoIP push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayRequest {
    /// The PushKit token (hex).
    pub device_token: String,
    /// Who the call is for.
    #[serde(rename = "subscriberName")]
    pub subscriber_name: String,
    /// Opaque call data.
    pub payload: String,
    /// Payload scheme version.
    #[serde(rename = "payloadVersion")]
    pub payload_version: String,
}

impl RelayRequest {
    /// The request for one device.
    pub fn new(device_token: &str, body: &PushBody) -> Self {
        Self {
            device_token: device_token.to_owned(),
            subscriber_name: body.subscriber_name.as_str().to_owned(),
            payload: body.payload.clone(),
            payload_version: body.payload_version.clone(),
        }
    }

    /// The APNs body: the three keys at the top level, where the iOS app's
    /// PushKit handler reads them (no `aps` dictionary: a VoIP push shows
    /// nothing by itself, the app reports the call to CallKit).
    pub fn apns_body(&self) -> ApnsBody<'_> {
        ApnsBody {
            subscriber_name: &self.subscriber_name,
            payload: &self.payload,
            payload_version: &self.payload_version,
        }
    }

    /// Whether the token can be put in a URL path as is.
    pub fn token_is_valid(&self) -> bool {
        !self.device_token.is_empty()
            && self.device_token.len() <= 200
            && self.device_token.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// The JSON APNs receives.
#[derive(Debug, Clone, Serialize)]
pub struct ApnsBody<'a> {
    /// Who the call is for.
    #[serde(rename = "subscriberName")]
    pub subscriber_name: &'a str,
    /// Opaque call data.
    pub payload: &'a str,
    /// Payload scheme version.
    #[serde(rename = "payloadVersion")]
    pub payload_version: &'a str,
}

/// `/3/device/<token>`.
pub fn device_path(token: &str) -> String {
    format!("/3/device/{token}")
}

/// The request headers besides `authorization: bearer <provider token>`.
pub fn headers(bundle_id: &str, now_secs: u64) -> [(&'static str, String); 4] {
    [
        ("apns-push-type", "voip".to_owned()),
        (
            "apns-topic",
            format!("{}.voip", bundle_id.trim_end_matches(".voip")),
        ),
        ("apns-priority", "10".to_owned()),
        ("apns-expiration", (now_secs + EXPIRATION_SECS).to_string()),
    ]
}

/// What an APNs answer means: 410, or 400 `BadDeviceToken` /
/// `DeviceTokenNotForTopic`, means the token is dead for this app.
pub fn classify(status: u16, body: &str) -> PushOutcome {
    if status == 200 {
        return PushOutcome::Accepted;
    }
    let reason = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["reason"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let dead = status == 410
        || (status == 400
            && matches!(reason.as_str(), "BadDeviceToken" | "DeviceTokenNotForTopic"));
    if dead {
        PushOutcome::Unregistered
    } else {
        PushOutcome::Failed {
            reason: format!("apns {status} {reason}").trim_end().to_owned(),
        }
    }
}

/// Gateway → worker: the outcome, in the worker's own terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayAnswer {
    /// What happened.
    #[serde(flatten)]
    pub delivery: PushOutcome,
    /// APNs' `apns-id`, for tracing a push in Apple's console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apns_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voip_headers_and_body() {
        let h = headers("in.exotel.app", 1000);
        assert_eq!(h[0], ("apns-push-type", "voip".into()));
        assert_eq!(h[1], ("apns-topic", "in.exotel.app.voip".into()));
        assert_eq!(headers("in.exotel.app.voip", 0)[1].1, "in.exotel.app.voip");
        assert_eq!(h[2], ("apns-priority", "10".into()));
        assert_eq!(h[3], ("apns-expiration", "1030".into()));
        let r = RelayRequest {
            device_token: "ab".repeat(32),
            subscriber_name: "bob".into(),
            payload: "p".into(),
            payload_version: "1".into(),
        };
        assert!(r.token_is_valid());
        assert_eq!(
            serde_json::to_value(r.apns_body()).unwrap(),
            serde_json::json!({"subscriberName":"bob","payload":"p","payloadVersion":"1"})
        );
        assert_eq!(device_path("ab"), "/3/device/ab");
        assert!(!RelayRequest {
            device_token: "../x".into(),
            ..r
        }
        .token_is_valid());
    }

    #[test]
    fn apns_classification() {
        assert_eq!(classify(200, ""), PushOutcome::Accepted);
        assert_eq!(
            classify(410, r#"{"reason":"Unregistered"}"#),
            PushOutcome::Unregistered
        );
        assert_eq!(
            classify(400, r#"{"reason":"BadDeviceToken"}"#),
            PushOutcome::Unregistered
        );
        assert_eq!(
            classify(400, r#"{"reason":"BadTopic"}"#),
            PushOutcome::Failed {
                reason: "apns 400 BadTopic".into()
            }
        );
        assert_eq!(
            classify(403, r#"{"reason":"ExpiredProviderToken"}"#),
            PushOutcome::Failed {
                reason: "apns 403 ExpiredProviderToken".into()
            }
        );
    }

    #[test]
    fn answer_wire_form() {
        let a = RelayAnswer {
            delivery: PushOutcome::Unregistered,
            apns_id: None,
        };
        let s = serde_json::to_string(&a).unwrap();
        assert_eq!(s, r#"{"outcome":"unregistered"}"#);
        assert_eq!(serde_json::from_str::<RelayAnswer>(&s).unwrap(), a);
        let f: RelayAnswer =
            serde_json::from_str(r#"{"outcome":"failed","reason":"apns 500","apns_id":"x"}"#)
                .unwrap();
        assert_eq!(
            f.delivery,
            PushOutcome::Failed {
                reason: "apns 500".into()
            }
        );
    }
}
