//! The app API: the drop-in backend of Exotel's sample apps (`/login`,
//! `devicetoken`, `context`) and exoedge's own `/v1/*` routes. Each handler
//! returns a `Result`; [`handle_app`] turns errors into `{http_code, message}`.

use handlers::push::backend::{
    self, AppClaims, AppPath, BackendError, ContextAnswer, ContextRecord, ContextRequest, DeviceTokenRequest,
    LoginAnswer, LoginRequest, UserRecord,
};
use handlers::push::devices::{self, Device, DeviceList, Registered};
use handlers::push::subscriber::SubscriberName;
use handlers::reply::Reply;
use handlers::route::Route;
use worker::{console_log, Env, Method, Request};

use super::{devices as device_routes, subscriber_token};
use crate::app::{self, Caller};
use crate::bindings;
use crate::relay::secret;
use crate::webcrypto;

/// Dispatches an app route (see [`Route::is_app`]).
pub async fn handle_app(route: Route, req: Request, env: &Env, path: &str) -> Reply {
    let method = req.method();
    let app_path = AppPath::parse(path.trim_start_matches('/'));
    let result = match (route, method, app_path) {
        (Route::Login, Method::Post, _) => handle_login(req, env).await,
        (Route::Devices, Method::Post, _) => device_routes::handle_register(req, env).await,
        (Route::Device, Method::Delete, Some(AppPath::Device { subscriber, device_id })) => {
            device_routes::handle_unregister(req, env, &subscriber, &device_id).await
        }
        (Route::SubscriberToken, Method::Post, _) => subscriber_token::handle_subscriber_token(req, env).await,
        (Route::DeviceToken, Method::Post, Some(AppPath::DeviceToken { account_sid, user })) => {
            handle_devicetoken(req, env, &account_sid, &user).await
        }
        (Route::Context, m, Some(AppPath::Context { account_sid, user })) => match m {
            Method::Post | Method::Get | Method::Head | Method::Delete => handle_context(req, env, &account_sid, &user).await,
            _ => return backend::api_reply(405, "GET, POST or DELETE only"),
        },
        (r, _, _) => {
            let allowed = match r {
                Route::Device => "DELETE",
                _ => "POST",
            };
            return backend::api_reply(405, &format!("{allowed} only"));
        }
    };
    let reply = result.unwrap_or_else(|e| e.reply());
    console_log!("{} -> {}", route.name(), reply.status);
    reply
}

/// Derives a PBKDF2 key from a password with the record's parameters.
async fn password_matches(record: &backend::PasswordHash, password: &str) -> Result<bool, BackendError> {
    let p = record.params()?;
    let derived = webcrypto::pbkdf2_sha256(password.as_bytes(), &p.salt, p.iterations, p.bits)
        .await
        .map_err(|e| {
            worker::console_error!("pbkdf2: {e}");
            BackendError::Storage
        })?;
    Ok(record.matches(&derived))
}

/// A record to check against when the user does not exist, so the answer
/// takes as long as for a wrong password (no user enumeration by timing).
fn decoy() -> backend::PasswordHash {
    backend::PasswordHash {
        alg: "pbkdf2-sha256".into(),
        iterations: *backend::PBKDF2_ITERATIONS.end(),
        salt: "ZXhvZWRnZS1kZWNveS1zYWx0".into(),
        hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
    }
}

/// `POST /login`.
async fn handle_login(mut req: Request, env: &Env) -> Result<Reply, BackendError> {
    let login: LoginRequest = app::json_body(&mut req).await?;
    let sid = app::account_sid(env)?;
    let secret_key = app::app_secret(env)?;
    let kv = app::store(env)?;
    let user = login.user_name.trim();
    let record: Option<UserRecord> =
        if backend::valid_user_name(user) { app::get_json(&kv, &backend::user_key(user)).await? } else { None };
    let ok = match &record {
        Some(r) => password_matches(&r.password, &login.password).await?,
        None => {
            let _ = password_matches(&decoy(), &login.password).await;
            false
        }
    };
    let sid_ok = login.account_sid.as_deref().map(str::trim).filter(|s| !s.is_empty()).is_none_or(|s| s == sid);
    let (Some(record), true, true) = (record, ok, sid_ok) else {
        return Err(BackendError::BadCredentials);
    };
    let subscriber = match record.subscriber_name.clone() {
        Some(s) => s,
        None => SubscriberName::parse(user).map_err(|e| {
            BackendError::BadRequest(format!("user {user:?} needs a subscriber_name in its record: {e}"))
        })?,
    };
    let device_id = login.device_id.as_deref().map(str::trim).filter(|d| !d.is_empty()).unwrap_or("unknown");
    let platform = backend::platform_of_device_id(device_id);
    let token = app::subscriber_token(env, &subscriber, platform, device_id).await?;
    let claims = AppClaims {
        user: user.to_owned(),
        sub: subscriber.clone(),
        acct: sid.clone(),
        exp: app::now_secs() + backend::APP_TOKEN_SECS,
    };
    let app_token = backend::issue_app_token(&secret_key, &claims)
        .ok_or(BackendError::NotConfigured("APP_TOKEN_SECRET (at least 32 bytes)"))?;
    let exophone = record
        .exophone
        .clone()
        .or_else(|| secret(env, bindings::EXOPHONE))
        .ok_or(BackendError::NotConfigured("EXOPHONE (or exophone in the user record)"))?;
    // Without it the apps cannot reach Exotel at all: refuse rather than hand out "".
    let host_name = secret(env, bindings::EXOTEL_SDK_HOST).ok_or(BackendError::NotConfigured("EXOTEL_SDK_HOST"))?;
    Ok(Reply::json(&LoginAnswer {
        http_code: 200,
        subscriber_token: token,
        host_name,
        account_sid: sid,
        exophone,
        contact_display_name: record.contact_display_name.clone().unwrap_or_else(|| user.to_owned()),
        subscriber_name: subscriber,
        app_token,
    }))
}

