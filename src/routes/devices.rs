//! `POST /v1/devices` and `DELETE /v1/devices/{subscriber}/{device_id}`:
//! the device registry, for apps that hold an app token.

use handlers::push::backend::BackendError;
use handlers::push::devices::{self, DeviceList, RegisterRequest, Registered};
use handlers::push::subscriber::SubscriberName;
use handlers::reply::Reply;
use serde::Serialize;
use worker::{Env, Request};

use crate::app::{self, Caller};

fn claims_for(caller: Caller, subscriber: &SubscriberName) -> Result<(), BackendError> {
    match caller {
        Caller::App(c) if &c.sub == subscriber => Ok(()),
        Caller::App(_) => Err(BackendError::Forbidden),
        // These routes are for apps that hold an app token; no window here.
        Caller::OtherBearer(_) | Caller::Anonymous => Err(BackendError::Unauthenticated),
    }
}

/// `POST /v1/devices` {subscriber, platform?, push_token, device_id}.
pub async fn handle_register(mut req: Request, env: &Env) -> Result<Reply, BackendError> {
    let caller = app::authenticate(&req, env)?;
    let r: RegisterRequest = app::json_body(&mut req).await?;
    claims_for(caller, &r.subscriber)?;
    let device = r.device(app::now_ms()).map_err(|e| BackendError::BadRequest(e.to_string()))?;
    let kv = app::store(env)?;
    let key = devices::key(&r.subscriber);
    let mut list: DeviceList = app::get_json(&kv, &key).await?.unwrap_or_default();
    let (device_id, platform) = (device.device_id.clone(), device.platform);
    list.upsert(device);
    app::put_json(&kv, &key, &list, None).await?;
    Ok(Reply::json(&Registered { http_code: 200, subscriber: r.subscriber, device_id, platform, devices: list.devices.len() }))
}

/// `DELETE /v1/devices/{subscriber}/{device_id}`.
pub async fn handle_unregister(req: Request, env: &Env, subscriber: &str, device_id: &str) -> Result<Reply, BackendError> {
    let caller = app::authenticate(&req, env)?;
    let subscriber = SubscriberName::parse(subscriber).map_err(|e| BackendError::BadRequest(e.to_string()))?;
    claims_for(caller, &subscriber)?;
    let kv = app::store(env)?;
    let key = devices::key(&subscriber);
    let mut list: DeviceList = app::get_json(&kv, &key).await?.ok_or(BackendError::NotFound("device"))?;
    if !list.remove_device(device_id) {
        return Err(BackendError::NotFound("device"));
    }
    app::put_json(&kv, &key, &list, None).await?;
    #[derive(Serialize)]
    struct Removed {
        http_code: u16,
        removed: bool,
        devices: usize,
    }
    Ok(Reply::json(&Removed { http_code: 200, removed: true, devices: list.devices.len() }))
}
