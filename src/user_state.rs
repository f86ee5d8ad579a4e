//! The Durable Object of the sample-app backend, two kinds of instance:
//!
//! - `user:<name>`: the login grants and known Exotel tokens that let the
//!   unchanged apps register a device, and the user's call context. Each
//!   request does its one storage read and write with no other I/O between,
//!   so "use a grant once" and "read sees the latest context" hold.
//! - `sub:<subscriber>`: the subscriber's device registry, applied one
//!   change after another (so two phones registering at once both stay)
//!   and mirrored to KV `dev:<subscriber>`, which the push path reads.
//!
//! The decisions are `handlers::push::session`'s; this is the shell. The
//! worker side ([`call`], [`registry`]) bounds every call with a time budget.

use handlers::push::devices::{self, DeviceList};
use handlers::push::session::{
    RegistryAnswer, RegistryState, SessionAnswer, SessionOp, UserSession,
};
use handlers::push::subscriber::SubscriberName;
use worker::kv::KvStore;
use worker::{console_error, durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::bindings;
use crate::runtime::budget::within;
use crate::runtime::clock::now_ms;
use crate::runtime::object;

const KEY: &str = "session";
const REGISTRY_KEY: &str = "registry";
/// Path prefix of registry requests: `/dev/<subscriber>`.
const REGISTRY_PATH: &str = "/dev/";

#[cfg(feature = "backend")]
#[durable_object]
pub struct UserState {
    state: State,
    env: Env,
}

#[cfg(feature = "backend")]
impl UserState {
    /// A registry operation for `sub`.
    async fn registry(&self, sub: SubscriberName, op: SessionOp) -> Result<Response> {
        let storage = self.state.storage();
        let key = devices::key(&sub);
        let kv = self.env.kv(bindings::DEVICES_KV).ok();
        let mut st: RegistryState = match storage.get(REGISTRY_KEY).await? {
            Some(s) => s,
            None => {
                // First use: take over what KV holds (records from before this object).
                let list: DeviceList = match &kv {
                    Some(kv) => kv.get(&key).json().await.ok().flatten().unwrap_or_default(),
                    None => DeviceList::default(),
                };
                // The KV read let other requests in: one of them may have started the record.
                storage
                    .get(REGISTRY_KEY)
                    .await?
                    .unwrap_or(RegistryState { list, version: 0 })
            }
        };
        let Some((answer, changed)) = st.apply(op) else {
            return Response::error("not a registry operation", 400);
        };
        if changed {
            storage.put(REGISTRY_KEY, &st).await?;
            if let Some(kv) = &kv {
                if !self.mirror(kv, &key).await {
                    return Response::error("registry mirror to KV failed", 503);
                }
            }
        }
        Response::from_json(&answer)
    }

    /// Writes the latest list to KV; if it moved on while the write was in
    /// flight (another request's write may land after ours), writes again.
    async fn mirror(&self, kv: &KvStore, key: &str) -> bool {
        let storage = self.state.storage();
        for _ in 0..8 {
            let Ok(Some(st)) = storage.get::<RegistryState>(REGISTRY_KEY).await else {
                return false;
            };
            let Ok(text) = serde_json::to_string(&st.list) else {
                return false;
            };
            let put = match kv.put(key, text) {
                Ok(p) => p.execute().await,
                Err(e) => Err(e),
            };
            if let Err(e) = put {
                console_error!("registry mirror: {e}");
                return false;
            }
            match storage.get::<RegistryState>(REGISTRY_KEY).await {
                Ok(Some(now)) if now.version != st.version => continue,
                _ => return true,
            }
        }
        true
    }
}

#[cfg(feature = "backend")]
impl DurableObject for UserState {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let op: SessionOp = match req.json().await {
            Ok(op) => op,
            Err(e) => return Response::error(format!("bad user-state op: {e}"), 400),
        };
        if let Some(sub) = path.strip_prefix(REGISTRY_PATH) {
            let Ok(sub) = SubscriberName::parse(sub) else {
                return Response::error("bad subscriber", 400);
            };
            return self.registry(sub, op).await;
        }
        if op.is_registry() {
            return Response::error("registry operations go to /dev/<subscriber>", 400);
        }
        let storage = self.state.storage();
        let mut session: UserSession = storage.get(KEY).await?.unwrap_or_default();
        let (answer, changed) = session.apply(op, now_ms());
        if changed {
            storage.put(KEY, &session).await?;
        }
        Response::from_json(&answer)
    }
}

async fn send<T: serde::de::DeserializeOwned>(
    env: &Env,
    name: &str,
    path: &str,
    op: &SessionOp,
    budget_ms: u64,
) -> Option<T> {
    let url = format!("https://user-state{path}");
    let work = object::call_bound(env, bindings::USER_STATE, name, &url, op);
    within(budget_ms, work).await.and_then(|r| r.ok())
}

/// Asks `user`'s object, within `budget_ms`. `None`: not bound, failed or slow.
pub async fn call(env: &Env, user: &str, op: &SessionOp, budget_ms: u64) -> Option<SessionAnswer> {
    send(env, &format!("user:{user}"), "/", op, budget_ms).await
}

/// Applies a registry operation in `sub`'s object (which mirrors to KV).
pub async fn registry(
    env: &Env,
    sub: &SubscriberName,
    op: &SessionOp,
    budget_ms: u64,
) -> Option<RegistryAnswer> {
    send(
        env,
        &format!("sub:{sub}"),
        &format!("{REGISTRY_PATH}{sub}"),
        op,
        budget_ms,
    )
    .await
}

/// Whether the binding exists (so a failure can say what is missing).
pub fn bound(env: &Env) -> bool {
    env.durable_object(bindings::USER_STATE).is_ok()
}