/// The subscriber a sample-app path names, after checking the caller may act for it.
async fn path_subscriber(caller: &Caller, env: &Env, account_sid: &str, user: &str) -> Result<SubscriberName, BackendError> {
    let sid = app::account_sid(env)?;
    if account_sid != sid {
        return Err(BackendError::Forbidden);
    }
    match caller {
        Caller::App(c) if c.user == user || c.sub.as_str() == user => Ok(c.sub.clone()),
        Caller::App(_) => Err(BackendError::Forbidden),
        Caller::SampleApp => {
            // Without a credential, only users of the store can be named.
            let record: UserRecord = app::get_json(&app::store(env)?, &backend::user_key(user))
                .await?
                .ok_or(BackendError::NotFound("user"))?;
            match record.subscriber_name {
                Some(s) => Ok(s),
                None => SubscriberName::parse(user).map_err(|e| BackendError::BadRequest(e.to_string())),
            }
        }
    }
}

/// `POST /accounts/{sid}/subscribers/{user}/devicetoken` {deviceToken}.
async fn handle_devicetoken(mut req: Request, env: &Env, account_sid: &str, user: &str) -> Result<Reply, BackendError> {
    let caller = app::authenticate(&req, env, true)?;
    let subscriber = path_subscriber(&caller, env, account_sid, user).await?;
    let body: DeviceTokenRequest = app::json_body(&mut req).await?;
    let token = body.device_token.trim();
    let platform = devices::infer_platform(token, body.platform.as_deref())
        .map_err(|e| BackendError::BadRequest(e.to_string()))?;
    let device = Device::new(Device::sample_app_slot(platform), platform, token, app::now_ms())
        .map_err(|e| BackendError::BadRequest(e.to_string()))?;
    let kv = app::store(env)?;
    let key = devices::key(&subscriber);
    let mut list: DeviceList = app::get_json(&kv, &key).await?.unwrap_or_default();
    let device_id = device.device_id.clone();
    list.upsert(device);
    app::put_json(&kv, &key, &list, None).await?;
    Ok(Reply::json(&Registered { http_code: 200, subscriber, device_id, platform, devices: list.devices.len() }))
}

/// `GET|POST|DELETE /accounts/{sid}/subscribers/{user}/context`.
async fn handle_context(mut req: Request, env: &Env, account_sid: &str, user: &str) -> Result<Reply, BackendError> {
    let caller = app::authenticate(&req, env, true)?;
    let kv = app::store(env)?;
    let key = backend::context_key(user);
    match req.method() {
        Method::Get | Method::Head => {
            // Reading someone's context (the callee reads the caller's) needs
            // only membership of the account.
            if account_sid != app::account_sid(env)? {
                return Err(BackendError::Forbidden);
            }
            if let Caller::App(c) = &caller {
                if c.acct != account_sid {
                    return Err(BackendError::Forbidden);
                }
            }
            let record: Option<ContextRecord> = app::get_json(&kv, &key).await?;
            match record.filter(|r| r.live(app::now_ms())) {
                Some(r) => Ok(Reply::json(&ContextAnswer { http_code: 200, dial_to_number: &r.dial_to_number, message: &r.message })),
                None => Err(BackendError::NotFound("context")),
            }
        }
        Method::Delete => {
            path_subscriber(&caller, env, account_sid, user).await?;
            kv.delete(&key).await.map_err(|_| BackendError::Storage)?;
            Ok(backend::api_reply(200, "context cleared"))
        }
        _ => {
            path_subscriber(&caller, env, account_sid, user).await?;
            let body: ContextRequest = app::json_body(&mut req).await?;
            let record = ContextRecord::new(body, app::now_ms())?;
            app::put_json(&kv, &key, &record, Some(backend::CONTEXT_TTL_SECS)).await?;
            Ok(backend::api_reply(200, "context saved"))
        }
    }
}
