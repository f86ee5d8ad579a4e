//! The app API: the drop-in backend of Exotel's sample apps (`/login`,
//! `devicetoken`, `context`, `contacts`); exoedge's own `/v1/*` routes are
//! in `devices` and `subscriber_token`. Each handler returns a `Result`;
//! the router checks the app credential first (`crate::app::authenticate`)
//! and answers errors as `{http_code, message}` (for the context,
//! `{http_code, message: "", error}`: the apps display its `message`).

use handlers::push::app_api::{
    self, AppClaims, AppError, ContextAnswer, ContextRecord, ContextRequest, DeviceTokenRequest,
    LoginAnswer, LoginRequest, SampleAppMode, UserRecord,
};
use handlers::push::contacts::{self, ContactsConfig};
use handlers::push::devices::{self, Device, Platform, Registered};
use handlers::push::session::{token_digest, SessionAnswer, SessionOp};
use handlers::push::subscriber::SubscriberName;
use handlers::reply::Reply;
use handlers::route::PathParams;
use worker::{console_error, console_warn, Env, Method, Request};

use super::devices as device_routes;
use crate::app::{self, Caller};
use crate::bindings;
use crate::runtime::clock::{now_ms, now_secs};
use crate::runtime::env::secret;
use crate::{user_state, webcrypto};

/// Budget of a user-state call from an app route (not on a caller's path:
/// the phone waits, not a ringing call).
const SESSION_BUDGET_MS: u64 = 2_000;

/// Derives a PBKDF2 key from a password with the record's parameters.
async fn password_matches(
    record: &app_api::PasswordHash,
    password: &str,
) -> Result<bool, AppError> {
    let p = record.params()?;
    let derived = webcrypto::pbkdf2_sha256(password.as_bytes(), &p.salt, p.iterations, p.bits)
        .await
        .map_err(|e| {
            worker::console_error!("pbkdf2: {e}");
            AppError::Storage
        })?;
    Ok(record.matches(&derived))
}

/// A record to check against when the user does not exist, so the answer
/// takes as long as for a wrong password (no user enumeration by timing).
fn decoy() -> app_api::PasswordHash {
    app_api::PasswordHash {
        alg: "pbkdf2-sha256".into(),
        iterations: *app_api::PBKDF2_ITERATIONS.end(),
        salt: "ZXhvZWRnZS1kZWNveS1zYWx0".into(),
        hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
    }
}

/// `POST /login`.
pub async fn handle_login(mut req: Request, env: &Env) -> Result<Reply, AppError> {
    let addr = app::client_addr(&req);
    let login: LoginRequest = app::json_body(&mut req).await?;
    let sid = app::account_sid(env)?;
    let secret_key = app::app_secret(env)?;
    let kv = app::store(env)?;
    let user = login.user_name.trim();
    let record: Option<UserRecord> = if app_api::valid_user_name(user) {
        app::get_json(&kv, &app_api::user_key(user)).await?
    } else {
        None
    };
    let ok = match &record {
        Some(r) => password_matches(&r.password, &login.password).await?,
        None => {
            let _ = password_matches(&decoy(), &login.password).await;
            false
        }
    };
    let sid_ok = login
        .account_sid
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .is_none_or(|s| s == sid);
    let (Some(record), true, true) = (record, ok, sid_ok) else {
        return Err(AppError::BadCredentials);
    };
    let subscriber = match record.subscriber_name.clone() {
        Some(s) => s,
        None => SubscriberName::parse(user).map_err(|e| {
            AppError::BadRequest(format!(
                "user {user:?} needs a subscriber_name in its record: {e}"
            ))
        })?,
    };
    let device_id = login
        .device_id
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or("unknown");
    let platform = app_api::platform_of_device_id(device_id);
    let token = app::subscriber_token(env, &subscriber, platform, device_id).await?;
    let claims = AppClaims {
        user: user.to_owned(),
        sub: subscriber.clone(),
        acct: sid.clone(),
        exp: now_secs() + app_api::APP_TOKEN_SECS,
    };
    let app_token = app_api::issue_app_token(&secret_key, &claims).ok_or(
        AppError::NotConfigured("APP_TOKEN_SECRET (at least 32 bytes)"),
    )?;
    let exophone = record
        .exophone
        .clone()
        .or_else(|| secret(env, bindings::EXOPHONE))
        .ok_or(AppError::NotConfigured(
            "EXOPHONE (or exophone in the user record)",
        ))?;
    // Without it the apps cannot reach Exotel at all: refuse rather than hand out "".
    let host_name =
        secret(env, bindings::EXOTEL_SDK_HOST).ok_or(AppError::NotConfigured("EXOTEL_SDK_HOST"))?;
    // Open this login's device-token window and remember the Exotel token
    // handed out (its digest), for the sample apps' uncredentialed calls.
    let bearer_digest = token["access_token"].as_str().map(token_digest);
    let op = SessionOp::Login {
        addr,
        platform,
        bearer_digest,
    };
    if user_state::call(env, user, &op, SESSION_BUDGET_MS)
        .await
        .is_none()
    {
        console_warn!("login: user state unavailable; this login opens no device-token window");
    }
    Ok(Reply::json(&LoginAnswer {
        http_code: 200,
        subscriber_token: token,
        host_name,
        account_sid: sid,
        exophone,
        contact_display_name: record
            .contact_display_name
            .clone()
            .unwrap_or_else(|| user.to_owned()),
        subscriber_name: subscriber,
        app_token,
    }))
}

