//! Configuration: built-in defaults for local development, a TOML file, then
//! `PROTO_GATEWAY_*` environment overrides (in that order).
//!
//! The defaults make `proto-gateway` with no arguments run next to
//! `wrangler dev`: plaintext gRPC on 127.0.0.1:50051, admin on
//! 127.0.0.1:9464, outbox under ./var/, delivery to
//! http://127.0.0.1:8787/events signed with a development secret.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use handlers::push::apns::{PRODUCTION_HOST, SANDBOX_HOST};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The development signing secret: the `EVENTS_WEBHOOK_SECRETS` of the
/// repository's .dev.vars.example, so `scripts/run.sh` (gateway next to
/// `wrangler dev`) verifies end to end. Used only when no secret is
/// configured and the forward URL is loopback; a warning is logged then.
pub const DEV_WEBHOOK_SECRET: &str = "whsec_90MHoX1JgdH0/zIt/87rmO7xLJZL8VarR3hnSY7XzL4=";

/// The whole gateway configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The gRPC listener Exotel calls.
    pub grpc: GrpcConfig,
    /// Health and metrics (and any extra routes mounted on it).
    pub admin: AdminConfig,
    /// The durable outbox.
    pub store: StoreConfig,
    /// Which contract to accept and which fields matter.
    pub proto: ProtoConfig,
    /// Delivery to the edge.
    pub forward: ForwardConfig,
    /// Logging.
    pub log: LogConfig,
    /// How an RPC is acknowledged: once the edge stored the event, or once
    /// the local outbox did.
    pub replica: ReplicaConfig,
    /// The APNs VoIP relay for the worker (`apns.rs`, mounted on the admin
    /// server by `Gateway::start`); not mounted when absent.
    pub apns: Option<ApnsConfig>,
}

/// The gRPC listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcConfig {
    /// Address to bind; port 0 picks a free port (printed at startup).
    pub listen: SocketAddr,
    /// Serve without TLS even on a non-loopback address. Loopback addresses
    /// may always serve plaintext (local development); anything else needs
    /// either `[grpc.tls]` or this flag.
    pub plaintext: bool,
    /// TLS; required by Exotel for a public endpoint.
    pub tls: Option<TlsConfig>,
    /// Largest accepted event message; larger ones get RESOURCE_EXHAUSTED.
    pub max_message_bytes: usize,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            plaintext: false,
            tls: None,
            // The worker reads at most 64 KiB per event (handlers::events);
            // Exotel's events are a few hundred bytes.
            max_message_bytes: 64 * 1024,
        }
    }
}

/// Server certificate and optional client-certificate verification (mTLS).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM CA bundle; when set, clients must present a certificate it signed.
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: also admit clients that present no certificate.
    #[serde(default)]
    pub client_auth_optional: bool,
}

/// The admin HTTP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

/// The outbox database.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite file; its directory is created if missing.
    pub path: PathBuf,
    /// Most events committed (one fsync) per transaction.
    pub max_batch: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("var/proto-gateway/outbox.sqlite3"),
            max_batch: 2048,
        }
    }
}

/// The event contract. Empty `files` means the built-in contract in
/// proto-gateway/proto/ (compiled into the binary).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProtoConfig {
    /// .proto files to compile (paths relative to an include path or absolute).
    pub files: Vec<PathBuf>,
    /// Directories imports are resolved against (well-known types are built in).
    pub include_paths: Vec<PathBuf>,
    /// Fully qualified service name.
    pub service: String,
    /// The unary method Exotel calls.
    pub method: String,
    /// JSON path (dot-separated, proto field names) of the event id.
    pub event_sid_field: String,
    /// JSON paths tried in order for the ordering key (leg or bridge sid);
    /// events without any are unordered (keyed by their own id).
    pub ordering_key_fields: Vec<String>,
}

impl Default for ProtoConfig {
    fn default() -> Self {
        ProtoConfig {
            files: Vec::new(),
            include_paths: Vec::new(),
            service: "exotel.callback.v1.CallbackEventService".into(),
            method: "TriggerCallbackEvent".into(),
            event_sid_field: "event_sid".into(),
            ordering_key_fields: vec![
                "data.leg_sid".into(),
                "data.bridge_sid".into(),
                "leg_sid".into(),
                "bridge_sid".into(),
            ],
        }
    }
}

