//! `POST /exotel/status`: StatusCallback as JSON, urlencoded or multipart.

use handlers::error::ParamError;
use handlers::reply::Reply;
use handlers::status::{self, StatusReport, MAX_BODY_BYTES};
use wasm_bindgen::JsCast;
use worker::{Context, Env, Headers, Method, Request, RequestInit};

use crate::body;
use crate::error::EdgeError;

/// Reads the body by its content type, logs the outcome, answers 200. It
/// teaches sticky routing nothing: real payloads do not name the agent
/// (docs/routing.md).
pub async fn handle_status(
    mut req: Request,
    _env: &Env,
    _ctx: &Context,
) -> Result<Reply, EdgeError> {
    let content_type = req
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    let body = body::read(&mut req, MAX_BODY_BYTES).await?;
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let parsed = match mime.as_str() {
        "application/json" => StatusReport::from_json(&body),
        "application/x-www-form-urlencoded" => {
            StatusReport::from_pairs(url::form_urlencoded::parse(&body))
        }
        "multipart/form-data" => match multipart_pairs(&content_type, body).await {
            Ok(pairs) => StatusReport::from_pairs(pairs),
            Err(e) => Err(e),
        },
        _ => Err(ParamError::UnsupportedContentType(mime)),
    };
    match parsed {
        Ok(report) => {
            worker::console_log!("{}", report.log_line());
            let reply = status::reply();
            crate::trace::status(_env, _ctx, &report, &reply);
            Ok(reply)
        }
        Err(e) => Err(e.into()),
    }
}

/// Multipart parsing is the runtime's own (`Request.formData()`): a
/// well-tested parser we need not carry in the wasm.
async fn multipart_pairs(
    content_type: &str,
    body: Vec<u8>,
) -> Result<Vec<(String, String)>, ParamError> {
    let bad = |detail: String| ParamError::BadBody {
        kind: "multipart",
        detail,
    };
    let headers = Headers::new();
    headers
        .set("content-type", content_type)
        .map_err(|e| bad(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    let mut inner = Request::new_with_init("https://exoedge.invalid/", &init)
        .map_err(|e| bad(e.to_string()))?;
    let form = inner.form_data().await.map_err(|e| bad(e.to_string()))?;
    let js: wasm_bindgen::JsValue = form.into();
    let iter = js_sys::try_iter(&js)
        .map_err(|_| bad("form data not iterable".into()))?
        .ok_or_else(|| bad("form data not iterable".into()))?;
    let mut pairs = Vec::new();
    for entry in iter {
        let entry = entry.map_err(|_| bad("bad form entry".into()))?;
        let arr: js_sys::Array = entry.unchecked_into();
        // File parts carry no StatusCallback field; only text values count.
        if let (Some(k), Some(v)) = (arr.get(0).as_string(), arr.get(1).as_string()) {
            pairs.push((k, v));
        }
    }
    Ok(pairs)
}
