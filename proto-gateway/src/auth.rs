//! Bearer-token authentication for admin-server routes that act rather
//! than observe (the APNs VoIP relay): its own module so that the admin
//! server and the routes it carries do not import each other.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use subtle::ConstantTimeEq;

/// Requires `Authorization: Bearer <token>` with one of `tokens` (several
/// allow rotation) on every route of `routes`; 401 otherwise. Comparison is
/// constant-time; tokens are never logged.
pub fn require_bearer(routes: Router, tokens: Vec<String>) -> Router {
    let tokens: Arc<[String]> = tokens.into();
    routes.layer(axum::middleware::from_fn_with_state(tokens, check_bearer))
}

async fn check_bearer(State(tokens): State<Arc<[String]>>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let ok = presented.is_some_and(|p| {
        tokens
            .iter()
            .filter(|t| !t.is_empty())
            .fold(false, |acc, t| {
                acc | bool::from(t.as_bytes().ct_eq(p.as_bytes()))
            })
    });
    if ok {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or wrong bearer token",
        )
            .into_response()
    }
}
