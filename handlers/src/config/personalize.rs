//! Personalised greeting and playback: where the caller's data comes from
//! and the templates it fills.

use serde::{Deserialize, Serialize};

use crate::bounded::HttpUrl;

use super::template::Template;

/// Where caller data for templates comes from.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// Read `caller:<E.164>` from the STATE KV namespace first.
    #[serde(default = "yes")]
    pub kv: bool,
    /// Then ask the customer's API: `{caller}` in the URL is replaced by the
    /// caller's E.164 number (URL-encoded). It must answer a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<HttpUrl>,
    /// Time budget for the origin, in ms (at most 2500: the whole answer
    /// must stay well inside Exotel's 5 s).
    #[serde(default = "default_origin_ms")]
    pub timeout_ms: u32,
    /// How long an origin answer is reused for the same caller.
    #[serde(default = "default_cache_s")]
    pub cache_seconds: u32,
}

fn yes() -> bool {
    true
}
fn default_origin_ms() -> u32 {
    800
}
fn default_cache_s() -> u32 {
    300
}

/// Longest origin budget the config accepts.
pub const MAX_ORIGIN_MS: u32 = 2500;

/// Personalised greeting and playback text.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Personalize {
    /// Where the variables come from.
    pub lookup: Lookup,
    /// Greeting template; the line's `greeting` is the fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<Template>,
    /// Text played to the agent when connected; the line's playback is the fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playback: Option<Template>,
}
