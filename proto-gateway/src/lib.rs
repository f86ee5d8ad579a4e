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
    ///
    /// The order of the steps matters: the APNs relay, the contract and the
    /// forwarder are checked before the outbox is opened; the outbox is
    /// read before the listeners are bound; edge-store state and delivery
    /// are running before the first RPC can arrive.
    pub async fn start(config: Config, mut extra_admin: Vec<axum::Router>) -> Result<Gateway> {
        install_crypto_provider();
        extra_admin.extend(apns_routes(&config)?);
        let schema = Arc::new(convert::EventSchema::load(&config.proto)?);
        let forwarder = Arc::new(forwarder(&config)?);
        let metrics = Arc::new(metrics::Metrics::default());
        let opened = open_store(&config, &metrics).await?;
        let listeners = bind_listeners(&config).await?;
        let (grpc_addr, admin_addr) = (listeners.grpc_addr, listeners.admin_addr);

        let (shutdown, shutdown_rx) = watch::channel(false);
        let serving = Arc::new(AtomicBool::new(true));
        let replica = start_replica(
            &config,
            &opened.backlog.initial,
            &forwarder,
            &opened.outbox,
            &metrics,
        );
        let dispatcher = spawn_dispatcher(
            &config,
            forwarder,
            &metrics,
            &opened.outbox,
            replica.state.clone(),
            opened.backlog,
            shutdown_rx.clone(),
        );
        let service = service::EventService::new(
            schema,
            opened.outbox.clone(),
            metrics.clone(),
            config.grpc.max_message_bytes,
            replica.edge,
        );
        let grpc = serve_grpc(&config, service, listeners.grpc, shutdown_rx.clone())?;
        let admin_state = admin::AdminState {
            metrics: metrics.clone(),
            serving: serving.clone(),
            outbox: Some(opened.outbox.clone()),
            replica: replica.state.clone(),
        };
        let admin = serve_admin(
            admin_state,
            extra_admin,
            listeners.admin,
            shutdown_rx.clone(),
        );
        let task = tokio::spawn(shut_down_in_order(
            shutdown_rx,
            Running {
                serving,
                grpc,
                batcher: replica.batcher,
                dispatcher,
                outbox: opened.outbox,
                writer: opened.writer,
                admin,
                ack_budget: Duration::from_millis(config.replica.ack_budget_ms),
            },
        ));
        tracing::info!(grpc = %grpc_addr, admin = %admin_addr, tls = config.grpc.tls.is_some(), forward_url = %redact_url(&config.forward.url), mode = if replica.state.is_some() { "edge-store" } else { "local-outbox" }, batch = config.forward.batch, "proto-gateway started");
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
        self.task.await.map_err(Error::task("shutdown"))?
    }
}

/// The outbox as `start` found it, with its writer running.
struct Opened {
    outbox: store::Outbox,
    writer: store::WriterHandle,
    backlog: Backlog,
}

/// What the dispatcher takes over: the events to deliver, old and new.
struct Backlog {
    store: store::Store,
    /// The dispatcher's read connection.
    reader: rusqlite::Connection,
    /// Undelivered events from before this start, in commit order.
    initial: Vec<store::Job>,
    /// Events the writer commits from now on.
    committed: mpsc::UnboundedReceiver<store::Job>,
}

/// Both listeners, bound.
struct Listeners {
    grpc: TcpListener,
    grpc_addr: SocketAddr,
    admin: TcpListener,
    admin_addr: SocketAddr,
}

/// Edge-store mode's parts; all `None` in local-outbox mode.
struct Replica {
    state: Option<Arc<replica::ReplicaState>>,
    /// What the RPC route stores through.
    edge: Option<replica::EdgeStore>,
    batcher: Option<JoinHandle<()>>,
}

/// What the shutdown task stops, in the order it stops them.
struct Running {
    serving: Arc<AtomicBool>,
    grpc: JoinHandle<std::result::Result<(), tonic::transport::Error>>,
    batcher: Option<JoinHandle<()>>,
    dispatcher: JoinHandle<()>,
    outbox: store::Outbox,
    writer: store::WriterHandle,
    admin: JoinHandle<std::io::Result<()>>,
    ack_budget: Duration,
}

/// The signing HTTP client. Built before the outbox is opened, so a bad
/// secret or URL stops the start before anything is touched.
fn forwarder(config: &Config) -> Result<forward::Forwarder> {
    let forwarder = forward::Forwarder::new(&config.forward, &config.effective_secrets())?;
    if config.forward.secrets.is_empty() {
        tracing::warn!("no forward.secrets configured: signing with the development secret");
    }
    Ok(forwarder)
}

/// Opens the outbox, reads what an earlier run left undelivered (counted in
/// the queue-depth gauge) and starts the group-commit writer. The read
/// happens before any listener is bound, so the resumed events are queued
/// ahead of every new one.
async fn open_store(config: &Config, metrics: &Arc<metrics::Metrics>) -> Result<Opened> {
    let store = store::Store::new(&config.store.path);
    let reader = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.connect())
            .await
            .map_err(Error::task("outbox connect"))??
    };
    let initial = store.pending(&reader)?;
    metrics.set_queue_depth(initial.len() as i64);
    if !initial.is_empty() {
        tracing::info!(events = initial.len(), "resuming delivery of stored events");
    }
    let (committed_tx, committed) = mpsc::unbounded_channel();
    let (outbox, writer) = store::Outbox::start(
        &config.store.path,
        config.store.max_batch,
        committed_tx,
        metrics.clone(),
    )?;
    Ok(Opened {
        outbox,
        writer,
        backlog: Backlog {
            store,
            reader,
            initial,
            committed,
        },
    })
}

