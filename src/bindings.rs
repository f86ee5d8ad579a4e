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

/// Default for [`KV_BUDGET_MS`]: KV reads at the edge take single-digit ms
/// when hot; 150 ms leaves almost all of Exotel's 5 s for the rest.
pub const DEFAULT_KV_BUDGET_MS: u64 = 150;