/// Delivery of stored events to the edge.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForwardConfig {
    /// Where each event is POSTed.
    pub url: String,
    /// Standard Webhooks secrets (`whsec_<base64>`); each signs, so a
    /// receiver holding any one of them verifies (rotation).
    pub secrets: Vec<String>,
    /// Per-attempt timeout.
    pub timeout_ms: u64,
    /// Attempts before an event becomes a dead letter.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, with equal jitter (between
    /// half and all of it; `handlers::retry`).
    pub initial_backoff_ms: u64,
    /// Cap on the backoff (a server's Retry-After may ask for longer, up to
    /// an hour: see `forward::policy`).
    pub max_backoff_ms: u64,
    /// Ordering keys delivered concurrently.
    pub max_in_flight: usize,
    /// Statuses meaning "the receiver already has this event" (e.g. its
    /// replay guard saw the webhook-id): counted as delivered.
    pub already_delivered_statuses: Vec<u16>,
    /// Send many events per POST (a JSON array answered with per-event
    /// results, the exoedge `/events` batch contract). `false`: one event
    /// per POST, for receivers that take single events only.
    pub batch: bool,
    /// Most events in one batch POST (the edge's EVENTS_MAX_BATCH).
    pub batch_max_events: usize,
    /// Most body bytes in one batch POST (under the edge's
    /// EVENTS_MAX_BATCH_BYTES, 4 MiB).
    pub batch_max_bytes: usize,
    /// Batch POSTs in flight at once (each carries distinct keys).
    pub batches_in_flight: usize,
}

impl Default for ForwardConfig {
    fn default() -> Self {
        ForwardConfig {
            url: "http://127.0.0.1:8787/events".into(),
            secrets: Vec::new(),
            timeout_ms: 10_000,
            max_attempts: 10,
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
            max_in_flight: 64,
            already_delivered_statuses: vec![409],
            batch: true,
            batch_max_events: 500,
            batch_max_bytes: 4_000_000,
            batches_in_flight: 4,
        }
    }
}

impl ForwardConfig {
    /// Per-attempt timeout as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// How RPCs are acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicaMode {
    /// `edge-store` when `forward.url` is not loopback (and batches are on),
    /// `local-outbox` otherwise.
    Auto,
    /// Ack once the edge confirmed the store; the local outbox only when the
    /// edge does not confirm within the budget (stateless replicas).
    EdgeStore,
    /// Ack once the local outbox committed (fsync); deliver afterwards.
    LocalOutbox,
}

impl std::str::FromStr for ReplicaMode {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim() {
            "auto" => Ok(ReplicaMode::Auto),
            "edge-store" => Ok(ReplicaMode::EdgeStore),
            "local-outbox" => Ok(ReplicaMode::LocalOutbox),
            _ => Err(()),
        }
    }
}

/// The acknowledgement path.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicaConfig {
    /// `auto`, `edge-store` or `local-outbox`.
    pub mode: ReplicaMode,
    /// How long an RPC waits for the edge to confirm before the event goes
    /// to the local outbox instead.
    pub ack_budget_ms: u64,
    /// Most events per edge-store POST (concurrent RPCs share one POST).
    pub max_batch: usize,
    /// Edge-store POSTs in flight at once (each key in one at a time).
    pub max_in_flight: usize,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            mode: ReplicaMode::Auto,
            ack_budget_ms: 250,
            max_batch: 500,
            max_in_flight: 4,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `proto_gateway=debug`.
    pub filter: String,
    /// One JSON object per line instead of human-readable text.
    pub json: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
            json: false,
        }
    }
}

/// Environment variables read by [`Config::load`], each overriding one value.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("PROTO_GATEWAY_GRPC_LISTEN", "grpc.listen"),
    ("PROTO_GATEWAY_PLAINTEXT", "grpc.plaintext (true/false)"),
    ("PROTO_GATEWAY_ADMIN_LISTEN", "admin.listen"),
    ("PROTO_GATEWAY_STORE_PATH", "store.path"),
    ("PROTO_GATEWAY_FORWARD_URL", "forward.url"),
    (
        "PROTO_GATEWAY_WEBHOOK_SECRETS",
        "forward.secrets (comma-separated whsec_...)",
    ),
    ("PROTO_GATEWAY_MAX_ATTEMPTS", "forward.max_attempts"),
    ("PROTO_GATEWAY_FORWARD_BATCH", "forward.batch (true/false)"),
    (
        "PROTO_GATEWAY_REPLICA_MODE",
        "replica.mode (auto/edge-store/local-outbox)",
    ),
    ("PROTO_GATEWAY_ACK_BUDGET_MS", "replica.ack_budget_ms"),
    ("PROTO_GATEWAY_LOG", "log.filter"),
];

