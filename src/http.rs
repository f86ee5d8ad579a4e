//! Converting `handlers`' replies and the shell's errors into HTTP
//! responses: the one place that decides statuses and headers.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

use handlers::error::ParamError;
use handlers::push::app_api::api_reply;
use handlers::push::body::BodyError as PushBodyError;
use handlers::reply::{Body, ContentType, Reply};
use handlers::route::Family;
use wasm_bindgen::prelude::{wasm_bindgen, JsValue};
use worker::{console_error, web_sys, Headers, Response};

use crate::error::EdgeError;

#[wasm_bindgen(inline_js = r#"
// In `ContentType` order (`type_index`).
const TYPES = ["application/json", "text/plain"];
let shared;
function headersOf(type) {
  shared ??= TYPES.map((t) => new Headers({ "content-type": t, "cache-control": "no-store" }));
  return shared[type];
}
export function replyResponse(status, type, body) {
  return new Response(body.slice(), { status, headers: headersOf(type) });
}
export function keptResponse(status, type, body) {
  return new Response(body, { status, headers: headersOf(type) });
}
export function headResponse(status, type, length) {
  const headers = new Headers(headersOf(type));
  headers.set("content-length", String(length));
  return new Response(null, { status, headers });
}"#)]
extern "C" {
    /// `new Response(body, ...)` with [`respond`]'s headers, in one runtime
    /// call: the headers of each content type are one `Headers` object per
    /// isolate, which the runtime copies into each response (no object to
    /// convert, no header strings to decode per request); the runtime adds
    /// the body's `content-length` itself.
    #[wasm_bindgen(js_name = replyResponse)]
    fn reply_response(status: u16, content_type: u8, body: &[u8]) -> web_sys::Response;
    /// [`reply_response`] with a body the runtime already holds as a
    /// string (a kept body, [`with_kept_text`]): nothing is copied out of
    /// wasm memory. A string body would default to
    /// `text/plain;charset=UTF-8`, but only without a `content-type`, which
    /// these headers always have.
    #[wasm_bindgen(js_name = keptResponse)]
    fn kept_response(status: u16, content_type: u8, body: &JsValue) -> web_sys::Response;
    /// HEAD's response: the same headers, no body, and the length GET
    /// would send, which the runtime cannot know without a body.
    #[wasm_bindgen(js_name = headResponse)]
    fn head_response(status: u16, content_type: u8, length: u32) -> web_sys::Response;
}

/// A content type's index in `replyResponse`'s `TYPES`, which lists
/// [`ContentType::as_str`]'s values in this order.
fn type_index(t: ContentType) -> u8 {
    match t {
        ContentType::Json => 0,
        ContentType::TextPlain => 1,
    }
}

/// Builds the response for a reply. HEAD gets the same headers (including
/// the length GET would send, so HEAD's headers are GET's exactly: Exotel
/// checks) and no body. One call into the runtime instead of worker-rs's
/// ~10 (headers object, three `set`s, the init, the body array, the
/// response); the body is copied out of wasm memory before it returns.
pub fn respond(reply: &Reply, head: bool) -> web_sys::Response {
    let kind = type_index(reply.content_type);
    if head {
        // Bodies are small (a callback answer); u32 is far beyond them.
        let length = u32::try_from(reply.body.len()).unwrap_or(u32::MAX);
        head_response(reply.status, kind, length)
    } else {
        match &reply.body {
            Body::Kept(text) => {
                with_kept_text(text, |body| kept_response(reply.status, kind, body))
            }
            Body::Made(text) => reply_response(reply.status, kind, text.as_bytes()),
        }
    }
}

/// How many kept bodies an isolate holds as runtime strings: the static
/// answers a busy isolate serves (a few routes of a few lines); the
/// oldest goes first when a new config's answers arrive.
const KEPT_TEXTS: usize = 16;

thread_local! {
    /// Kept bodies (by allocation) and their runtime strings. Holding the
    /// `Arc` keeps its address from being reused while it names an entry.
    static KEPT_TEXT: RefCell<VecDeque<(Arc<str>, JsValue)>> =
        const { RefCell::new(VecDeque::new()) };
}

