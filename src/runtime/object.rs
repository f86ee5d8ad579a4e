//! Calling a Durable Object: one JSON operation POSTed to the instance
//! named `name`, one JSON answer back. Every object the worker talks to
//! (`RoutingState`, `UserState`, `EventLog`, `DeadLetterIndex`) is called
//! through [`call`]; callers bound it with [`super::budget::within`].

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Headers, Method, ObjectNamespace, Request, RequestInit};

use crate::error::EdgeError;

/// POSTs `op` to `url` on the instance `name` of `ns`. `Err` when the
/// object cannot be reached, does not answer 200, or answers something
/// that is not an `R`.
pub async fn call<Op: Serialize, R: DeserializeOwned>(
    ns: &ObjectNamespace,
    name: &str,
    url: &str,
    op: &Op,
) -> Result<R, EdgeError> {
    let stub = ns.id_from_name(name)?.get_stub()?;
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    let body = serde_json::to_string(op)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let req = Request::new_with_init(url, &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        let body = resp.text().await.unwrap_or_default();
        return Err(EdgeError::ObjectStatus {
            status: resp.status_code(),
            body,
        });
    }
    Ok(resp.json::<R>().await?)
}

/// [`call`] on the namespace bound as `binding`.
pub async fn call_bound<Op: Serialize, R: DeserializeOwned>(
    env: &Env,
    binding: &str,
    name: &str,
    url: &str,
    op: &Op,
) -> Result<R, EdgeError> {
    call(&env.durable_object(binding)?, name, url, op).await
}
