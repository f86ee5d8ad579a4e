//! `POST /exotel/push`: Exotel's push notification endpoint (seed
//! 5687-5720). Reads the body, finds the subscriber's devices, pushes to all
//! of them at once, and answers 200 only if a provider took the push.

use futures_util::future::join_all;
use handlers::push::body::PushBody;
use handlers::push::devices::{self, DeviceList, Transport};
use handlers::push::session::SessionOp;
use handlers::push::{self, DeviceOutcome, PushOutcome};
use handlers::reply::Reply;
use worker::{console_error, console_log, Context, Env, Request};

use super::devices as device_routes;
use crate::app;
use crate::error::EdgeError;
use crate::push_clients::{self, Fcm};

/// Handles one push from Exotel.
pub async fn handle_push(mut req: Request, env: &Env, ctx: &Context) -> Result<Reply, EdgeError> {
    let content_type = req.headers().get("content-type").ok().flatten();
    let raw = crate::body::read(&mut req, handlers::push::body::MAX_BODY).await?;
    let body = PushBody::parse(content_type.as_deref(), &raw)?;
    let who = handlers::phone::mask(body.subscriber_name.as_str());
    let kv = app::store(env).map_err(|e| EdgeError::Unavailable(e.to_string()))?;
    let key = devices::key(&body.subscriber_name);
    let list: DeviceList = match app::get_json(&kv, &key).await {
        Ok(Some(l)) => l,
        Ok(None) => {
            console_log!("push sub={who} -> 404 unknown subscriber");
            return Ok(push::unknown_subscriber(&body.subscriber_name));
        }
        Err(e) => return Err(EdgeError::Unavailable(e.to_string())),
    };
    if list.devices.is_empty() {
        console_log!("push sub={who} -> 410 no device");
        return Ok(push::no_device(&body.subscriber_name));
    }
    let fcm = Fcm::from_env(env).unwrap_or_else(|e| {
        console_error!("fcm: {e}");
        None
    });
    let sends = list.devices.iter().map(|d| {
        let (fcm, body) = (&fcm, &body);
        async move {
            let delivery = match (d.transport(), fcm) {
                (Transport::Fcm, Some(f)) => f.send(&d.token, body, d.platform).await,
                (Transport::Fcm, None) => PushOutcome::Failed {
                    reason: "fcm not configured (FCM_SERVICE_ACCOUNT)".into(),
                },
                (Transport::ApnsVoip, _) => push_clients::send_apns(env, &d.token, body).await,
            };
            DeviceOutcome {
                device_id: d.device_id.clone(),
                platform: d.platform,
                delivery,
            }
        }
    });
    let outcomes = join_all(sends).await;
    let dead: Vec<String> = list
        .devices
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| o.delivery == PushOutcome::Unregistered)
        .map(|(d, _)| d.token.clone())
        .collect();
    if !dead.is_empty() {
        // Off the caller's path, through the registry (one change after
        // another), so a registration made meanwhile survives.
        let (env, sub) = (env.clone(), body.subscriber_name.clone());
        ctx.wait_until(async move {
            match device_routes::update_registry(
                &env,
                &sub,
                SessionOp::RemoveTokens { tokens: dead },
            )
            .await
            {
                Ok(a) if a.removed > 0 => console_log!("push: removed {} dead token(s)", a.removed),
                Ok(_) => {}
                Err(e) => console_error!("push: dead tokens kept: {e}"),
            }
        });
    }
    let reply = push::answer(&body.subscriber_name, &outcomes);
    crate::trace::push(env, ctx, body.subscriber_name.as_str(), &reply, &outcomes);
    console_log!(
        "push sub={who} devices={} -> {}",
        outcomes.len(),
        reply.status
    );
    Ok(reply)
}