/// Asks the user's Durable Object; a missing binding or a failure is a clear 503.
async fn session(env: &Env, user: &str, op: SessionOp) -> Result<SessionAnswer, AppError> {
    match user_state::call(env, user, &op, SESSION_BUDGET_MS).await {
        Some(a) => Ok(a),
        None if !user_state::bound(env) => Err(AppError::NotConfigured(
            "the USER_STATE Durable Object binding",
        )),
        None => Err(AppError::Storage),
    }
}

/// The subscriber of a user of the store.
async fn user_subscriber(env: &Env, user: &str) -> Result<SubscriberName, AppError> {
    if !app_api::valid_user_name(user) {
        return Err(AppError::NotFound("user"));
    }
    let record: UserRecord = app::get_json(&app::store(env)?, &app_api::user_key(user))
        .await?
        .ok_or(AppError::NotFound("user"))?;
    match record.subscriber_name {
        Some(s) => Ok(s),
        None => SubscriberName::parse(user).map_err(|e| AppError::BadRequest(e.to_string())),
    }
}

/// The account in the path must be ours (and the app token's).
fn check_account(caller: &Caller, env: &Env, account_sid: &str) -> Result<(), AppError> {
    let sid = app::account_sid(env)?;
    match caller {
        _ if account_sid != sid => Err(AppError::Forbidden),
        Caller::App(c) if c.acct != sid => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}

/// The subscriber a sample-app path names, for a caller that may act for
/// it: the app token's own user, or (narrow mode, no app token) any user of
/// the store. Device tokens have their own, stricter rule.
async fn path_subscriber(
    caller: &Caller,
    env: &Env,
    user: &str,
) -> Result<SubscriberName, AppError> {
    match caller {
        Caller::App(c) if c.user == user || c.sub.as_str() == user => Ok(c.sub.clone()),
        Caller::App(_) => Err(AppError::Forbidden),
        _ if app::sample_app_mode(env) == SampleAppMode::Off => Err(AppError::Unauthenticated),
        _ => user_subscriber(env, user).await,
    }
}

/// `POST /accounts/{sid}/subscribers/{user}/devicetoken` {deviceToken}.
///
/// Who may register: an app token for this user; or (narrow mode) the
/// Exotel token this backend obtained at one of the user's logins; or no
/// credential at all, once, from the address of a login of this user within
/// its window. Anything else is refused before anything is stored.
pub async fn handle_devicetoken(
    mut req: Request,
    env: &Env,
    caller: Caller,
    path: &PathParams,
) -> Result<Reply, AppError> {
    let (account_sid, user) = (path.account_sid.as_str(), path.user.as_str());
    let addr = app::client_addr(&req);
    let body: DeviceTokenRequest = app::json_body(&mut req).await?;
    check_account(&caller, env, account_sid)?;
    let token = body.device_token.trim();
    // A malformed token must not use up the login's window.
    Device::new("check", Platform::Android, token, 0)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (subscriber, login_platform) = match caller {
        Caller::App(c) if c.user == user || c.sub.as_str() == user => (c.sub, None),
        Caller::App(_) => return Err(AppError::Forbidden),
        _ if app::sample_app_mode(env) == SampleAppMode::Off => {
            return Err(AppError::Unauthenticated)
        }
        other => {
            if !app_api::valid_user_name(user) {
                return Err(AppError::NoLoginWindow);
            }
            let known = match other {
                Caller::OtherBearer(digest) => {
                    session(env, user, SessionOp::Bearer { digest })
                        .await?
                        .platform
                }
                _ => None,
            };
            let platform = match known {
                Some(p) => p,
                None => session(env, user, SessionOp::TakeGrant { addr })
                    .await?
                    .platform
                    .ok_or(AppError::NoLoginWindow)?,
            };
            (user_subscriber(env, user).await?, Some(platform))
        }
    };
    let platform = devices::sample_app_platform(
        token,
        body.platform.as_deref(),
        login_platform.unwrap_or(Platform::Android),
    )
    .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let device = Device::new(Device::sample_app_slot(platform), platform, token, now_ms())
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let device_id = device.device_id.clone();
    let a = device_routes::update_registry(env, &subscriber, SessionOp::RegisterDevice { device })
        .await?;
    Ok(Reply::json(&Registered {
        http_code: 200,
        subscriber,
        device_id,
        platform,
        devices: a.devices,
    }))
}

/// `GET|POST|DELETE /accounts/{sid}/subscribers/{user}/context`, kept in
/// the user's Durable Object so Dial Whom reads the latest write.
pub async fn handle_context(
    mut req: Request,
    env: &Env,
    caller: Caller,
    path: &PathParams,
) -> Result<Reply, AppError> {
    let (account_sid, user) = (path.account_sid.as_str(), path.user.as_str());
    check_account(&caller, env, account_sid)?;
    match req.method() {
        Method::Get | Method::Head => {
            // Reading someone's context (the callee reads the caller's) needs
            // only membership of the account.
            if !matches!(caller, Caller::App(_)) && app::sample_app_mode(env) == SampleAppMode::Off
            {
                return Err(AppError::Unauthenticated);
            }
            if !app_api::valid_user_name(user) {
                return Err(AppError::NotFound("context"));
            }
            match session(env, user, SessionOp::GetContext).await?.context {
                Some(r) => Ok(Reply::json(&ContextAnswer {
                    http_code: 200,
                    dial_to_number: &r.dial_to_number,
                    message: &r.message,
                })),
                None => Err(AppError::NotFound("context")),
            }
        }
        Method::Delete => {
            path_subscriber(&caller, env, user).await?;
            session(env, user, SessionOp::DeleteContext).await?;
            Ok(app_api::api_reply(200, "context cleared"))
        }
        _ => {
            path_subscriber(&caller, env, user).await?;
            let body: ContextRequest = app::json_body(&mut req).await?;
            let context = ContextRecord::new(body, now_ms())?;
            session(env, user, SessionOp::PutContext { context }).await?;
            Ok(app_api::api_reply(200, "context saved"))
        }
    }
}

/// `GET /accounts/{sid}/subscribers/{user}/contacts`: the contact groups
/// from the `DEVICES` KV (`contacts:<user>`, else `contacts`).
pub async fn handle_contacts(
    env: &Env,
    caller: Caller,
    path: &PathParams,
) -> Result<Reply, AppError> {
    let (account_sid, user) = (path.account_sid.as_str(), path.user.as_str());
    check_account(&caller, env, account_sid)?;
    path_subscriber(&caller, env, user).await?;
    let kv = app::store(env)?;
    let mut text = None;
    for key in [contacts::user_key(user), contacts::SHARED_KEY.to_owned()] {
        text = kv.get(&key).text().await.map_err(|_| AppError::Storage)?;
        if text.is_some() {
            break;
        }
    }
    let config = match text.as_deref().map(ContactsConfig::parse) {
        None => ContactsConfig::default(),
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            // The apps cannot show our error; they show an empty list, the log says why.
            console_error!("contacts for {}: {e}", handlers::phone::mask(user));
            ContactsConfig::default()
        }
    };
    Ok(Reply::json(&contacts::answer(&config)))
}
