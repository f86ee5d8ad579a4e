//! The APNs VoIP relay: `POST /v1/apns/voip` on the admin server, called by
//! the worker (whose fetch cannot speak HTTP/2) with a bearer secret, sends
//! one PushKit push to Apple over HTTP/2 and answers what became of it in
//! the worker's terms ([`RelayAnswer`]).
//!
//! The provider token is an ES256 JWT signed with the team's `.p8` key;
//! Apple wants it reused (refreshing more than every 20 minutes gets
//! `TooManyProviderTokenUpdates`) and refuses it after an hour, so it is
//! cached for 50 minutes. Request and payload rules live in
//! `handlers::push::apns`, shared with the worker.
//!
//! # Config (`[apns]` in the gateway's TOML, [`ApnsConfig`])
//! `lib.rs` mounts [`routes`] on the admin server when `[apns]` is present.
//! ```toml
//! [apns]
//! key_path = "/etc/exoedge/AuthKey_ABC123DEFG.p8"
//! key_id = "ABC123DEFG"
//! team_id = "TEAM123456"
//! bundle_id = "in.example.voipapp"     # topic is "<bundle_id>.voip"
//! environment = "production"           # or "sandbox" (development builds)
//! # endpoint = "http://127.0.0.1:8443"  # override the host (tests: h2c fake)
//! relay_tokens = []                    # or PROTO_GATEWAY_APNS_RELAY_TOKENS=a,b
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::auth::require_bearer;
use crate::config::ApnsConfig;
use crate::error::{Error, Result};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use handlers::push::apns::{self as rules, RelayAnswer, RelayRequest, RELAY_PATH};
use handlers::push::jwt::{self, ApnsClaims, Header};
use handlers::push::PushOutcome;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

/// How long one provider token is reused (Apple: at most 60, at least 20 minutes).
pub const TOKEN_REUSE: Duration = Duration::from_secs(50 * 60);

/// Environment variable with the relay's bearer secrets (comma-separated).
pub const TOKENS_ENV: &str = "PROTO_GATEWAY_APNS_RELAY_TOKENS";

struct CachedToken {
    jwt: String,
    made: Instant,
}

/// The APNs client: key, HTTP/2 connection pool, cached provider token.
pub struct Apns {
    client: reqwest::Client,
    base: String,
    bundle_id: String,
    key_id: String,
    team_id: String,
    key: EcdsaKeyPair,
    rng: SystemRandom,
    token: Mutex<Option<CachedToken>>,
}

impl Apns {
    /// Reads the key and builds the HTTP/2 client.
    pub fn new(cfg: &ApnsConfig) -> Result<Apns> {
        let pem = std::fs::read_to_string(&cfg.key_path)
            .map_err(|e| Error::Config(format!("apns.key_path {}: {e}", cfg.key_path.display())))?;
        Apns::from_pem(cfg, &pem)
    }

