//! The device registry: which push tokens reach a subscriber. One record per
//! subscriber (KV key [`key`]), holding at most [`MAX_DEVICES`] devices.
//!
//! Changes are applied one after another by the subscriber's Durable Object
//! (see [`super::session::RegistryState`]), which mirrors the record to KV
//! for the push path to read.

use serde::{Deserialize, Serialize};

use super::subscriber::SubscriberName;

/// Most devices kept per subscriber; registering one more drops the least
/// recently registered, so a reinstalled phone cannot grow the record forever.
pub const MAX_DEVICES: usize = 5;

/// Longest push token accepted (FCM tokens are ~160 bytes, APNs 64 hex).
pub const MAX_TOKEN_LEN: usize = 4096;

/// Longest device id accepted.
pub const MAX_DEVICE_ID_LEN: usize = 128;

/// KV key of a subscriber's record.
pub fn key(subscriber: &SubscriberName) -> String {
    format!("dev:{subscriber}")
}

/// The phone's operating system. Which provider carries a push follows
/// from it and the token's shape ([`Device::transport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Android: always FCM, sent by the worker itself.
    Android,
    /// iOS: an FCM token (the published sample app) goes through FCM with
    /// an `apns` block; a PushKit VoIP token goes to APNs through proto-gateway.
    Ios,
}

/// Which provider delivers to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// FCM HTTP v1 from the worker (Android, and iPhones with an FCM token).
    Fcm,
    /// APNs VoIP (PushKit) through proto-gateway's HTTP/2 relay.
    ApnsVoip,
}

impl Platform {
    /// Reads `android`/`ios` in any case (also `fcm`/`apns`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "android" | "fcm" => Some(Self::Android),
            "ios" | "apns" | "voip" => Some(Self::Ios),
            _ => None,
        }
    }
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// Empty, too long, or with whitespace/control characters.
    #[error("push token is empty, longer than 4096 bytes, or contains whitespace")]
    BadToken,
    /// Empty or too long.
    #[error("device_id is empty or longer than 128 bytes")]
    BadDeviceId,
    /// A platform hint we do not know.
    #[error("platform must be android or ios, not {0:?}")]
    BadPlatform(String),
}

/// A PushKit VoIP token as the iOS app sends it: 32 bytes as 64 hex digits.
pub fn is_pushkit_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The platform of a token: the hint when given, else iOS for a PushKit
/// token and Android (FCM) for anything else.
pub fn infer_platform(token: &str, hint: Option<&str>) -> Result<Platform, DeviceError> {
    sample_app_platform(token, hint, Platform::Android)
}

/// The platform of a sample app's `devicetoken`: the hint when given, iOS
/// for a PushKit token (no FCM token is 64 hex digits), else `known`: the
/// platform of the login it belongs to. FCM tokens of iPhones and Android
/// phones look alike, so only the login's device id tells them apart.
pub fn sample_app_platform(
    token: &str,
    hint: Option<&str>,
    known: Platform,
) -> Result<Platform, DeviceError> {
    match hint.map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => Platform::parse(h).ok_or_else(|| DeviceError::BadPlatform(h.to_owned())),
        None if is_pushkit_token(token) => Ok(Platform::Ios),
        None => Ok(known),
    }
}

fn check_token(token: &str) -> Result<(), DeviceError> {
    let bad = token.is_empty()
        || token.len() > MAX_TOKEN_LEN
        || token.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        Err(DeviceError::BadToken)
    } else {
        Ok(())
    }
}

/// One registered device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The app's id for the device (Android ID, iOS identifier, or a slot
    /// name for registrations that carry none).
    pub device_id: String,
    /// Which provider delivers to it.
    pub platform: Platform,
    /// The provider's token for it.
    pub token: String,
    /// When it was registered, ms since the epoch.
    pub registered_ms: i64,
}

