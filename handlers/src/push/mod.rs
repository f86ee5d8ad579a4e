//! The mobile push relay and the app backend around it.
//!
//! When a call arrives for an app user, Exotel POSTs `subscriberName`,
//! `payload` and `payloadVersion` to the push URL (seed 5687-5720) and counts
//! only a 200 as delivered. The worker reads the body ([`body`]), looks up
//! the subscriber's devices ([`devices`]), sends one data-only,
//! high-priority push per device (FCM from the worker: [`fcm`]; APNs VoIP
//! through proto-gateway: [`apns`]), removes tokens the provider reports dead,
//! and answers with [`answer`].
//!
//! The rest serves the phone: subscriber names ([`subscriber`]), provider
//! JWTs ([`jwt`]), the backend Exotel's sample apps expect plus the app
//! credential that guards it ([`app_api`]), the login sessions and call
//! contexts kept per user ([`session`]), and the contacts tab ([`contacts`]).

use serde::{Deserialize, Serialize};

use crate::reply::Reply;

pub mod apns;
pub mod app_api;
pub mod body;
pub mod contacts;
pub mod devices;
pub mod fcm;
pub mod jwt;
pub mod session;
pub mod subscriber;

use devices::Platform;
use subscriber::SubscriberName;

/// What a provider did with one push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum PushOutcome {
    /// Taken for delivery.
    Accepted,
    /// The token is dead: remove it from the registry.
    Unregistered,
    /// Not taken, for a reason that may pass (quota, outage, our config).
    Failed {
        /// Provider status and error code; never a token or a number.
        reason: String,
    },
}

/// One device's outcome, for the answer and the logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceOutcome {
    /// The device.
    pub device_id: String,
    /// Its provider.
    pub platform: Platform,
    /// What happened.
    #[serde(flatten)]
    pub delivery: PushOutcome,
}

/// The push URL's JSON answer.
#[derive(Debug, Clone, Serialize)]
pub struct PushAnswer<'a> {
    /// `delivered`, `refused`, `unknown_subscriber` or `no_device`.
    pub status: &'static str,
    /// The subscriber.
    #[serde(rename = "subscriberName")]
    pub subscriber_name: &'a str,
    /// Devices whose provider accepted the push.
    pub accepted: usize,
    /// Devices removed because their token is dead.
    pub removed: usize,
    /// Per device.
    pub devices: &'a [DeviceOutcome],
}

/// The answer to Exotel: 200 only when at least one provider took the push,
/// else 502 (every provider refused: Exotel's failure handling applies).
pub fn answer(subscriber: &SubscriberName, outcomes: &[DeviceOutcome]) -> Reply {
    let accepted = outcomes
        .iter()
        .filter(|o| o.delivery == PushOutcome::Accepted)
        .count();
    let removed = outcomes
        .iter()
        .filter(|o| o.delivery == PushOutcome::Unregistered)
        .count();
    let (status, label) = if accepted > 0 {
        (200, "delivered")
    } else {
        (502, "refused")
    };
    Reply::json_status(
        status,
        &PushAnswer {
            status: label,
            subscriber_name: subscriber.as_str(),
            accepted,
            removed,
            devices: outcomes,
        },
    )
}

/// 404: no record for this subscriber (never registered a device).
pub fn unknown_subscriber(subscriber: &SubscriberName) -> Reply {
    Reply::json_status(
        404,
        &PushAnswer {
            status: "unknown_subscriber",
            subscriber_name: subscriber.as_str(),
            accepted: 0,
            removed: 0,
            devices: &[],
        },
    )
}

/// 410: the subscriber is known but has no live device left.
pub fn no_device(subscriber: &SubscriberName) -> Reply {
    Reply::json_status(
        410,
        &PushAnswer {
            status: "no_device",
            subscriber_name: subscriber.as_str(),
            accepted: 0,
            removed: 0,
            devices: &[],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(id: &str, d: PushOutcome) -> DeviceOutcome {
        DeviceOutcome {
            device_id: id.into(),
            platform: Platform::Android,
            delivery: d,
        }
    }

    #[test]
    fn status_follows_acceptance() {
        let bob = SubscriberName::parse("bob").unwrap();
        let r = answer(
            &bob,
            &[
                o("a", PushOutcome::Unregistered),
                o("b", PushOutcome::Accepted),
            ],
        );
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["accepted"], 1);
        assert_eq!(v["removed"], 1);
        assert_eq!(
            v["devices"][0],
            serde_json::json!({"device_id":"a","platform":"android","outcome":"unregistered"})
        );
        let r = answer(
            &bob,
            &[
                o(
                    "a",
                    PushOutcome::Failed {
                        reason: "fcm 503".into(),
                    },
                ),
                o("b", PushOutcome::Unregistered),
            ],
        );
        assert_eq!(r.status, 502);
        assert_eq!(answer(&bob, &[]).status, 502);
        assert_eq!(unknown_subscriber(&bob).status, 404);
        assert_eq!(no_device(&bob).status, 410);
    }
}