    /// [`Apns::new`] with the key's PEM text given.
    pub fn from_pem(cfg: &ApnsConfig, pem: &str) -> Result<Apns> {
        let der = jwt::pem_to_der(pem)
            .ok_or_else(|| Error::Config("apns key is not a PEM (.p8) file".into()))?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
            .map_err(|e| Error::Config(format!("apns key is not a P-256 PKCS#8 key: {e}")))?;
        for (name, v) in [
            ("key_id", &cfg.key_id),
            ("team_id", &cfg.team_id),
            ("bundle_id", &cfg.bundle_id),
        ] {
            if v.trim().is_empty() {
                return Err(Error::Config(format!("apns.{name} is empty")));
            }
        }
        crate::install_crypto_provider();
        let timeout = Duration::from_millis(cfg.timeout_ms);
        let client = reqwest::Client::builder()
            // APNs speaks only HTTP/2; over TLS ALPN offers just h2, and the
            // `http://` test endpoint gets h2c by prior knowledge.
            .http2_prior_knowledge()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Apns {
            client,
            base: cfg.base_url().to_owned(),
            bundle_id: cfg.bundle_id.trim().to_owned(),
            key_id: cfg.key_id.trim().to_owned(),
            team_id: cfg.team_id.trim().to_owned(),
            key,
            rng,
            token: Mutex::new(None),
        })
    }

    /// The provider token: reused for [`TOKEN_REUSE`], then re-signed.
    pub fn provider_token(&self) -> Result<String> {
        let mut slot = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = slot.as_ref().filter(|t| t.made.elapsed() < TOKEN_REUSE) {
            return Ok(t.jwt.clone());
        }
        let header = Header {
            alg: "ES256",
            typ: None,
            kid: Some(&self.key_id),
        };
        let input = jwt::signing_input(
            &header,
            &ApnsClaims {
                iss: &self.team_id,
                iat: now_secs(),
            },
        )?;
        let sig = self
            .key
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| Error::Config("apns key failed to sign".into()))?;
        let token = jwt::assemble(&input, sig.as_ref());
        *slot = Some(CachedToken {
            jwt: token.clone(),
            made: Instant::now(),
        });
        Ok(token)
    }

    fn forget_token(&self) {
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Sends one VoIP push.
    pub async fn send(&self, req: &RelayRequest) -> RelayAnswer {
        if !req.token_is_valid() {
            // Not hex: no APNs token looks like that, so it never will work.
            return RelayAnswer {
                delivery: PushOutcome::Unregistered,
                apns_id: None,
            };
        }
        let first = self.send_once(req).await;
        match &first.delivery {
            PushOutcome::Failed { reason }
                if reason.contains("ExpiredProviderToken")
                    || reason.contains("InvalidProviderToken") =>
            {
                self.forget_token();
                self.send_once(req).await
            }
            _ => first,
        }
    }

    async fn send_once(&self, req: &RelayRequest) -> RelayAnswer {
        let failed = |reason: String| RelayAnswer {
            delivery: PushOutcome::Failed { reason },
            apns_id: None,
        };
        let token = match self.provider_token() {
            Ok(t) => t,
            Err(e) => return failed(format!("apns provider token: {e}")),
        };
        let body = match serde_json::to_vec(&req.apns_body()) {
            Ok(b) => b,
            Err(e) => return failed(e.to_string()),
        };
        let url = format!("{}{}", self.base, rules::device_path(&req.device_token));
        let mut r = self
            .client
            .post(url)
            .header("authorization", format!("bearer {token}"))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in rules::headers(&self.bundle_id, now_secs()) {
            r = r.header(name, value);
        }
        match r.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let apns_id = resp
                    .headers()
                    .get("apns-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let text = resp.text().await.unwrap_or_default();
                let delivery = rules::classify(status, &text);
                if let PushOutcome::Failed { reason } = &delivery {
                    tracing::warn!(%reason, "apns refused a push");
                }
                RelayAnswer { delivery, apns_id }
            }
            // Without the URL: it holds the device token.
            Err(e) => failed(format!("apns unreachable: {}", e.without_url())),
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn handle_voip(
    State(apns): State<Arc<Apns>>,
    Json(req): Json<RelayRequest>,
) -> (StatusCode, Json<RelayAnswer>) {
    let answer = apns.send(&req).await;
    tracing::info!(outcome = ?answer.delivery, "apns voip push");
    (StatusCode::OK, Json(answer))
}

/// The relay route, behind the bearer check.
pub fn routes(cfg: &ApnsConfig, env: impl Fn(&str) -> Option<String>) -> Result<Router> {
    let mut tokens: Vec<String> = cfg
        .relay_tokens
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if let Some(v) = env(TOKENS_ENV) {
        tokens.extend(
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from),
        );
    }
    if tokens.iter().any(|t| t.len() < 16) || tokens.is_empty() {
        return Err(Error::Config(format!(
            "apns: set relay_tokens or {TOKENS_ENV} (each at least 16 characters): the relay must not be open"
        )));
    }
    let apns = Arc::new(Apns::new(cfg)?);
    Ok(require_bearer(
        Router::new()
            .route(RELAY_PATH, post(handle_voip))
            .with_state(apns),
        tokens,
    ))
}