impl Device {
    /// Validates a registration.
    pub fn new(
        device_id: &str,
        platform: Platform,
        token: &str,
        now_ms: i64,
    ) -> Result<Self, DeviceError> {
        let device_id = device_id.trim();
        if device_id.is_empty()
            || device_id.len() > MAX_DEVICE_ID_LEN
            || device_id.chars().any(char::is_control)
        {
            return Err(DeviceError::BadDeviceId);
        }
        let token = token.trim();
        check_token(token)?;
        Ok(Self {
            device_id: device_id.to_owned(),
            platform,
            token: token.to_owned(),
            registered_ms: now_ms,
        })
    }

    /// The provider for this device: APNs VoIP for an iPhone's PushKit
    /// token, FCM for everything else.
    pub fn transport(&self) -> Transport {
        match self.platform {
            Platform::Ios if is_pushkit_token(&self.token) => Transport::ApnsVoip,
            _ => Transport::Fcm,
        }
    }

    /// The device id the sample apps' `devicetoken` call implies: it carries
    /// no device id, so each platform has one slot per subscriber.
    pub fn sample_app_slot(platform: Platform) -> &'static str {
        match platform {
            Platform::Android => "sample-app-android",
            Platform::Ios => "sample-app-ios",
        }
    }
}

/// A subscriber's devices, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceList {
    /// Devices, oldest registration first.
    pub devices: Vec<Device>,
}

impl DeviceList {
    /// Adds or replaces a device. The same device id, or the same token under
    /// another id, is replaced; past [`MAX_DEVICES`] the oldest is dropped.
    pub fn upsert(&mut self, d: Device) {
        self.devices
            .retain(|x| x.device_id != d.device_id && x.token != d.token);
        self.devices.push(d);
        if self.devices.len() > MAX_DEVICES {
            let excess = self.devices.len() - MAX_DEVICES;
            self.devices.drain(..excess);
        }
    }

    /// Removes a device by id; whether it was there.
    pub fn remove_device(&mut self, device_id: &str) -> bool {
        let before = self.devices.len();
        self.devices.retain(|x| x.device_id != device_id);
        before != self.devices.len()
    }

    /// Removes every device holding one of these tokens; how many went.
    pub fn remove_tokens<S: AsRef<str>>(&mut self, tokens: &[S]) -> usize {
        let before = self.devices.len();
        self.devices
            .retain(|x| !tokens.iter().any(|t| t.as_ref() == x.token));
        before - self.devices.len()
    }
}

/// `POST /v1/devices`.
#[derive(Debug, Clone, Deserialize)]
pub struct RegisterRequest {
    /// Must be the subscriber the app token names.
    pub subscriber: SubscriberName,
    /// `android` or `ios`; inferred from the token when absent.
    #[serde(default)]
    pub platform: Option<String>,
    /// The FCM registration token or the PushKit VoIP token.
    #[serde(alias = "token")]
    pub push_token: String,
    /// The app's device id.
    pub device_id: String,
}

impl RegisterRequest {
    /// The device this registers.
    pub fn device(&self, now_ms: i64) -> Result<Device, DeviceError> {
        let platform = infer_platform(self.push_token.trim(), self.platform.as_deref())?;
        Device::new(&self.device_id, platform, &self.push_token, now_ms)
    }
}

