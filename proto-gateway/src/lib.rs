//! proto-gateway: receives Exotel's real-time call events over gRPC, stores
//! each one durably before acknowledging it, and delivers it to the edge as a
//! Standard-Webhooks-signed HTTP POST of its protobuf-JSON form, in order per
//! leg or bridge, with retries and a dead-letter table.
//!
//! [`Gateway::start`] wires the parts; the binary adds config loading,
//! logging, signals and the `dead-letters` CLI. See docs/gateway.md.

#![deny(missing_docs)]

pub mod admin;
pub mod apns;
pub mod auth;
pub mod cli;
pub mod config;
pub mod convert;
pub mod dispatch;
pub mod error;
pub mod forward;
pub mod metrics;
pub mod replica;
pub mod service;
pub mod store;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::config::Config;
use crate::error::{Error, Result};

/// How long in-flight RPCs get to finish after shutdown begins.
const RPC_DRAIN: Duration = Duration::from_secs(10);

/// Installs ring as rustls' process-wide crypto provider (the only one
/// compiled in); harmless when already installed.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A running gateway.
pub struct Gateway {
    grpc_addr: SocketAddr,
    admin_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<Result<()>>,
}

impl Gateway {
    /// Starts everything: compiles the contract, opens the outbox, schedules
    /// what it holds, binds both listeners, mounts the APNs relay when
    /// `[apns]` is configured. `extra_admin` routes are merged into the
    /// admin server too (the extension point: see [`admin`]).
    pub async fn start(config: Config, mut extra_admin: Vec<axum::Router>) -> Result<Gateway> {
        install_crypto_provider();
        extra_admin.extend(apns_routes(&config)?);
        let schema = Arc::new(convert::EventSchema::load(&config.proto)?);
        let forwarder = Arc::new(forward::Forwarder::new(
            &config.forward,
            &config.effective_secrets(),
        )?);
        if config.forward.secrets.is_empty() {
            tracing::warn!("no forward.secrets configured: signing with the development secret");
        }
        let metrics = Arc::new(metrics::Metrics::default());

        let store = store::Store::new(&config.store.path);
        let reader = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.connect())
                .await
                .map_err(|_| Error::StoreClosed)??
        };
        let initial = store.pending(&reader)?;
        metrics.set_queue_depth(initial.len() as i64);
        if !initial.is_empty() {
            tracing::info!(events = initial.len(), "resuming delivery of stored events");
        }
        let (committed_tx, committed_rx) = mpsc::unbounded_channel();
        let (outbox, writer) = store::Outbox::start(
            &config.store.path,
            config.store.max_batch,
            committed_tx,
            metrics.clone(),
        )?;

        let grpc_listener = TcpListener::bind(config.grpc.listen)
            .await
            .map_err(|e| Error::io(format!("binding gRPC on {}", config.grpc.listen), e))?;
        let grpc_addr = grpc_listener
            .local_addr()
            .map_err(|e| Error::io("gRPC local address", e))?;
        let admin_listener = TcpListener::bind(config.admin.listen)
            .await
            .map_err(|e| Error::io(format!("binding admin on {}", config.admin.listen), e))?;
        let admin_addr = admin_listener
            .local_addr()
            .map_err(|e| Error::io("admin local address", e))?;

        let (shutdown, shutdown_rx) = watch::channel(false);
        let serving = Arc::new(AtomicBool::new(true));

        let replica = config
            .edge_store()
            .then(|| Arc::new(replica::ReplicaState::new(metrics.clone())));
        if let Some(state) = &replica {
            // Before the gRPC server starts: a key with events left in the
            // outbox sends its new events behind them.
            for job in &initial {
                state.mark_local(&job.ordering_key);
            }
        }
        let (edge, batcher) = match &replica {
            Some(state) => {
                let (edge, task) = replica::EdgeStore::start(
                    forwarder.clone(),
                    outbox.clone(),
                    state.clone(),
                    metrics.clone(),
                    Duration::from_millis(config.replica.ack_budget_ms),
                    config.replica.max_batch,
                    config.replica.max_in_flight,
                );
                (Some(edge), Some(task))
            }
            None => (None, None),
        };
        let delivery = Arc::new(dispatch::Delivery {
            forwarder,
            outbox: outbox.clone(),
            reader: Mutex::new(reader),
            config: config.forward.clone(),
            metrics: metrics.clone(),
            replica: replica.clone(),
        });
        let dispatcher = tokio::spawn(dispatch::run(
            delivery,
            store,
            initial,
            committed_rx,
            shutdown_rx.clone(),
        ));

        let service = service::EventService::new(
            schema,
            outbox.clone(),
            metrics.clone(),
            config.grpc.max_message_bytes,
            edge,
        );
        let mut server = tonic::transport::Server::builder()
            // Pings find connections whose peer vanished (NAT timeouts,
            // crashed clients) instead of holding them forever.
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)))
            // Bounds the RPCs (and so the buffered messages) per connection.
            .max_concurrent_streams(Some(1024));
        if let Some(tls) = &config.grpc.tls {
            server = server
                .tls_config(tls_config(tls)?)
                .map_err(|e| Error::Tls(e.to_string()))?;
        }
        let grpc = {
            let mut rx = shutdown_rx.clone();
            let router = server.add_routes(service.routes());
            let incoming = TcpIncoming::from(grpc_listener).with_nodelay(Some(true));
            tokio::spawn(async move {
                router
                    .serve_with_incoming_shutdown(incoming, async move {
                        let _ = rx.wait_for(|stop| *stop).await;
                    })
                    .await
            })
        };

        let mut app = admin::router(admin::AdminState {
            metrics: metrics.clone(),
            serving: serving.clone(),
            outbox: Some(outbox.clone()),
            replica: replica.clone(),
        });
        for extra in extra_admin {
            app = app.merge(extra);
        }
        let admin = {
            let mut rx = shutdown_rx.clone();
            tokio::spawn(async move {
                axum::serve(admin_listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.wait_for(|stop| *stop).await;
                    })
                    .await
            })
        };

        let ack_budget_ms = config.replica.ack_budget_ms;
        let mut stop_rx = shutdown_rx;
        let task = tokio::spawn(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
            serving.store(false, Ordering::Relaxed);
            tracing::info!("shutting down: no new RPCs; finishing in-flight ones");
            match tokio::time::timeout(RPC_DRAIN, grpc).await {
                Ok(Ok(Err(e))) => tracing::error!(error = %e, "gRPC server error"),
                Err(_) => tracing::warn!("in-flight RPCs did not finish in time"),
                _ => {}
            }
            // RPCs still waiting on the edge are answered (stored at the
            // edge, or in the outbox, which is still open) before it closes.
            if let Some(batcher) = batcher {
                let budget = Duration::from_millis(ack_budget_ms) + Duration::from_secs(1);
                if tokio::time::timeout(budget, batcher).await.is_err() {
                    tracing::warn!("edge-store batcher still running at shutdown");
                }
            }
            if dispatcher.await.is_err() {
                tracing::error!("dispatcher failed");
            }
            // Everything acknowledged is committed already; this flushes
            // outcomes (delivered / dead) still queued and stops the writer.
            outbox.close().await;
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
            let _ = admin.await;
            tracing::info!("stopped");
            Ok(())
        });
        tracing::info!(grpc = %grpc_addr, admin = %admin_addr, tls = config.grpc.tls.is_some(), forward_url = %redact_url(&config.forward.url), mode = if replica.is_some() { "edge-store" } else { "local-outbox" }, batch = config.forward.batch, "proto-gateway started");
        Ok(Gateway {
            grpc_addr,
            admin_addr,
            shutdown,
            task,
        })
    }

    /// Where gRPC is served (useful with port 0).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Where the admin server listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// A handle that begins graceful shutdown when sent `true`.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Begins graceful shutdown and waits until it completes.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(true);
        self.wait().await
    }

    /// Waits until the gateway has stopped (after a shutdown signal).
    pub async fn wait(self) -> Result<()> {
        self.task.await.map_err(|_| Error::StoreClosed)?
    }
}

/// The APNs VoIP relay's route when `[apns]` is configured, its bearer
/// tokens merged with the environment's; built before anything is opened,
/// so a bad `[apns]` stops the start cleanly.
fn apns_routes(config: &Config) -> Result<Option<axum::Router>> {
    config
        .apns
        .as_ref()
        .map(|c| apns::routes(c, |n| std::env::var(n).ok()))
        .transpose()
}

fn tls_config(tls: &config::TlsConfig) -> Result<ServerTlsConfig> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| Error::io(format!("reading {}", p.display()), e))
    };
    let mut cfg =
        ServerTlsConfig::new().identity(Identity::from_pem(read(&tls.cert)?, read(&tls.key)?));
    if let Some(ca) = &tls.client_ca {
        cfg = cfg
            .client_ca_root(Certificate::from_pem(read(ca)?))
            .client_auth_optional(tls.client_auth_optional);
    }
    Ok(cfg)
}

/// The URL without user-info or query (which may carry credentials), for logs.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}
