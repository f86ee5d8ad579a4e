//! The admin HTTP server: `/healthz`, `/metrics`, and any routes other
//! modules mount on it.
//!
//! # Mounting another route
//! A module exposes `pub fn routes(...) -> axum::Router` and `Gateway::start`
//! (lib.rs) merges it next to [`router`], as it does the APNs relay. Routes
//! that act (rather than observe) must be authenticated: wrap them with
//! `auth::require_bearer`, e.g. `auth::require_bearer(apns_router, tokens)`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::metrics::Metrics;
use crate::replica::ReplicaState;
use crate::store::Outbox;

/// What the built-in admin routes read.
#[derive(Clone)]
pub struct AdminState {
    /// Gateway metrics.
    pub metrics: Arc<Metrics>,
    /// False once shutdown has begun (load balancers stop sending).
    pub serving: Arc<AtomicBool>,
    /// The outbox writer; unhealthy when it has stopped, since no event
    /// can be acknowledged then.
    pub outbox: Option<Outbox>,
    /// Edge-store mode's state; `None` in local-outbox mode.
    pub replica: Option<Arc<ReplicaState>>,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    queue_depth: i64,
    /// `edge-store` (ack once the edge stored) or `local-outbox` (ack once
    /// the local fsync committed).
    mode: &'static str,
    /// Edge-store mode: `confirming` (acks at the edge) or `fallback` (the
    /// edge did not confirm; acks from the local outbox until it delivers).
    #[serde(skip_serializing_if = "Option::is_none")]
    edge: Option<&'static str>,
    /// Edge-store mode: keys whose events wait in the local outbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    local_keys: Option<usize>,
}

/// `/healthz` and `/metrics`.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz(State(state): State<AdminState>) -> impl IntoResponse {
    let queue_depth = state.metrics.queue_depth().max(0);
    let (mode, edge, local_keys) = match &state.replica {
        Some(r) => (
            "edge-store",
            Some(if r.in_fallback() {
                "fallback"
            } else {
                "confirming"
            }),
            Some(r.local_keys()),
        ),
        None => ("local-outbox", None, None),
    };
    let health = |status| Health {
        status,
        queue_depth,
        mode,
        edge,
        local_keys,
    };
    let status = if !state.serving.load(Ordering::Relaxed) {
        "shutting down"
    } else if state.outbox.as_ref().is_some_and(|o| !o.is_running()) {
        "outbox writer stopped"
    } else {
        return (StatusCode::OK, Json(health("ok")));
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(health(status)))
}

async fn metrics(State(state): State<AdminState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::require_bearer;
    use axum::body::Body;
    use tower::ServiceExt as _;

    fn state() -> AdminState {
        AdminState {
            metrics: Arc::new(Metrics::default()),
            serving: Arc::new(AtomicBool::new(true)),
            outbox: None,
            replica: None,
        }
    }

    async fn status(router: Router, req: http::Request<Body>) -> StatusCode {
        router.oneshot(req).await.unwrap().status()
    }

    #[tokio::test]
    async fn health_and_metrics() {
        let s = state();
        let get = |p: &str| http::Request::get(p).body(Body::empty()).unwrap();
        assert_eq!(
            status(router(s.clone()), get("/healthz")).await,
            StatusCode::OK
        );
        assert_eq!(
            status(router(s.clone()), get("/metrics")).await,
            StatusCode::OK
        );
        s.serving.store(false, Ordering::Relaxed);
        assert_eq!(
            status(router(s), get("/healthz")).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[tokio::test]
    async fn health_fails_when_the_outbox_writer_stops() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let (outbox, writer) =
            Outbox::start(&dir.path().join("o.db"), 8, tx, Arc::default()).unwrap();
        let s = AdminState {
            outbox: Some(outbox.clone()),
            ..state()
        };
        let get = || http::Request::get("/healthz").body(Body::empty()).unwrap();
        assert_eq!(status(router(s.clone()), get()).await, StatusCode::OK);
        outbox.close().await;
        writer.join();
        assert_eq!(
            status(router(s), get()).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[tokio::test]
    async fn bearer_guards_mounted_routes_only() {
        let extra = Router::new().route("/v1/thing", get(|| async { "done" }));
        let app = router(state()).merge(require_bearer(extra, vec!["t0k3n".into()]));
        let req = |auth: Option<&str>| {
            let mut b = http::Request::get("/v1/thing");
            if let Some(a) = auth {
                b = b.header("authorization", a);
            }
            b.body(Body::empty()).unwrap()
        };
        assert_eq!(
            status(app.clone(), req(None)).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(app.clone(), req(Some("Bearer nope"))).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(app.clone(), req(Some("Bearer t0k3n"))).await,
            StatusCode::OK
        );
        let health = http::Request::get("/healthz").body(Body::empty()).unwrap();
        assert_eq!(status(app, health).await, StatusCode::OK);
    }
}
