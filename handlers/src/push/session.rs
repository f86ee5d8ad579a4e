//! What the per-user Durable Object (`UserState` in the worker) keeps and
//! decides: the sample apps' login sessions and the user's call context.
//!
//! # Why
//! The unchanged sample apps send no credential of ours: Android none at
//! all, iOS the Exotel access token the SDK holds. The only moment the
//! backend knows who is on the other end is `/login`, which checks the
//! password. So a successful login opens a **grant**: for a short window
//! ([`LOGIN_WINDOW_MS`]), one uncredentialed `devicetoken` call for that
//! user from the same client address is accepted, once. And the Exotel
//! access token this backend obtained at that login is remembered (as a
//! SHA-256 digest, never the token) so an iOS `Authorization: Bearer` that
//! carries it is recognised later.
//!
//! The context lives here too, because the apps post it *after* dialling
//! and Dial Whom must see the latest write at once: a Durable Object's
//! storage is strongly consistent, KV is not.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::app_api::ContextRecord;
use super::devices::{Device, DeviceList, Platform};

/// How long after a login its one uncredentialed `devicetoken` is accepted.
/// Both apps send it right after the login answer (Android
/// `LoginActivity.sendTokenAndInitialize`, iOS `uploadFCMToken`), well
/// within a minute.
pub const LOGIN_WINDOW_MS: i64 = 60_000;

/// How long the Exotel token obtained at a login is recognised as the
/// user's (the app token's life: the apps log in again by then).
pub const BEARER_LIFE_MS: i64 = super::app_api::APP_TOKEN_SECS as i64 * 1000;

/// Most open grants and remembered tokens per user (one per phone that
/// logged in recently); the oldest goes first.
pub const MAX_ENTRIES: usize = 5;

/// SHA-256 of a bearer token, lowercase hex: what is stored instead of it.
pub fn token_digest(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One login's right to register a device without a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The client address the login came from (`CF-Connecting-IP`).
    pub addr: String,
    /// The platform the login's device id implies.
    pub platform: Platform,
    /// Epoch ms after which it no longer counts.
    pub expires_ms: i64,
}

/// An Exotel access token obtained for this user at a login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownBearer {
    /// [`token_digest`] of the token.
    pub digest: String,
    /// The platform of the login's device.
    pub platform: Platform,
    /// Epoch ms after which it no longer counts.
    pub expires_ms: i64,
}

/// Everything a user's Durable Object stores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSession {
    /// Open login grants, oldest first.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Exotel tokens handed out at logins, oldest first.
    #[serde(default)]
    pub bearers: Vec<KnownBearer>,
    /// The latest call context.
    #[serde(default)]
    pub context: Option<ContextRecord>,
    /// When the user last logged in through this backend (never pruned):
    /// Dial Whom waits for a late context only for users who did.
    #[serde(default)]
    pub last_login_ms: Option<i64>,
}

fn keep_last<T>(v: &mut Vec<T>) {
    if v.len() > MAX_ENTRIES {
        let excess = v.len() - MAX_ENTRIES;
        v.drain(..excess);
    }
}

impl UserSession {
    /// Drops whatever has expired.
    pub fn prune(&mut self, now_ms: i64) {
        self.grants.retain(|g| now_ms < g.expires_ms);
        self.bearers.retain(|b| now_ms < b.expires_ms);
        if self.context.as_ref().is_some_and(|c| !c.live(now_ms)) {
            self.context = None;
        }
    }

    /// Records a successful login: opens a grant for `addr` and remembers
    /// the Exotel token's digest.
    pub fn on_login(
        &mut self,
        addr: &str,
        platform: Platform,
        bearer_digest: Option<&str>,
        now_ms: i64,
    ) {
        self.prune(now_ms);
        self.last_login_ms = Some(now_ms);
        self.grants.push(Grant {
            addr: addr.to_owned(),
            platform,
            expires_ms: now_ms + LOGIN_WINDOW_MS,
        });
        keep_last(&mut self.grants);
        if let Some(d) = bearer_digest {
            self.bearers.retain(|b| b.digest != d);
            self.bearers.push(KnownBearer {
                digest: d.to_owned(),
                platform,
                expires_ms: now_ms + BEARER_LIFE_MS,
            });
            keep_last(&mut self.bearers);
        }
    }

