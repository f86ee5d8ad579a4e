//! Hello-world floor for the edge benchmarks: the same runtime binding
//! (`worker`), the same response headers as exoedge's `src/http.rs`, no
//! routing, config or parsing. exoedge's answers are compared against this.

use worker::{event, Context, Env, Headers, Request, Response, Result};

/// The Connect answer exoedge gives for the default config's support line,
/// so both workers send the same bytes.
const CONNECT: &str = include_str!("../../js-worker/connect.json");

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    headers.set("content-length", &CONNECT.len().to_string())?;
    Ok(Response::builder()
        .with_status(200)
        .with_headers(headers)
        .fixed(CONNECT.as_bytes().to_vec()))
}
