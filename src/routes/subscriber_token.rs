//! `POST /v1/subscriber-token` {device_id, platform?}: a fresh Exotel
//! subscriber token for the app token's subscriber. The Exotel API key and
//! token stay in the worker.

use handlers::push::app_api::{self, AppError, SubscriberTokenAnswer, SubscriberTokenRequest};
use handlers::push::devices::Platform;
use handlers::reply::Reply;
use worker::{Env, Request};

use crate::app::{self, Caller};

/// Handles one token request.
pub async fn handle_subscriber_token(
    mut req: Request,
    env: &Env,
    caller: Caller,
) -> Result<Reply, AppError> {
    let Caller::App(claims) = caller else {
        return Err(AppError::Unauthenticated);
    };
    let r: SubscriberTokenRequest = app::json_body(&mut req).await?;
    let device_id = r.device_id.trim();
    if device_id.is_empty() || device_id.len() > 128 {
        return Err(AppError::BadRequest(
            "device_id is required (at most 128 bytes)".into(),
        ));
    }
    let platform = match r
        .platform
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => Platform::parse(p).ok_or_else(|| {
            AppError::BadRequest(format!("platform must be android or ios, not {p:?}"))
        })?,
        None => app_api::platform_of_device_id(device_id),
    };
    let token = app::subscriber_token(env, &claims.sub, platform, device_id).await?;
    Ok(Reply::json(&SubscriberTokenAnswer {
        http_code: 200,
        subscriber_name: claims.sub,
        subscriber_token: token,
    }))
}
