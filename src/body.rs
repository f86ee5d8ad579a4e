//! The one way a route reads its request body: within the route's limit,
//! never more.
//!
//! A declared `Content-Length` over the limit is refused before a byte is
//! read. Otherwise the body is read as the stream it is (a chunked upload
//! has no length), counted chunk by chunk ([`handlers::body::Collector`]);
//! nothing past the limit is kept. Up to [`handlers::body::DRAIN_BYTES`]
//! past it are read and dropped, so a client slightly over gets its 413
//! rather than a connection reset; past that the read is cancelled, the
//! runtime stops pulling the client's bytes, and the route answers 413
//! having held at most the limit plus one chunk. `Request::bytes()` would
//! instead buffer everything the client sends, up to the edge's 100 MB, in
//! an isolate of 128 MB that also serves live calls (issue 17,
//! RELIABILITY.md).
//!
//! The chunks stay the runtime's own `Uint8Array`s until the body is known
//! to fit; then they are copied once into a buffer of the body's exact
//! size. A refused body never touches wasm memory, which never shrinks;
//! copying each chunk into a `Vec` grown by doubling held up to twice the
//! limit there (RELIABILITY.md has the measurements).
//!
//! Routes whose credential travels in headers check it before calling
//! [`read`]; the caller of [`read`] decides the limit (the events route
//! passes its own for batches).

use handlers::body::{check_declared, Chunk, Collector};
use handlers::error::BodyError;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::web_sys::ReadableStreamDefaultReader;
use worker::Request;

/// A chunk as the runtime's stream hands it over, still in JS memory.
struct JsChunk(Uint8Array);

impl Chunk for JsChunk {
    fn byte_len(&self) -> usize {
        self.0.length() as usize
    }
}

/// A JS failure's text, as workers-rs words it (`Error: aborted`).
fn js_message(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| e.to_string().into()))
        .unwrap_or_else(|| "the body stream failed".to_owned())
}

fn unreadable(e: JsValue) -> BodyError {
    BodyError::Unreadable(js_message(&e))
}

/// Reads the whole body of `req` if it is at most `limit` bytes.
pub async fn read(req: &mut Request, limit: usize) -> Result<Vec<u8>, BodyError> {
    let declared = req.headers().get("content-length").ok().flatten();
    check_declared(declared.as_deref(), limit)?;
    let Some(stream) = req.inner().body() else {
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Collector::new(limit);
    loop {
        let step = match JsFuture::from(reader.read()).await {
            Ok(step) => step,
            // The client went away: the body ends here, as workers-rs's
            // `ByteStream` (which this replaces) ends an aborted stream.
            Err(e) if js_message(&e) == "Error: aborted" => break,
            Err(e) => return Err(unreadable(e)),
        };
        if Reflect::get(&step, &"done".into())
            .map_err(unreadable)?
            .is_truthy()
        {
            break;
        }
        let chunk = Reflect::get(&step, &"value".into())
            .map_err(unreadable)?
            .dyn_into::<Uint8Array>()
            .map_err(unreadable)?;
        if let Err(e) = body.push(JsChunk(chunk)) {
            // Far past the limit: the runtime stops pulling the client's
            // bytes (the promise needs no waiting for).
            let _cancelling = reader.cancel();
            return Err(e);
        }
    }
    // The body fits: one copy into wasm memory, of its exact size.
    let (chunks, len) = body.into_chunks()?;
    let mut bytes = vec![0; len];
    let mut at = 0;
    for JsChunk(c) in &chunks {
        let n = c.length() as usize;
        c.copy_to(&mut bytes[at..at + n]);
        at += n;
    }
    Ok(bytes)
}
