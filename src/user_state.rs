//! The Durable Object kept per sample-app user (`user:<name>`): the login
//! grants and known Exotel tokens that let the unchanged apps register a
//! device, and the user's call context. One instance handles one request
//! at a time, and each does its one storage read and write with no other
//! I/O between, so "use a grant once" and "read sees the latest context"
//! hold. The decisions are `handlers::push::session`'s; this is the shell.
//!
//! The worker side ([`call`]) bounds every call with a time budget.

use handlers::push::session::{SessionAnswer, SessionOp, UserSession};
use worker::{durable_object, DurableObject, Env, Headers, Method, Request, RequestInit, Response, Result, State};

use crate::bindings;
use crate::budget::within;

const KEY: &str = "session";

#[durable_object]
pub struct UserState {
    state: State,
}

impl DurableObject for UserState {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: SessionOp = match req.json().await {
            Ok(op) => op,
            Err(e) => return Response::error(format!("bad user-state op: {e}"), 400),
        };
        let storage = self.state.storage();
        let mut session: UserSession = storage.get(KEY).await?.unwrap_or_default();
        let (answer, changed) = session.apply(op, worker::Date::now().as_millis());
        if changed {
            storage.put(KEY, &session).await?;
        }
        Response::from_json(&answer)
    }
}

/// Asks `user`'s object, within `budget_ms`. `None`: not bound, failed or slow.
pub async fn call(env: &Env, user: &str, op: &SessionOp, budget_ms: u64) -> Option<SessionAnswer> {
    let work = async {
        let ns = env.durable_object(bindings::USER_STATE).ok()?;
        let stub = ns.id_from_name(&format!("user:{user}")).ok()?.get_stub().ok()?;
        let headers = Headers::new();
        headers.set("content-type", "application/json").ok()?;
        let body = serde_json::to_string(op).ok()?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
        let req = Request::new_with_init("https://user-state/", &init).ok()?;
        let mut resp = stub.fetch_with_request(req).await.ok()?;
        if resp.status_code() != 200 {
            return None;
        }
        resp.json::<SessionAnswer>().await.ok()
    };
    within(budget_ms, work).await.flatten()
}

/// Whether the binding exists (so a failure can say what is missing).
pub fn bound(env: &Env) -> bool {
    env.durable_object(bindings::USER_STATE).is_ok()
}
