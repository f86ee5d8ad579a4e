//! The push providers as the worker reaches them: FCM HTTP v1 directly, and
//! APNs through proto-gateway (HTTP/2, which a Worker's fetch cannot speak).
//! Every base URL is a var, so the tests point them at local fakes. Each
//! call is bounded by [`PROVIDER_TIMEOUT_MS`].

use std::cell::RefCell;

use handlers::push::apns::{RelayAnswer, RelayRequest};
use handlers::push::body::PushBody;
use handlers::push::devices::Platform;
use handlers::push::fcm::{self, CachedToken, ServiceAccount, TokenResponse};
use handlers::push::jwt::{self, GoogleClaims, Header};
use handlers::push::PushOutcome;
use wasm_bindgen::JsValue;
use worker::{console_log, console_warn, Env};

use crate::bindings;
use crate::error::EdgeError;
use crate::runtime::clock::{now_ms, now_secs};
use crate::runtime::env::{secret, var_or};
use crate::runtime::fetch::post;
use crate::webcrypto;

/// Longest wait for any one provider call: Exotel treats a slow push URL as
/// failed, and the phone must ring within seconds anyway.
const PROVIDER_TIMEOUT_MS: u64 = 4_000;

thread_local! {
    /// The FCM access token: minted once, reused until shortly before expiry.
    static FCM_TOKEN: RefCell<Option<CachedToken>> = const { RefCell::new(None) };
    /// The imported signing key (a CryptoKey), keyed by the account's email.
    static FCM_KEY: RefCell<Option<(String, JsValue)>> = const { RefCell::new(None) };
}

/// FCM, configured from the `FCM_SERVICE_ACCOUNT` secret.
pub struct Fcm {
    sa: ServiceAccount,
    send_url: String,
    token_url: String,
}

impl Fcm {
    /// `None` when no service account is set (Android pushes then fail
    /// with a reason saying so).
    pub fn from_env(env: &Env) -> Result<Option<Self>, EdgeError> {
        let Some(raw) = secret(env, bindings::FCM_SERVICE_ACCOUNT) else {
            return Ok(None);
        };
        let sa = ServiceAccount::from_json(&raw).map_err(|e| EdgeError::ServiceAccount {
            name: bindings::FCM_SERVICE_ACCOUNT,
            detail: e.to_string(),
        })?;
        let send_url = fcm::send_url(
            &var_or(env, bindings::FCM_BASE_URL, fcm::DEFAULT_BASE_URL),
            &sa.project_id,
        );
        let token_url = var_or(env, bindings::FCM_TOKEN_URL, sa.token_uri());
        Ok(Some(Self {
            sa,
            send_url,
            token_url,
        }))
    }

    async fn signing_key(&self) -> Result<JsValue, EdgeError> {
        let cached = FCM_KEY.with(|k| {
            k.borrow()
                .as_ref()
                .filter(|(email, _)| *email == self.sa.client_email)
                .map(|(_, key)| key.clone())
        });
        if let Some(key) = cached {
            return Ok(key);
        }
        let der = jwt::pem_to_der(&self.sa.private_key).ok_or(EdgeError::NotPem)?;
        let key = webcrypto::import_rsa_pkcs8(&der).await?;
        FCM_KEY.with(|k| *k.borrow_mut() = Some((self.sa.client_email.clone(), key.clone())));
        Ok(key)
    }

    /// The cached access token, or a new one when it is near expiry.
    async fn access_token(&self) -> Result<String, EdgeError> {
        let now = now_ms();
        if let Some(t) = FCM_TOKEN.with(|t| {
            t.borrow()
                .as_ref()
                .filter(|t| t.fresh(now))
                .map(|t| t.token.clone())
        }) {
            return Ok(t);
        }
        let header = Header {
            alg: "RS256",
            typ: Some("JWT"),
            kid: self.sa.private_key_id.as_deref(),
        };
        let claims = GoogleClaims::fcm(
            &self.sa.client_email,
            &self.token_url,
            (now / 1000).max(0) as u64,
        );
        let input = jwt::signing_input(&header, &claims)?;
        let sig = webcrypto::sign_rs256(&self.signing_key().await?, input.as_bytes()).await?;
        let body = fcm::token_request_body(&jwt::assemble(&input, &sig));
        let a = post(
            &self.token_url,
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
            PROVIDER_TIMEOUT_MS,
        )
        .await?;
        if a.status != 200 {
            return Err(EdgeError::OauthStatus(a.status));
        }
        let r: TokenResponse = serde_json::from_str(&a.body).map_err(EdgeError::OauthAnswer)?;
        let cached = CachedToken::new(r, now_ms());
        let token = cached.token.clone();
        FCM_TOKEN.with(|t| *t.borrow_mut() = Some(cached));
        console_log!("fcm: new access token minted");
        Ok(token)
    }

    async fn send_once(
        &self,
        device_token: &str,
        body: &PushBody,
        platform: Platform,
    ) -> Result<PushOutcome, EdgeError> {
        let access = self.access_token().await?;
        let now_secs = now_secs();
        let msg = serde_json::to_string(&fcm::message(device_token, body, platform, now_secs))?;
        let auth = format!("Bearer {access}");
        let a = post(
            &self.send_url,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            msg,
            PROVIDER_TIMEOUT_MS,
        )
        .await?;
        if a.status == 401 {
            // Revoked or rotated key: forget the token so the retry mints one.
            FCM_TOKEN.with(|t| *t.borrow_mut() = None);
        }
        Ok(fcm::classify(a.status, &a.body))
    }

    /// Sends one data-only message: high priority for Android, a background
    /// notification for an iPhone's FCM token. A 401 (token revoked early)
    /// is retried once with a fresh token.
    pub async fn send(
        &self,
        device_token: &str,
        body: &PushBody,
        platform: Platform,
    ) -> PushOutcome {
        let first = self.send_once(device_token, body, platform).await;
        let result = match first {
            Ok(PushOutcome::Failed { reason }) if reason.starts_with("fcm 401") => {
                self.send_once(device_token, body, platform).await
            }
            other => other,
        };
        result.unwrap_or_else(|reason| {
            console_warn!("fcm: {reason}");
            PushOutcome::Failed {
                reason: format!("fcm: {reason}"),
            }
        })
    }
}

/// Asks proto-gateway to send one APNs VoIP push.
pub async fn send_apns(env: &Env, device_token: &str, body: &PushBody) -> PushOutcome {
    let (Some(url), Some(secret)) = (
        secret(env, bindings::APNS_RELAY_URL),
        secret(env, bindings::APNS_RELAY_SECRET),
    ) else {
        return PushOutcome::Failed {
            reason: "apns relay not configured (APNS_RELAY_URL, APNS_RELAY_SECRET)".into(),
        };
    };
    let req = RelayRequest::new(device_token, body);
    let Ok(json) = serde_json::to_string(&req) else {
        return PushOutcome::Failed {
            reason: "apns request not serializable".into(),
        };
    };
    let auth = format!("Bearer {secret}");
    match post(
        &url,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        json,
        PROVIDER_TIMEOUT_MS,
    )
    .await
    {
        Ok(a) if a.status == 200 => match serde_json::from_str::<RelayAnswer>(&a.body) {
            Ok(r) => r.delivery,
            Err(e) => PushOutcome::Failed {
                reason: format!("apns relay answer unreadable: {e}"),
            },
        },
        Ok(a) => PushOutcome::Failed {
            reason: format!("apns relay answered {}", a.status),
        },
        Err(e) => PushOutcome::Failed {
            reason: format!("apns relay: {e}"),
        },
    }
}
