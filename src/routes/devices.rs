//! `POST /v1/devices` and `DELETE /v1/devices/{subscriber}/{device_id}`:
//! the device registry, for apps that hold an app token; and
//! [`update_registry`], through which every registry change goes.

use handlers::push::app_api::AppError;
use handlers::push::devices::{self, DeviceList, RegisterRequest, Registered};
use handlers::push::session::{RegistryAnswer, RegistryState, SessionOp};
use handlers::push::subscriber::SubscriberName;
use handlers::reply::Reply;
use serde::Serialize;
use worker::{Env, Request};

use crate::app::{self, Caller};
use crate::runtime::clock::now_ms;
use crate::user_state;

/// Budget of a registry change (a phone or a background task waits, not a caller).
const REGISTRY_BUDGET_MS: u64 = 3_000;

/// Applies a change to a subscriber's registry: in its Durable Object
/// (one change after another, mirrored to KV `dev:<subscriber>`) when
/// `USER_STATE` is bound, else as a read-modify-write of the KV record
/// (two changes at once may then lose one).
pub async fn update_registry(
    env: &Env,
    subscriber: &SubscriberName,
    op: SessionOp,
) -> Result<RegistryAnswer, AppError> {
    if user_state::bound(env) {
        return user_state::registry(env, subscriber, &op, REGISTRY_BUDGET_MS)
            .await
            .ok_or(AppError::Storage);
    }
    let kv = app::store(env)?;
    let key = devices::key(subscriber);
    let list: DeviceList = app::get_json(&kv, &key).await?.unwrap_or_default();
    let mut st = RegistryState { list, version: 0 };
    let (answer, changed) = st.apply(op).ok_or(AppError::Storage)?;
    if changed {
        app::put_json(&kv, &key, &st.list, None).await?;
    }
    Ok(answer)
}

fn claims_for(caller: Caller, subscriber: &SubscriberName) -> Result<(), AppError> {
    match caller {
        Caller::App(c) if &c.sub == subscriber => Ok(()),
        Caller::App(_) => Err(AppError::Forbidden),
        // These routes are for apps that hold an app token; no window here.
        Caller::OtherBearer(_) | Caller::Anonymous => Err(AppError::Unauthenticated),
    }
}

/// `POST /v1/devices` {subscriber, platform?, push_token, device_id}.
pub async fn handle_register(
    mut req: Request,
    env: &Env,
    caller: Caller,
) -> Result<Reply, AppError> {
    // The credential is in the headers: refuse before reading any body.
    if !matches!(caller, Caller::App(_)) {
        return Err(AppError::Unauthenticated);
    }
    let r: RegisterRequest = app::json_body(&mut req).await?;
    claims_for(caller, &r.subscriber)?;
    let device = r
        .device(now_ms())
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (device_id, platform) = (device.device_id.clone(), device.platform);
    let a = update_registry(env, &r.subscriber, SessionOp::RegisterDevice { device }).await?;
    Ok(Reply::json(&Registered {
        http_code: 200,
        subscriber: r.subscriber,
        device_id,
        platform,
        devices: a.devices,
    }))
}

/// `DELETE /v1/devices/{subscriber}/{device_id}`.
pub async fn handle_unregister(
    env: &Env,
    caller: Caller,
    subscriber: &str,
    device_id: &str,
) -> Result<Reply, AppError> {
    let subscriber =
        SubscriberName::parse(subscriber).map_err(|e| AppError::BadRequest(e.to_string()))?;
    claims_for(caller, &subscriber)?;
    let a = update_registry(
        env,
        &subscriber,
        SessionOp::RemoveDevice {
            device_id: device_id.to_owned(),
        },
    )
    .await?;
    if a.removed == 0 {
        return Err(AppError::NotFound("device"));
    }
    #[derive(Serialize)]
    struct Removed {
        http_code: u16,
        removed: bool,
        devices: usize,
    }
    Ok(Reply::json(&Removed {
        http_code: 200,
        removed: true,
        devices: a.devices,
    }))
}
