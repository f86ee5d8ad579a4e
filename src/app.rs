//! What the app-facing routes share: the app credential, the push KV
//! namespace, and the subscriber-token exchange with Exotel.

use base64::Engine;
use handlers::push::app_api::{self, AppClaims, AppError, ExotelTokenRequest, SampleAppMode};
use handlers::push::devices::Platform;
use handlers::push::session::token_digest;
use handlers::push::subscriber::SubscriberName;
use serde::de::DeserializeOwned;
use serde_json::Value;
use worker::{console_error, console_warn, kv::KvStore, Env, Request};

use crate::runtime::clock::now_secs;
use crate::runtime::env::{secret, var_or};
use crate::runtime::fetch::post;
use crate::{bindings, body};

/// Longest wait for Exotel's subscriber-token API: the phone is waiting.
const EXOTEL_API_TIMEOUT_MS: u64 = 4_000;

/// Who is calling an app route.
pub enum Caller {
    /// Holder of a valid app token.
    App(AppClaims),
    /// A bearer that is not an app token (the iOS sample app sends its
    /// Exotel access token): only its SHA-256 digest is kept.
    OtherBearer(String),
    /// No credential (the Android sample app sends none).
    Anonymous,
}

/// The app-token secret.
pub fn app_secret(env: &Env) -> Result<Vec<u8>, AppError> {
    secret(env, bindings::APP_TOKEN_SECRET)
        .map(String::into_bytes)
        .filter(|s| s.len() >= app_api::MIN_SECRET_LEN)
        .ok_or(AppError::NotConfigured(
            "APP_TOKEN_SECRET (at least 32 bytes)",
        ))
}

/// Checks the caller's credential: a valid app token, another bearer (its
/// digest, for the routes that recognise the Exotel token they handed out),
/// or none. A malformed or expired app token is refused here.
pub fn authenticate(req: &Request, env: &Env) -> Result<Caller, AppError> {
    let authorization = req.headers().get("authorization").ok().flatten();
    if let Some(token) = app_api::app_bearer(authorization.as_deref()) {
        return app_api::verify_app_token(&app_secret(env)?, token, now_secs()).map(Caller::App);
    }
    let other = authorization
        .as_deref()
        .and_then(|a| a.trim().split_once(' '))
        .and_then(|(scheme, t)| {
            (scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty()).then(|| token_digest(t))
        });
    Ok(other.map_or(Caller::Anonymous, Caller::OtherBearer))
}

/// How the unchanged sample apps are let in (`SAMPLE_APP_COMPAT`).
pub fn sample_app_mode(env: &Env) -> SampleAppMode {
    let (mode, warn) = SampleAppMode::parse(&var_or(env, bindings::SAMPLE_APP_COMPAT, ""));
    if warn {
        console_warn!("SAMPLE_APP_COMPAT has an unknown value (\"open\" no longer exists): using the narrow mode, see docs/push.md");
    }
    mode
}

/// The client's address as Cloudflare saw it (`unknown` when absent, as
/// in local tests without the header).
pub fn client_addr(req: &Request) -> String {
    req.headers()
        .get("cf-connecting-ip")
        .ok()
        .flatten()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The push KV namespace.
pub fn store(env: &Env) -> Result<KvStore, AppError> {
    env.kv(bindings::DEVICES_KV)
        .map_err(|_| AppError::NotConfigured("the DEVICES KV namespace"))
}

/// Reads a JSON record.
pub async fn get_json<T: DeserializeOwned>(kv: &KvStore, key: &str) -> Result<Option<T>, AppError> {
    kv.get(key).json::<T>().await.map_err(|e| {
        console_error!("kv read failed: {e}");
        AppError::Storage
    })
}

/// Writes a JSON record, optionally expiring.
pub async fn put_json<T: serde::Serialize>(
    kv: &KvStore,
    key: &str,
    v: &T,
    ttl_secs: Option<u64>,
) -> Result<(), AppError> {
    let text = serde_json::to_string(v).map_err(|_| AppError::Storage)?;
    let mut put = kv.put(key, text).map_err(|_| AppError::Storage)?;
    if let Some(ttl) = ttl_secs {
        put = put.expiration_ttl(ttl);
    }
    put.execute().await.map_err(|e| {
        console_error!("kv write failed: {e}");
        AppError::Storage
    })
}

/// Largest app request body: the apps send a few hundred bytes.
pub const MAX_APP_BODY_BYTES: usize = 16 * 1024;

/// Reads the JSON body of an app request: at most [`MAX_APP_BODY_BYTES`]
/// are read (413 past them, see `crate::body`), and shape errors name the
/// field in JSON's words.
pub async fn json_body<T: DeserializeOwned>(req: &mut Request) -> Result<T, AppError> {
    let bytes = body::read(req, MAX_APP_BODY_BYTES).await?;
    Ok(handlers::body::object(&bytes)?)
}

/// The account this deployment serves.
pub fn account_sid(env: &Env) -> Result<String, AppError> {
    secret(env, bindings::EXOTEL_ACCOUNT_SID).ok_or(AppError::NotConfigured("EXOTEL_ACCOUNT_SID"))
}

/// Asks Exotel for a subscriber token; the API key and token stay here.
pub async fn subscriber_token(
    env: &Env,
    subscriber: &SubscriberName,
    platform: Platform,
    device_id: &str,
) -> Result<Value, AppError> {
    let sid = account_sid(env)?;
    let base =
        secret(env, bindings::EXOTEL_API_BASE).ok_or(AppError::NotConfigured("EXOTEL_API_BASE"))?;
    let (Some(key), Some(token)) = (
        secret(env, bindings::EXOTEL_API_KEY),
        secret(env, bindings::EXOTEL_API_TOKEN),
    ) else {
        return Err(AppError::NotConfigured("EXOTEL_API_KEY/EXOTEL_API_TOKEN"));
    };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:{token}"))
    );
    let body = serde_json::to_string(&ExotelTokenRequest {
        platform,
        device_id,
        subscriber_name: subscriber,
    })
    .map_err(|e| AppError::ExotelFailed(e.to_string()))?;
    let url = app_api::subscriber_token_url(&base, &sid);
    let a = post(
        &url,
        &[
            ("authorization", &basic),
            ("content-type", "application/json"),
        ],
        body,
        EXOTEL_API_TIMEOUT_MS,
    )
    .await
    .map_err(|e| AppError::ExotelFailed(e.to_string()))?;
    app_api::parse_exotel_token(a.status, &a.body)
}