/// Which APNs host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// `api.push.apple.com`: App Store and TestFlight builds.
    #[default]
    Production,
    /// `api.sandbox.push.apple.com`: development builds.
    Sandbox,
}

/// `[apns]`: the APNs VoIP relay (its client and route are `apns.rs`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsConfig {
    /// The `.p8` key file from the Apple developer account.
    pub key_path: PathBuf,
    /// Its 10-character key id.
    pub key_id: String,
    /// The developer team id.
    pub team_id: String,
    /// The app's bundle id; the topic is `<bundle_id>.voip`.
    pub bundle_id: String,
    /// Production or sandbox host.
    #[serde(default)]
    pub environment: Environment,
    /// Replaces the host (scheme included). `http://` speaks HTTP/2 without
    /// TLS (prior knowledge), which only a local fake accepts.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Bearer secrets the worker presents (its `APNS_RELAY_SECRET`); several
    /// allow rotation. Merged with `PROTO_GATEWAY_APNS_RELAY_TOKENS`
    /// (`apns::TOKENS_ENV`).
    #[serde(default)]
    pub relay_tokens: Vec<String>,
    /// Longest wait for Apple, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    3_000
}

impl std::fmt::Debug for ApnsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsConfig")
            .field("key_path", &self.key_path)
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("bundle_id", &self.bundle_id)
            .field("environment", &self.environment)
            .field("endpoint", &self.endpoint)
            .field(
                "relay_tokens",
                &format_args!("{} configured", self.relay_tokens.len()),
            )
            .finish()
    }
}

impl ApnsConfig {
    /// The base URL pushes go to.
    pub fn base_url(&self) -> &str {
        match (&self.endpoint, self.environment) {
            (Some(e), _) => e.trim_end_matches('/'),
            (None, Environment::Production) => PRODUCTION_HOST,
            (None, Environment::Sandbox) => SANDBOX_HOST,
        }
    }
}

