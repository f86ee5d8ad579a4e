//! Outgoing HTTP: a POST bounded by a time budget.

use wasm_bindgen::JsValue;
use worker::{Fetch, Headers, Method, Request, RequestInit};

use super::budget::within;
use crate::error::EdgeError;

/// An HTTP answer: status and body text.
pub struct Answer {
    /// Status.
    pub status: u16,
    /// Body.
    pub body: String,
}

/// POSTs `body` with `headers`, answered within `timeout_ms` or
/// [`EdgeError::Timeout`].
pub async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: String,
    timeout_ms: u64,
) -> Result<Answer, EdgeError> {
    let h = Headers::new();
    for (k, v) in headers {
        h.set(k, v)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(h)
        .with_body(Some(JsValue::from_str(&body)));
    let req = Request::new_with_init(url, &init)?;
    let fetch = async move {
        let mut resp = Fetch::Request(req).send().await?;
        let status = resp.status_code();
        let body = resp.text().await?;
        Ok::<_, worker::Error>(Answer { status, body })
    };
    match within(timeout_ms, fetch).await {
        Some(Ok(a)) => Ok(a),
        Some(Err(e)) => Err(e.into()),
        None => Err(EdgeError::Timeout(timeout_ms)),
    }
}
