//! `POST /exotel/push`: Exotel's push notification endpoint (seed
//! 5687-5720). Reads the body, finds the subscriber's devices, pushes to all
//! of them at once, and answers 200 only if a provider took the push.

use futures_util::future::join_all;
use handlers::push::body::{BodyError, PushBody};
use handlers::push::devices::{self, DeviceList, Platform};
use handlers::push::{self, Delivery, DeviceOutcome};
use handlers::reply::Reply;
use worker::{console_error, console_log, Context, Env, Request};

use crate::app;
use crate::relay::{self, Fcm};

/// Handles one push from Exotel.
pub async fn handle_push(mut req: Request, env: &Env, ctx: &Context) -> Reply {
    let content_type = req.headers().get("content-type").ok().flatten();
    let raw = match req.bytes().await {
        Ok(b) => b,
        Err(_) => return Reply::error(400, "unreadable body"),
    };
    let body = match PushBody::parse(content_type.as_deref(), &raw) {
        Ok(b) => b,
        Err(e @ BodyError::TooLarge(_)) => return Reply::error(413, e.to_string()),
        Err(e) => return Reply::error(400, e.to_string()),
    };
    let who = handlers::phone::mask(body.subscriber_name.as_str());
    let kv = match app::store(env) {
        Ok(kv) => kv,
        Err(e) => return Reply::error(503, e.to_string()),
    };
    let key = devices::key(&body.subscriber_name);
    let list: DeviceList = match app::get_json(&kv, &key).await {
        Ok(Some(l)) => l,
        Ok(None) => {
            console_log!("push sub={who} -> 404 unknown subscriber");
            return push::unknown_subscriber(&body.subscriber_name);
        }
        Err(e) => return Reply::error(503, e.to_string()),
    };
    if list.devices.is_empty() {
        console_log!("push sub={who} -> 410 no device");
        return push::no_device(&body.subscriber_name);
    }
    let fcm = Fcm::from_env(env).unwrap_or_else(|e| {
        console_error!("fcm: {e}");
        None
    });
    let sends = list.devices.iter().map(|d| {
        let (fcm, body) = (&fcm, &body);
        async move {
            let delivery = match (d.platform, fcm) {
                (Platform::Android, Some(f)) => f.send(&d.token, body).await,
                (Platform::Android, None) => Delivery::Failed { reason: "fcm not configured (FCM_SERVICE_ACCOUNT)".into() },
                (Platform::Ios, _) => relay::send_apns(env, &d.token, body).await,
            };
            DeviceOutcome { device_id: d.device_id.clone(), platform: d.platform, delivery }
        }
    });
    let outcomes = join_all(sends).await;
    let dead: Vec<String> = list
        .devices
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| o.delivery == Delivery::Unregistered)
        .map(|(d, _)| d.token.clone())
        .collect();
    if !dead.is_empty() {
        // Off the caller's path: re-read so a registration made meanwhile survives.
        ctx.wait_until(async move {
            let Ok(Some(mut current)) = app::get_json::<DeviceList>(&kv, &key).await else { return };
            let n = current.remove_tokens(&dead);
            if n > 0 && app::put_json(&kv, &key, &current, None).await.is_ok() {
                console_log!("push: removed {n} dead token(s)");
            }
        });
    }
    let reply = push::answer(&body.subscriber_name, &outcomes);
    crate::trace::push(env, ctx, body.subscriber_name.as_str(), &reply, &outcomes);
    console_log!("push sub={who} devices={} -> {}", outcomes.len(), reply.status);
    reply
}