impl Config {
    /// Defaults, then `file` if given, then environment overrides; then
    /// validation.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut config = match file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML file (missing keys keep their defaults).
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text).map_err(|source| Error::ConfigParse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies `PROTO_GATEWAY_*` overrides; `get` reads one variable (the
    /// process environment in production, a map in tests).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T> {
            value
                .trim()
                .parse()
                .map_err(|_| Error::Config(format!("{name}={value:?} is not valid")))
        }
        if let Some(v) = get("PROTO_GATEWAY_GRPC_LISTEN") {
            self.grpc.listen = parse("PROTO_GATEWAY_GRPC_LISTEN", &v)?;
        }
        if let Some(v) = get("PROTO_GATEWAY_PLAINTEXT") {
            self.grpc.plaintext = parse("PROTO_GATEWAY_PLAINTEXT", &v)?;
        }
        if let Some(v) = get("PROTO_GATEWAY_ADMIN_LISTEN") {
            self.admin.listen = parse("PROTO_GATEWAY_ADMIN_LISTEN", &v)?;
        }
        if let Some(v) = get("PROTO_GATEWAY_STORE_PATH") {
            self.store.path = PathBuf::from(v);
        }
        if let Some(v) = get("PROTO_GATEWAY_FORWARD_URL") {
            self.forward.url = v;
        }
        if let Some(v) = get("PROTO_GATEWAY_WEBHOOK_SECRETS") {
            // The value itself is never echoed: it is a secret.
            self.forward.secrets = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(v) = get("PROTO_GATEWAY_MAX_ATTEMPTS") {
            self.forward.max_attempts = parse("PROTO_GATEWAY_MAX_ATTEMPTS", &v)?;
        }
        if let Some(v) = get("PROTO_GATEWAY_FORWARD_BATCH") {
            self.forward.batch = parse("PROTO_GATEWAY_FORWARD_BATCH", &v)?;
        }
        if let Some(v) = get("PROTO_GATEWAY_REPLICA_MODE") {
            self.replica.mode = parse("PROTO_GATEWAY_REPLICA_MODE", &v)?;
        }
        if let Some(v) = get("PROTO_GATEWAY_ACK_BUDGET_MS") {
            self.replica.ack_budget_ms = parse("PROTO_GATEWAY_ACK_BUDGET_MS", &v)?;
        }
        if let Some(v) = get("PROTO_GATEWAY_LOG") {
            self.log.filter = v;
        }
        Ok(())
    }

    /// Rejects combinations that would start a gateway that cannot work or
    /// that exposes plaintext gRPC by accident.
    pub fn validate(&self) -> Result<()> {
        if self.grpc.tls.is_none() && !self.grpc.plaintext && !self.grpc.listen.ip().is_loopback() {
            return Err(Error::Config(format!(
                "grpc.listen {} is not loopback and [grpc.tls] is not set; \
                 configure TLS or set grpc.plaintext = true explicitly",
                self.grpc.listen
            )));
        }
        if self.grpc.max_message_bytes == 0 {
            return Err(Error::Config("grpc.max_message_bytes must be > 0".into()));
        }
        if self.store.max_batch == 0 {
            return Err(Error::Config("store.max_batch must be > 0".into()));
        }
        if self.forward.max_attempts == 0 {
            return Err(Error::Config("forward.max_attempts must be >= 1".into()));
        }
        if self.forward.max_in_flight == 0 {
            return Err(Error::Config("forward.max_in_flight must be >= 1".into()));
        }
        if self.forward.initial_backoff_ms > self.forward.max_backoff_ms {
            return Err(Error::Config(
                "forward.initial_backoff_ms must not exceed forward.max_backoff_ms".into(),
            ));
        }
        let url = reqwest::Url::parse(&self.forward.url)
            .map_err(|e| Error::Config(format!("forward.url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Config("forward.url must be http or https".into()));
        }
        let local_url = self.forward_url_is_loopback();
        if self.forward.batch_max_events == 0
            || self.forward.batches_in_flight == 0
            || self.replica.max_batch == 0
            || self.replica.max_in_flight == 0
        {
            return Err(Error::Config(
                "forward.batch_max_events, forward.batches_in_flight, replica.max_batch and replica.max_in_flight must be >= 1"
                    .into(),
            ));
        }
        if self.forward.batch_max_bytes < crate::convert::MAX_EVENT_JSON_BYTES + 2 {
            return Err(Error::Config(format!(
                "forward.batch_max_bytes must hold one event of {} bytes",
                crate::convert::MAX_EVENT_JSON_BYTES
            )));
        }
        if self.replica.mode == ReplicaMode::EdgeStore && !self.forward.batch {
            return Err(Error::Config(
                "replica.mode = \"edge-store\" needs forward.batch = true (the edge's per-event answers)"
                    .into(),
            ));
        }
        if self.replica.ack_budget_ms == 0 {
            return Err(Error::Config("replica.ack_budget_ms must be > 0".into()));
        }
        if self.forward.secrets.is_empty() && !local_url {
            return Err(Error::Config(
                "forward.secrets is empty; the development secret is only used for a loopback \
                 forward.url (set PROTO_GATEWAY_WEBHOOK_SECRETS)"
                    .into(),
            ));
        }
        // The worker refuses a delivery carrying more signatures than this
        // (handlers::webhook::MAX_SIGNATURES) before reading it: a gateway
        // signing with more secrets would have every event refused.
        if self.forward.secrets.len() > handlers::webhook::MAX_SIGNATURES {
            return Err(Error::Config(format!(
                "forward.secrets has {} secrets; the edge accepts at most {} signatures per delivery",
                self.forward.secrets.len(),
                handlers::webhook::MAX_SIGNATURES
            )));
        }
        if self.proto.ordering_key_fields.is_empty() {
            return Err(Error::Config(
                "proto.ordering_key_fields needs at least one path".into(),
            ));
        }
        Ok(())
    }

    /// Whether `forward.url` points at this machine.
    pub fn forward_url_is_loopback(&self) -> bool {
        let Ok(url) = reqwest::Url::parse(&self.forward.url) else {
            return false;
        };
        let host = url.host_str().unwrap_or("");
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || bare
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether RPCs are acknowledged at the edge (`auto` resolved): the
    /// default for a non-loopback edge with batches on.
    pub fn edge_store(&self) -> bool {
        match self.replica.mode {
            ReplicaMode::EdgeStore => true,
            ReplicaMode::LocalOutbox => false,
            ReplicaMode::Auto => self.forward.batch && !self.forward_url_is_loopback(),
        }
    }

    /// Whether the gRPC listener serves without TLS.
    pub fn grpc_plaintext(&self) -> bool {
        self.grpc.tls.is_none()
    }

    /// The signing secrets, or the development secret when none is set.
    pub fn effective_secrets(&self) -> Vec<String> {
        if self.forward.secrets.is_empty() {
            vec![DEV_WEBHOOK_SECRET.to_owned()]
        } else {
            self.forward.secrets.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_are_local_and_valid() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.grpc.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(c.admin.listen.to_string(), "127.0.0.1:9464");
        assert_eq!(c.forward.url, "http://127.0.0.1:8787/events");
        assert!(c.grpc_plaintext());
    }

    #[test]
    fn more_secrets_than_the_edge_accepts_signatures_is_refused() {
        let mut c = Config::default();
        c.forward.secrets = (0..handlers::webhook::MAX_SIGNATURES)
            .map(|i| format!("whsec_{i}"))
            .collect();
        c.validate().unwrap();
        c.forward.secrets.push("whsec_one_too_many".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("forward.secrets has 5 secrets"), "{err}");
    }

    #[test]
    fn edge_store_is_the_default_for_a_remote_edge_only() {
        let mut c = Config::default();
        assert!(!c.edge_store(), "loopback edge: local outbox");
        c.forward.url = "https://edge.example/events".into();
        c.forward.secrets = vec!["whsec_x".into()];
        assert!(c.edge_store());
        c.forward.batch = false;
        assert!(
            !c.edge_store(),
            "single-event receivers cannot confirm per event"
        );
        c.replica.mode = ReplicaMode::EdgeStore;
        assert!(c.validate().is_err());
        c.forward.batch = true;
        c.forward.url = "http://127.0.0.1:8787/events".into();
        c.validate().unwrap();
        assert!(c.edge_store(), "explicit mode wins");
        let env: HashMap<&str, &str> = [("PROTO_GATEWAY_REPLICA_MODE", "local-outbox")].into();
        c.apply_env(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert!(!c.edge_store());
    }

    #[test]
    fn public_plaintext_needs_the_explicit_flag() {
        let mut c = Config::from_toml("[grpc]\nlisten = \"0.0.0.0:443\"\n").unwrap();
        assert!(c.validate().is_err());
        c.grpc.plaintext = true;
        c.validate().unwrap();
    }

    #[test]
    fn file_values_and_env_overrides() {
        let mut c = Config::from_toml(
            "[forward]\nurl = \"https://edge.example/events\"\nmax_attempts = 3\n\
             secrets = [\"whsec_c\"]\n\
             [proto]\nordering_key_fields = [\"data.call_sid\"]\n",
        )
        .unwrap();
        assert_eq!(c.forward.max_attempts, 3);
        assert_eq!(c.proto.ordering_key_fields, vec!["data.call_sid"]);
        assert_eq!(c.proto.method, "TriggerCallbackEvent");
        let env: HashMap<&str, &str> = [
            ("PROTO_GATEWAY_WEBHOOK_SECRETS", "whsec_a, whsec_b"),
            ("PROTO_GATEWAY_GRPC_LISTEN", "127.0.0.1:0"),
        ]
        .into();
        c.apply_env(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.forward.secrets, vec!["whsec_a", "whsec_b"]);
        assert_eq!(c.grpc.listen.port(), 0);
    }

    #[test]
    fn dev_secret_matches_the_workers_dev_vars() {
        let dev_vars = include_str!("../../.dev.vars.example");
        let line = dev_vars
            .lines()
            .find_map(|l| l.strip_prefix("EVENTS_WEBHOOK_SECRETS="))
            .expect("EVENTS_WEBHOOK_SECRETS in .dev.vars.example");
        assert!(
            line.split(',').any(|s| s.trim() == DEV_WEBHOOK_SECRET),
            "the gateway's development secret must be one the local worker accepts"
        );
    }

    #[test]
    fn example_file_parses_to_the_defaults() {
        let example = Config::from_toml(include_str!("../gateway.example.toml")).unwrap();
        let default = Config::default();
        assert_eq!(format!("{example:?}"), format!("{default:?}"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(Config::from_toml("[forward]\nurll = \"x\"\n").is_err());
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "PROTO_GATEWAY_MAX_ATTEMPTS").then(|| "many".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("PROTO_GATEWAY_MAX_ATTEMPTS"));
    }
}