    /// Uses up the newest open grant for `addr`: `Some(platform)` once per
    /// login, `None` when there is none (expired, used, or another address).
    pub fn take_grant(&mut self, addr: &str, now_ms: i64) -> Option<Platform> {
        self.prune(now_ms);
        let i = self.grants.iter().rposition(|g| g.addr == addr)?;
        Some(self.grants.remove(i).platform)
    }

    /// The platform of the login that obtained this Exotel token, if it is one of ours.
    pub fn bearer_platform(&self, digest: &str, now_ms: i64) -> Option<Platform> {
        self.bearers
            .iter()
            .rev()
            .find(|b| b.digest == digest && now_ms < b.expires_ms)
            .map(|b| b.platform)
    }

    /// The context, if still live.
    pub fn live_context(&self, now_ms: i64) -> Option<&ContextRecord> {
        self.context.as_ref().filter(|c| c.live(now_ms))
    }
}

/// Operations on a user's Durable Object, as JSON bodies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SessionOp {
    /// A login succeeded.
    Login {
        /// Client address.
        addr: String,
        /// Platform of the login's device.
        platform: Platform,
        /// Digest of the Exotel access token handed out.
        bearer_digest: Option<String>,
    },
    /// An uncredentialed `devicetoken`: consume a grant.
    TakeGrant {
        /// Client address.
        addr: String,
    },
    /// Is this digest a token we obtained for the user?
    Bearer {
        /// [`token_digest`] of the presented token.
        digest: String,
    },
    /// Read the context.
    GetContext,
    /// Dial Whom for `call_sid`: the context if it is unused or already
    /// this call's, which it then becomes.
    TakeContext {
        /// Exotel's CallSid.
        call_sid: String,
    },
    /// Replace the context.
    PutContext {
        /// The new context.
        context: ContextRecord,
    },
    /// Clear the context.
    DeleteContext,
    /// Add or replace a device in the registry of the subscriber this
    /// instance is named for (`sub:<subscriber>`; see [`RegistryState`]).
    RegisterDevice {
        /// The device.
        device: Device,
    },
    /// Remove a device by id.
    RemoveDevice {
        /// Its id.
        device_id: String,
    },
    /// Remove every device holding one of these (dead) tokens.
    RemoveTokens {
        /// The tokens a provider reported dead.
        tokens: Vec<String>,
    },
}

impl SessionOp {
    /// Whether it is a registry operation (instance `sub:<subscriber>`).
    pub fn is_registry(&self) -> bool {
        matches!(
            self,
            Self::RegisterDevice { .. } | Self::RemoveDevice { .. } | Self::RemoveTokens { .. }
        )
    }
}

/// A subscriber's device registry as its Durable Object keeps it: the
/// authority, so two registrations at once cannot lose one (they are
/// applied one after the other), mirrored to KV (`dev:<subscriber>`), which
/// the push path reads. `version` orders the mirror writes: after writing
/// version v to KV, the object writes again if it has moved on, so KV ends
/// with the latest list whatever order the writes land in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryState {
    /// The devices.
    pub list: DeviceList,
    /// Bumped on every change.
    pub version: u64,
}

/// What a registry operation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryAnswer {
    /// Devices now registered.
    pub devices: usize,
    /// Devices removed by this operation.
    pub removed: usize,
}

impl RegistryState {
    /// Applies a registry operation: the answer and whether the list
    /// changed (then `version` moved on). `None` for other operations.
    pub fn apply(&mut self, op: SessionOp) -> Option<(RegistryAnswer, bool)> {
        let (removed, changed) = match op {
            SessionOp::RegisterDevice { device } => {
                self.list.upsert(device);
                (0, true)
            }
            SessionOp::RemoveDevice { device_id } => {
                let n = usize::from(self.list.remove_device(&device_id));
                (n, n > 0)
            }
            SessionOp::RemoveTokens { tokens } => {
                let n = self.list.remove_tokens(&tokens);
                (n, n > 0)
            }
            _ => return None,
        };
        if changed {
            self.version += 1;
        }
        Some((
            RegistryAnswer {
                devices: self.list.devices.len(),
                removed,
            },
            changed,
        ))
    }
}