/// What registration answers.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    /// Always present, as the sample apps read it.
    pub http_code: u16,
    /// The subscriber.
    pub subscriber: SubscriberName,
    /// The device id stored.
    pub device_id: String,
    /// The platform stored (inferred or given).
    pub platform: Platform,
    /// How many devices the subscriber now has.
    pub devices: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    const IOS: &str = "a3f1c2d4e5b6a7980123456789abcdef0123456789ABCDEF0123456789abcdef";
    const FCM: &str = "dQw4w9WgXcQ:APA91bH-very_long_fcm_registration_token-0123456789";

    #[test]
    fn platform_inference() {
        assert!(is_pushkit_token(IOS));
        assert_eq!(infer_platform(IOS, None), Ok(Platform::Ios));
        assert_eq!(infer_platform(FCM, None), Ok(Platform::Android));
        assert_eq!(infer_platform(&IOS[..63], None), Ok(Platform::Android));
        assert_eq!(
            infer_platform(&format!("{}g", &IOS[..63]), None),
            Ok(Platform::Android)
        );
        assert_eq!(infer_platform(IOS, Some("Android")), Ok(Platform::Android));
        assert_eq!(infer_platform(FCM, Some(" iOS ")), Ok(Platform::Ios));
        assert_eq!(infer_platform(FCM, Some("")), Ok(Platform::Android));
        assert_eq!(
            infer_platform(FCM, Some("web")),
            Err(DeviceError::BadPlatform("web".into()))
        );
        // An iPhone's FCM token is iOS because its login said so.
        assert_eq!(
            sample_app_platform(FCM, None, Platform::Ios),
            Ok(Platform::Ios)
        );
        assert_eq!(
            sample_app_platform(IOS, None, Platform::Android),
            Ok(Platform::Ios)
        );
    }

    #[test]
    fn transport_follows_platform_and_token() {
        let d = |p, t: &str| Device::new("d", p, t, 1).unwrap().transport();
        assert_eq!(d(Platform::Android, FCM), Transport::Fcm);
        assert_eq!(d(Platform::Ios, FCM), Transport::Fcm);
        assert_eq!(d(Platform::Ios, IOS), Transport::ApnsVoip);
        // An iPhone's FCM token and an Android token of one subscriber are two devices.
        let mut l = DeviceList::default();
        l.upsert(
            Device::new(
                Device::sample_app_slot(Platform::Ios),
                Platform::Ios,
                FCM,
                1,
            )
            .unwrap(),
        );
        l.upsert(
            Device::new(
                Device::sample_app_slot(Platform::Android),
                Platform::Android,
                "fcm-android",
                2,
            )
            .unwrap(),
        );
        assert_eq!(l.devices.len(), 2);
    }

    #[test]
    fn device_validation() {
        assert!(Device::new("d1", Platform::Android, FCM, 1).is_ok());
        assert_eq!(
            Device::new("", Platform::Android, FCM, 1),
            Err(DeviceError::BadDeviceId)
        );
        assert_eq!(
            Device::new("d1", Platform::Android, "", 1),
            Err(DeviceError::BadToken)
        );
        assert_eq!(
            Device::new("d1", Platform::Android, "a b", 1),
            Err(DeviceError::BadToken)
        );
        let long = "x".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            Device::new("d1", Platform::Android, &long, 1),
            Err(DeviceError::BadToken)
        );
    }

    #[test]
    fn upsert_replaces_and_bounds() {
        let mut l = DeviceList::default();
        l.upsert(Device::new("d1", Platform::Android, "t1", 1).unwrap());
        l.upsert(Device::new("d1", Platform::Android, "t2", 2).unwrap());
        assert_eq!(l.devices.len(), 1);
        assert_eq!(l.devices[0].token, "t2");
        // same token under a new id replaces too (reinstall)
        l.upsert(Device::new("d2", Platform::Android, "t2", 3).unwrap());
        assert_eq!(l.devices.len(), 1);
        assert_eq!(l.devices[0].device_id, "d2");
        for i in 0..10 {
            l.upsert(
                Device::new(&format!("n{i}"), Platform::Ios, &format!("tok{i}"), 10 + i).unwrap(),
            );
        }
        assert_eq!(l.devices.len(), MAX_DEVICES);
        assert_eq!(l.devices[0].device_id, "n5");
        assert_eq!(l.remove_tokens(&["tok5", "tok9", "nope"]), 2);
        assert!(l.remove_device("n6"));
        assert!(!l.remove_device("n6"));
        assert_eq!(l.devices.len(), 2);
    }

    #[test]
    fn register_request() {
        let r: RegisterRequest = serde_json::from_str(&format!(
            r#"{{"subscriber":"bob","push_token":"{IOS}","device_id":"x"}}"#
        ))
        .unwrap();
        assert_eq!(r.device(5).unwrap().platform, Platform::Ios);
        let r: RegisterRequest = serde_json::from_str(
            r#"{"subscriber":"bob","token":"abc","device_id":"x","platform":"android"}"#,
        )
        .unwrap();
        assert_eq!(r.device(5).unwrap().platform, Platform::Android);
        assert!(serde_json::from_str::<RegisterRequest>(
            r#"{"subscriber":"b b","token":"a","device_id":"x"}"#
        )
        .is_err());
    }
}