/// Binds gRPC and admin; with port 0 the chosen ports are read back here
/// (tests and scripts find them in the startup line).
async fn bind_listeners(config: &Config) -> Result<Listeners> {
    let grpc = TcpListener::bind(config.grpc.listen)
        .await
        .map_err(|e| Error::io(format!("binding gRPC on {}", config.grpc.listen), e))?;
    let grpc_addr = grpc
        .local_addr()
        .map_err(|e| Error::io("gRPC local address", e))?;
    let admin = TcpListener::bind(config.admin.listen)
        .await
        .map_err(|e| Error::io(format!("binding admin on {}", config.admin.listen), e))?;
    let admin_addr = admin
        .local_addr()
        .map_err(|e| Error::io("admin local address", e))?;
    Ok(Listeners {
        grpc,
        grpc_addr,
        admin,
        admin_addr,
    })
}

/// Edge-store mode: the state of which keys have local events and the
/// batcher that stores RPCs at the edge. Keys with events left in the
/// outbox are marked local before the gRPC server starts, so their new
/// events queue behind the old ones instead of overtaking them at the edge.
fn start_replica(
    config: &Config,
    initial: &[store::Job],
    forwarder: &Arc<forward::Forwarder>,
    outbox: &store::Outbox,
    metrics: &Arc<metrics::Metrics>,
) -> Replica {
    if !config.edge_store() {
        return Replica {
            state: None,
            edge: None,
            batcher: None,
        };
    }
    let state = Arc::new(replica::ReplicaState::new(metrics.clone()));
    for job in initial {
        state.mark_local(&job.ordering_key);
    }
    let (edge, batcher) = replica::EdgeStore::start(
        forwarder.clone(),
        outbox.clone(),
        state.clone(),
        metrics.clone(),
        Duration::from_millis(config.replica.ack_budget_ms),
        config.replica.max_batch,
        config.replica.max_in_flight,
    );
    Replica {
        state: Some(state),
        edge: Some(edge),
        batcher: Some(batcher),
    }
}

/// Starts delivery of what the outbox holds and of every event committed
/// from now on; running before the gRPC server, so nothing committed waits
/// for a dispatcher.
fn spawn_dispatcher(
    config: &Config,
    forwarder: Arc<forward::Forwarder>,
    metrics: &Arc<metrics::Metrics>,
    outbox: &store::Outbox,
    replica: Option<Arc<replica::ReplicaState>>,
    backlog: Backlog,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let delivery = Arc::new(dispatch::Delivery {
        forwarder,
        outbox: outbox.clone(),
        reader: Mutex::new(backlog.reader),
        config: config.forward.clone(),
        metrics: metrics.clone(),
        replica,
    });
    tokio::spawn(dispatch::run(
        delivery,
        backlog.store,
        backlog.initial,
        backlog.committed,
        shutdown,
    ))
}

/// Serves the RPC route until shutdown. Keepalive pings find connections
/// whose peer vanished (NAT timeouts, crashed clients) instead of holding
/// them forever; the stream cap bounds the RPCs (and so the buffered
/// messages) per connection.
fn serve_grpc(
    config: &Config,
    service: service::EventService,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> Result<JoinHandle<std::result::Result<(), tonic::transport::Error>>> {
    let mut server = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .max_concurrent_streams(Some(1024));
    if let Some(tls) = &config.grpc.tls {
        server = server
            .tls_config(tls_config(tls)?)
            .map_err(|e| Error::Tls(e.to_string()))?;
    }
    let router = server.add_routes(service.routes());
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Ok(tokio::spawn(async move {
        router
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
    }))
}

/// Serves `/healthz`, `/metrics` and the mounted routes (`extra`: the APNs
/// relay, and any the embedding caller adds) until shutdown.
fn serve_admin(
    state: admin::AdminState,
    extra: Vec<axum::Router>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<std::io::Result<()>> {
    let mut app = admin::router(state);
    for routes in extra {
        app = app.merge(routes);
    }
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
    })
}

/// Waits for the shutdown signal, then stops the parts so that nothing
/// acknowledged is lost: health turns unhealthy, in-flight RPCs finish
/// (for [`RPC_DRAIN`] at most), RPCs still waiting on the edge are answered
/// while the outbox is open, delivery stops, the outbox flushes and closes,
/// and the admin server goes last.
async fn shut_down_in_order(mut shutdown: watch::Receiver<bool>, run: Running) -> Result<()> {
    let _ = shutdown.wait_for(|stop| *stop).await;
    run.serving.store(false, Ordering::Relaxed);
    tracing::info!("shutting down: no new RPCs; finishing in-flight ones");
    match tokio::time::timeout(RPC_DRAIN, run.grpc).await {
        Ok(Ok(Err(e))) => tracing::error!(error = %e, "gRPC server error"),
        Err(_) => tracing::warn!("in-flight RPCs did not finish in time"),
        _ => {}
    }
    // RPCs still waiting on the edge are answered (stored at the edge, or
    // in the outbox, which is still open) before it closes.
    if let Some(batcher) = run.batcher {
        let budget = run.ack_budget + Duration::from_secs(1);
        if tokio::time::timeout(budget, batcher).await.is_err() {
            tracing::warn!("edge-store batcher still running at shutdown");
        }
    }
    if run.dispatcher.await.is_err() {
        tracing::error!("dispatcher failed");
    }
    // Everything acknowledged is committed already; this flushes outcomes
    // (delivered / dead) still queued and stops the writer.
    run.outbox.close().await;
    let writer = run.writer;
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    let _ = run.admin.await;
    tracing::info!("stopped");
    Ok(())
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
