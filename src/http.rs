//! Converting `handlers`' replies and errors into HTTP responses: the one
//! place that decides statuses and headers.

use handlers::error::{ParamError, Unauthorized};
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
    let builder = Response::builder().with_status(reply.status).with_headers(headers);
    if head {
        return Ok(builder.empty());
    }
    Ok(builder.fixed(reply.body.clone().into_bytes()))
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
