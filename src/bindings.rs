//! Names of the bindings, secrets and vars the worker reads; they must match
//! wrangler.toml and .dev.vars.example.

/// KV namespace holding the routing config document (and later, caller records).
pub const CONFIG_KV: &str = "CONFIG";

/// Key of the routing config document in [`CONFIG_KV`].
pub const CONFIG_KEY: &str = "config.json";

/// Secret: callback tokens, separated by commas or whitespace (rotation).
pub const CALLBACK_TOKENS: &str = "EXOEDGE_TOKENS";

/// Var: milliseconds a KV read may take before the cached or embedded config serves.
pub const KV_BUDGET_MS: &str = "KV_BUDGET_MS";

/// Var: `on` (or `true`, `1`, `yes`) logs one line per applet callback (route,
/// CallSid, masked numbers, status). Off otherwise: the runtime's own
/// invocation log (`wrangler tail`, Workers Logs) and the D1 trace already
/// record each callback, and the line costs CPU on every one (BENCHMARKS.md).
pub const CALLBACK_LOG: &str = "CALLBACK_LOG";

/// KV namespace for per-caller routing state: `sticky:<E.164>` (the agent
/// who last answered) and `caller:<E.164>` (template variables).
pub const STATE_KV: &str = "STATE";

/// Durable Object namespace keeping what must not race: the agents one call
/// was offered (`call:<CallSid>`) and round-robin counters (`group:<name>`).
pub const ROUTING_STATE: &str = "ROUTING_STATE";

/// Var: milliseconds a Durable Object call may take before the answer is
/// made without it.
pub const DO_BUDGET_MS: &str = "DO_BUDGET_MS";

/// Default for [`DO_BUDGET_MS`].
pub const DEFAULT_DO_BUDGET_MS: u64 = 300;

/// Default for [`KV_BUDGET_MS`]: KV reads at the edge take single-digit ms
/// when hot; 150 ms leaves almost all of Exotel's 5 s for the rest.
pub const DEFAULT_KV_BUDGET_MS: u64 = 150;

// --- Push relay and app backend (docs/push.md) ---

/// KV namespace of the push relay: devices (`dev:<subscriber>`), users
/// (`user:<name>`) and call contexts (`ctx:<user>`).
pub const DEVICES_KV: &str = "DEVICES";

/// Secret: the Firebase service-account key file (JSON) used to send FCM.
pub const FCM_SERVICE_ACCOUNT: &str = "FCM_SERVICE_ACCOUNT";

/// Var: FCM's base URL (default `https://fcm.googleapis.com`); tests point it at a fake.
pub const FCM_BASE_URL: &str = "FCM_BASE_URL";

/// Var: the OAuth2 token endpoint (default: the key file's `token_uri`).
pub const FCM_TOKEN_URL: &str = "FCM_TOKEN_URL";

/// Var: proto-gateway's APNs VoIP endpoint, e.g. `https://gw.example.com/v1/apns/voip`.
pub const APNS_RELAY_URL: &str = "APNS_RELAY_URL";

/// Secret: bearer secret shared with proto-gateway's APNs endpoint.
pub const APNS_RELAY_SECRET: &str = "APNS_RELAY_SECRET";

/// Secret: HMAC key of app tokens (at least 32 bytes).
pub const APP_TOKEN_SECRET: &str = "APP_TOKEN_SECRET";

/// Var: how the unchanged sample apps are let in without an app token:
/// unset/`narrow` (a device token only right after the user's login, see
/// docs/push.md) or `off` (app tokens only).
pub const SAMPLE_APP_COMPAT: &str = "SAMPLE_APP_COMPAT";

/// Durable Object namespace with one instance per sample-app user
/// (`user:<name>`): login grants, known Exotel tokens, the call context.
pub const USER_STATE: &str = "USER_STATE";

/// Var: milliseconds Dial Whom waits for a `sip:` caller's context to be
/// posted (the apps post it after dialling) before the configured answer.
pub const CONTEXT_WAIT_MS: &str = "CONTEXT_WAIT_MS";

/// Default for [`CONTEXT_WAIT_MS`]: long enough for the app's post after
/// dialling, far inside Exotel's 5 s.
pub const DEFAULT_CONTEXT_WAIT_MS: u64 = 1_500;

/// Var: Exotel's subscriber API base for the account's stamp, e.g. `https://chaotix.mum1.exotel.in`.
pub const EXOTEL_API_BASE: &str = "EXOTEL_API_BASE";

/// Var: the Exotel account SID.
pub const EXOTEL_ACCOUNT_SID: &str = "EXOTEL_ACCOUNT_SID";

/// Secret: Exotel API key (never sent to phones).
pub const EXOTEL_API_KEY: &str = "EXOTEL_API_KEY";