/// Runs `f` on `text` as a runtime string, made on its first use in this
/// isolate: a config answer's body crosses from wasm once, not per request.
fn with_kept_text<T>(text: &Arc<str>, f: impl FnOnce(&JsValue) -> T) -> T {
    KEPT_TEXT.with(|kept| {
        let mut kept = kept.borrow_mut();
        let at = match kept.iter().position(|(k, _)| Arc::ptr_eq(k, text)) {
            Some(at) => at,
            None => {
                if kept.len() == KEPT_TEXTS {
                    kept.pop_front();
                }
                kept.push_back((text.clone(), JsValue::from_str(text)));
                kept.len() - 1
            }
        };
        f(&kept[at].1)
    })
}

/// HEAD's answer from the one GET would give: its status and headers,
/// `content-length` included (the runtime sets that only on a body it
/// sends), and no body.
pub async fn head_of(mut get: Response) -> worker::Result<Response> {
    let status = get.status_code();
    let headers = get.headers().clone();
    let body = get.bytes().await?;
    headers.set("content-length", &body.len().to_string())?;
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .empty())
}

/// The status and body an error is answered with. Failures of the runtime
/// or an upstream are logged here and answered without their details.
pub fn error_reply(e: &EdgeError) -> Reply {
    let status = match e {
        EdgeError::NoRoute | EdgeError::NoFallback => 404,
        EdgeError::Config(_) | EdgeError::NotCallback => 500,
        EdgeError::MethodNotAllowed {
            family: Family::App | Family::AppQuiet,
            ..
        } => return api_reply(405, &e.to_string()),
        EdgeError::MethodNotAllowed { .. } => 405,
        EdgeError::CallbackToken(_) | EdgeError::Unauthorized => 401,
        EdgeError::Params(p) => match p {
            ParamError::TooLong { .. } => 414,
            ParamError::BodyTooLarge { .. } => 413,
            ParamError::UnsupportedContentType(_) => 415,
            ParamError::MissingCallSid | ParamError::BadLegs(_) | ParamError::BadBody { .. } => 400,
        },
        EdgeError::Body(b) => handlers::body::status(b),
        EdgeError::PushBody(PushBodyError::TooLarge(_)) | EdgeError::TooLarge(_) => 413,
        EdgeError::PushBody(_) => 400,
        EdgeError::Refused { status, .. } => *status,
        EdgeError::Unavailable(_) => 503,
        EdgeError::App(a) => return a.reply(),
        EdgeError::AppQuiet(a) => return a.quiet_reply(),
        EdgeError::Runtime(_)
        | EdgeError::Json(_)
        | EdgeError::ObjectStatus { .. }
        | EdgeError::Timeout(_)
        | EdgeError::WebCrypto { .. }
        | EdgeError::ServiceAccount { .. }
        | EdgeError::NotPem
        | EdgeError::OauthStatus(_)
        | EdgeError::OauthAnswer(_) => {
            console_error!("internal error: {e}");
            return Reply::error(500, "internal error");
        }
    };
    Reply::error(status, e.to_string())
}

/// The response for an error: [`error_reply`]'s, plus the headers some
/// statuses require (`Allow` on a 405, RFC 9110; a Basic challenge on a
/// callback's 401).
pub fn error_response(e: &EdgeError, head: bool) -> worker::Result<web_sys::Response> {
    match e {
        EdgeError::CallbackToken(_) => {
            // No hint of what was wrong, and the challenge Basic clients need.
            let h = Headers::new();
            h.set("content-type", "application/json")?;
            h.set("www-authenticate", "Basic realm=\"exoedge\"")?;
            Ok(Response::builder()
                .with_status(401)
                .with_headers(h)
                .fixed(br#"{"error":"unauthorized"}"#.to_vec())
                .into())
        }
        #[cfg(feature = "backend")]
        EdgeError::MethodNotAllowed {
            allow,
            family: Family::Console,
        } => {
            let mut r = crate::console::json_error(405, &e.to_string())?;
            r.headers_mut().set("allow", allow)?;
            Ok(r.into())
        }
        EdgeError::MethodNotAllowed { allow, .. } => {
            let r = respond(&error_reply(e), head);
            r.headers().set("allow", allow)?;
            Ok(r)
        }
        _ => Ok(respond(&error_reply(e), head)),
    }
}

/// A route's outcome as a response.
pub fn respond_result(
    result: &Result<Reply, EdgeError>,
    head: bool,
) -> worker::Result<web_sys::Response> {
    match result {
        Ok(reply) => Ok(respond(reply, head)),
        Err(e) => error_response(e, head),
    }
}
