//! Converting `handlers`' replies and errors into HTTP responses: the one
//! place that decides statuses and headers.

use handlers::error::{BodyError, ParamError, Unauthorized};
use handlers::reply::Reply;
use worker::{Headers, Response};

/// Builds the response for a reply. HEAD gets the same headers (including
/// the length GET would send) and no body.
pub fn respond(reply: &Reply, head: bool) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", reply.content_type.as_str())?;
    headers.set("cache-control", "no-store")?;
    // Set on GET too, so HEAD's headers are GET's exactly (Exotel checks).
    headers.set("content-length", &reply.body.len().to_string())?;
    let builder = Response::builder()
        .with_status(reply.status)
        .with_headers(headers);
    if head {
        return Ok(builder.empty());
    }
    Ok(builder.fixed(reply.body.clone().into_bytes()))
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

/// The status for a request we could not read.
pub fn param_error(e: &ParamError) -> Reply {
    let status = match e {
        ParamError::TooLong { .. } => 414,
        ParamError::BodyTooLarge { .. } => 413,
        ParamError::UnsupportedContentType(_) => 415,
        ParamError::MissingCallSid | ParamError::BadLegs(_) | ParamError::BadBody { .. } => 400,
    };
    Reply::error(status, e.to_string())
}

/// 401 with a challenge and no hint of what was wrong.
pub fn unauthorized(_: Unauthorized) -> worker::Result<Response> {
    let h = Headers::new();
    h.set("content-type", "application/json")?;
    h.set("www-authenticate", "Basic realm=\"exoedge\"")?;
    Ok(Response::builder()
        .with_status(401)
        .with_headers(h)
        .fixed(br#"{"error":"unauthorized"}"#.to_vec()))
}

/// The reply for a body refused or unreadable (`crate::body`).
pub fn body_error(e: &BodyError) -> Reply {
    Reply::error(handlers::body::status(e), e.to_string())
}

/// 405 with the route's `Allow` (RFC 9110 requires it). `reply` is the
/// route family's own error body.
pub fn method_not_allowed(reply: &Reply, allow: &str, head: bool) -> worker::Result<Response> {
    let mut r = respond(reply, head)?;
    r.headers_mut().set("allow", allow)?;
    Ok(r)
}