/// Replies of the user's Durable Object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAnswer {
    /// For grants and bearers: the platform when accepted, else null.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// For [`SessionOp::GetContext`]: the live context, if any.
    #[serde(default)]
    pub context: Option<ContextRecord>,
    /// For [`SessionOp::GetContext`]: whether the user ever logged in here
    /// (a `sip:` caller who did not is no sample-app user: no context will come).
    #[serde(default)]
    pub known: bool,
}

impl UserSession {
    /// Applies one operation; the caller stores the session afterwards
    /// when `changed` says so.
    pub fn apply(&mut self, op: SessionOp, now_ms: i64) -> (SessionAnswer, bool) {
        let before = self.clone();
        let answer = match op {
            SessionOp::Login {
                addr,
                platform,
                bearer_digest,
            } => {
                self.on_login(&addr, platform, bearer_digest.as_deref(), now_ms);
                SessionAnswer::default()
            }
            SessionOp::TakeGrant { addr } => SessionAnswer {
                platform: self.take_grant(&addr, now_ms),
                ..SessionAnswer::default()
            },
            SessionOp::Bearer { digest } => SessionAnswer {
                platform: self.bearer_platform(&digest, now_ms),
                ..SessionAnswer::default()
            },
            SessionOp::GetContext => SessionAnswer {
                platform: None,
                context: self.live_context(now_ms).cloned(),
                known: self.last_login_ms.is_some() || self.context.is_some(),
            },
            SessionOp::TakeContext { call_sid } => {
                let known = self.last_login_ms.is_some() || self.context.is_some();
                self.prune(now_ms);
                let context = match self.context.as_mut() {
                    Some(c) if c.served_to.as_deref().is_none_or(|s| s == call_sid) => {
                        c.served_to = Some(call_sid);
                        Some(c.clone())
                    }
                    _ => None,
                };
                SessionAnswer {
                    platform: None,
                    context,
                    known,
                }
            }
            SessionOp::PutContext { context } => {
                self.context = Some(context);
                SessionAnswer::default()
            }
            SessionOp::DeleteContext => {
                self.context = None;
                SessionAnswer::default()
            }
            // Registry operations go to a `sub:` instance's RegistryState.
            SessionOp::RegisterDevice { .. }
            | SessionOp::RemoveDevice { .. }
            | SessionOp::RemoveTokens { .. } => SessionAnswer::default(),
        };
        let changed = *self != before;
        (answer, changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::app_api::ContextRequest;

    #[test]
    fn a_grant_is_for_one_address_once_within_the_window() {
        let mut s = UserSession::default();
        s.on_login("203.0.113.7", Platform::Ios, None, 1_000);
        assert_eq!(s.take_grant("198.51.100.1", 1_001), None, "another address");
        assert_eq!(s.take_grant("203.0.113.7", 1_002), Some(Platform::Ios));
        assert_eq!(s.take_grant("203.0.113.7", 1_003), None, "used");
        s.on_login("203.0.113.7", Platform::Android, None, 2_000);
        assert_eq!(
            s.take_grant("203.0.113.7", 2_000 + LOGIN_WINDOW_MS),
            None,
            "expired"
        );
        for i in 0..10 {
            s.on_login(&format!("a{i}"), Platform::Android, None, 5_000);
        }
        assert_eq!(s.grants.len(), MAX_ENTRIES);
        assert_eq!(s.take_grant("a0", 5_001), None, "the oldest were dropped");
        assert_eq!(s.take_grant("a9", 5_001), Some(Platform::Android));
    }

    #[test]
    fn bearers_are_digests_and_expire() {
        let mut s = UserSession::default();
        let d = token_digest("eyJ.access.alice");
        assert_eq!(d.len(), 64);
        assert!(!d.contains("access"));
        s.on_login("x", Platform::Ios, Some(&d), 10);
        s.on_login("x", Platform::Ios, Some(&d), 20);
        assert_eq!(s.bearers.len(), 1, "the same token is remembered once");
        assert_eq!(s.bearer_platform(&d, 21), Some(Platform::Ios));
        assert_eq!(s.bearer_platform(&token_digest("other"), 21), None);
        assert_eq!(s.bearer_platform(&d, 20 + BEARER_LIFE_MS), None);
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("eyJ"), "the token itself is never stored");
    }

    #[test]
    fn a_context_serves_one_call() {
        let mut s = UserSession::default();
        let ctx = |to: &str| {
            ContextRecord::new(
                ContextRequest {
                    dial_to_number: to.into(),
                    message: String::new(),
                },
                0,
            )
            .unwrap()
        };
        s.apply(
            SessionOp::PutContext {
                context: ctx("sip:bob"),
            },
            0,
        );
        let take = |s: &mut UserSession, call: &str| {
            s.apply(
                SessionOp::TakeContext {
                    call_sid: call.into(),
                },
                10,
            )
            .0
            .context
            .map(|c| c.dial_to_number)
        };
        assert_eq!(take(&mut s, "call-1").as_deref(), Some("sip:bob"));
        assert_eq!(
            take(&mut s, "call-1").as_deref(),
            Some("sip:bob"),
            "Exotel asking again for the same call"
        );
        assert_eq!(
            take(&mut s, "call-2"),
            None,
            "left over from call-1: not the next call's"
        );
        s.apply(
            SessionOp::PutContext {
                context: ctx("sip:carol"),
            },
            20,
        );
        assert_eq!(take(&mut s, "call-2").as_deref(), Some("sip:carol"));
        // the callee still reads it
        assert!(s.apply(SessionOp::GetContext, 30).0.context.is_some());
    }

    #[test]
    fn registry_applies_in_order_and_versions() {
        let mut r = RegistryState::default();
        let dev = |id: &str, p, t: &str| Device::new(id, p, t, 1).unwrap();
        let (a, _) = r
            .apply(SessionOp::RegisterDevice {
                device: dev("sample-app-ios", Platform::Ios, "fcm-iphone"),
            })
            .unwrap();
        let (b, _) = r
            .apply(SessionOp::RegisterDevice {
                device: dev("sample-app-android", Platform::Android, "fcm-android"),
            })
            .unwrap();
        assert_eq!(
            (a.devices, b.devices, r.version),
            (1, 2, 2),
            "two registrations, both kept"
        );
        let (c, changed) = r
            .apply(SessionOp::RemoveTokens {
                tokens: vec!["fcm-iphone".into(), "nope".into()],
            })
            .unwrap();
        assert_eq!((c.devices, c.removed, changed, r.version), (1, 1, true, 3));
        let (d, changed) = r
            .apply(SessionOp::RemoveDevice {
                device_id: "gone".into(),
            })
            .unwrap();
        assert_eq!((d.removed, changed, r.version), (0, false, 3));
        assert!(r.apply(SessionOp::GetContext).is_none());
        assert!(SessionOp::RemoveDevice {
            device_id: "x".into()
        }
        .is_registry());
        assert!(!SessionOp::GetContext.is_registry());
    }

    #[test]
    fn ops_apply_and_report_changes() {
        let mut s = UserSession::default();
        let ctx = ContextRecord::new(
            ContextRequest {
                dial_to_number: "sip:bob".into(),
                message: String::new(),
            },
            100,
        )
        .unwrap();
        let (a, changed) = s.apply(SessionOp::GetContext, 100);
        assert!(!a.known, "never logged in: Dial Whom need not wait");
        assert_eq!((a, changed), (SessionAnswer::default(), false));
        let (_, changed) = s.apply(
            SessionOp::PutContext {
                context: ctx.clone(),
            },
            100,
        );
        assert!(changed);
        let (a, _) = s.apply(SessionOp::GetContext, 101);
        assert_eq!(a.context, Some(ctx));
        let (a, _) = s.apply(SessionOp::GetContext, 100 + 120_000);
        assert_eq!(a.context, None, "expired contexts are not served");
        assert!(s.apply(SessionOp::GetContext, 101).0.known);
        let (_, changed) = s.apply(SessionOp::TakeGrant { addr: "x".into() }, 1);
        assert!(!changed);
        let mut t = UserSession::default();
        t.apply(
            SessionOp::Login {
                addr: "a".into(),
                platform: Platform::Ios,
                bearer_digest: None,
            },
            5,
        );
        assert!(
            t.apply(SessionOp::GetContext, 5 + BEARER_LIFE_MS * 10)
                .0
                .known,
            "known long after the login"
        );
        let op: SessionOp =
            serde_json::from_str(r#"{"op":"take_grant","addr":"1.2.3.4"}"#).unwrap();
        assert!(matches!(op, SessionOp::TakeGrant { .. }));
    }
}
