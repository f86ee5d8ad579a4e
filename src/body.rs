//! The one way a route reads its request body: within the route's limit,
//! never more.
//!
//! A declared `Content-Length` over the limit is refused before a byte is
//! read. Otherwise the body is read as the stream it is (a chunked upload
//! has no length), counted chunk by chunk ([`handlers::body::Collector`]);
//! nothing past the limit is kept. Up to [`handlers::body::DRAIN_BYTES`]
//! past it are read and dropped, so a client slightly over gets its 413
//! rather than a connection reset; past that the stream is dropped, which
//! cancels it (wasm-streams cancels a reader on drop), the runtime stops
//! pulling the client's bytes, and the route answers 413 having held at
//! most the limit plus one chunk. `Request::bytes()` would
//! instead buffer everything the client sends, up to the edge's 100 MB, in
//! an isolate of 128 MB that also serves live calls (issue 17,
//! RELIABILITY.md).
//!
//! Routes whose credential travels in headers check it before calling
//! [`read`]; the caller of [`read`] decides the limit (the events route
//! passes its own for batches).

use futures_util::StreamExt;
use handlers::body::{check_declared, Collector};
use handlers::error::BodyError;
use worker::Request;

/// Reads the whole body of `req` if it is at most `limit` bytes.
pub async fn read(req: &mut Request, limit: usize) -> Result<Vec<u8>, BodyError> {
    let declared = req.headers().get("content-length").ok().flatten();
    let declared = check_declared(declared.as_deref(), limit)?;
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut stream = req
        .stream()
        .map_err(|e| BodyError::Unreadable(e.to_string()))?;
    let mut body = Collector::new(limit, declared);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Unreadable(e.to_string()))?;
        // On Err the stream is dropped here, cancelling the rest unread.
        body.push(&chunk)?;
    }
    body.finish()
}