/// Secret: Exotel API token (never sent to phones).
pub const EXOTEL_API_TOKEN: &str = "EXOTEL_API_TOKEN";

/// Var: the SDK host `/login` hands the apps as `host_name`.
pub const EXOTEL_SDK_HOST: &str = "EXOTEL_SDK_HOST";

/// Var: the SIP ExoPhone `/login` hands the apps when the user record has none.
pub const EXOPHONE: &str = "EXOPHONE";

// --- Real-time call events, POST /events (docs/events.md) ---

/// Secret: Standard Webhooks secrets (`whsec_<base64>`) proto-gateway signs
/// events with, separated by commas or whitespace (rotation: any one verifies).
pub const EVENTS_WEBHOOK_SECRETS: &str = "EVENTS_WEBHOOK_SECRETS";

/// Durable Object namespace of the event logs (`EventLog`), one per
/// ordering key (`leg:<sid>`, `bridge:<sid>`, `event:<sid>`).
pub const EVENT_LOG: &str = "EVENT_LOG";

/// Durable Object namespace of the dead-letter index (`DeadLetterIndex`),
/// one instance named [`DEAD_LETTER_INDEX_NAME`].
pub const EVENT_INDEX: &str = "EVENT_INDEX";

/// The one instance of [`EVENT_INDEX`].
pub const DEAD_LETTER_INDEX_NAME: &str = "dead-letters";

/// Var: most events one `POST /events` array may carry (default 500).
pub const EVENTS_MAX_BATCH: &str = "EVENTS_MAX_BATCH";

/// Var: largest `POST /events` body in bytes (default 4 MiB).
pub const EVENTS_MAX_BATCH_BYTES: &str = "EVENTS_MAX_BATCH_BYTES";

/// Var: ms the event logs may take to confirm a delivery's writes (default 2000).
pub const EVENTS_STORE_BUDGET_MS: &str = "EVENTS_STORE_BUDGET_MS";

/// Var: ms an event waits for earlier-stamped events of its key (default 500).
pub const EVENTS_REORDER_MS: &str = "EVENTS_REORDER_MS";

/// Var: days applied and dead events are kept (default 7; fractions allowed).
pub const EVENTS_RETENTION_DAYS: &str = "EVENTS_RETENTION_DAYS";

/// Var: attempts at an event's actions before it is dead-lettered (default 8).
pub const EVENTS_MAX_ATTEMPTS: &str = "EVENTS_MAX_ATTEMPTS";

/// Var: base URL of Exotel's v2 (CPaaS) API; tests point it at a fake.
pub const EXOTEL_CPAAS_BASE: &str = "EXOTEL_CPAAS_BASE";

/// Default for [`EXOTEL_CPAAS_BASE`] (seed 1098-1110).
pub const DEFAULT_EXOTEL_CPAAS_BASE: &str = "https://cpaas-api.in.exotel.com";

/// Var: the Exotel account SID in action URLs; the event's own
/// `data.account_sid` when unset. Same name the push relay reads.
pub const EVENTS_ACCOUNT_SID: &str = "EXOTEL_ACCOUNT_SID";

/// Secret: Exotel API key for the actions' Basic auth (same secret as the push relay's).
pub const EVENTS_API_KEY: &str = "EXOTEL_API_KEY";

/// Secret: Exotel API token for the actions' Basic auth.
pub const EVENTS_API_TOKEN: &str = "EXOTEL_API_TOKEN";

/// Var: milliseconds one POST of an action may take before it counts as a
/// failed attempt (retried with backoff).
pub const EVENTS_ACTION_BUDGET_MS: &str = "EVENTS_ACTION_BUDGET_MS";

/// Default for [`EVENTS_ACTION_BUDGET_MS`].
pub const DEFAULT_EVENTS_ACTION_BUDGET_MS: u64 = 8_000;

/// Var: first backoff step in ms after a 429 or 5xx (doubles per attempt).
pub const EVENTS_BACKOFF_MS: &str = "EVENTS_BACKOFF_MS";

// --- Call trace and console (docs/console.md) ---

/// D1 database holding the per-call trace; tracing is off without it.
pub const TRACE_DB: &str = "TRACE";

/// Secret: admin tokens for `/console` (a login form) and `/admin/events/...`
/// (a Bearer header), separated by commas or whitespace, at least 16
/// characters each. Not the callback tokens.
pub const ADMIN_TOKENS: &str = "EXOEDGE_ADMIN_TOKENS";

// --- Two workers (README, "Two workers") ---

/// Service binding from the callback worker to the backend worker, which
/// serves every route but the applet callbacks and `/healthz`.
#[cfg(not(feature = "backend"))]
pub const BACKEND: &str = "BACKEND";
