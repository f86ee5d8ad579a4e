//! The caller lists: blocked and VIP callers.

use serde::{Deserialize, Serialize};

/// Caller lists, by number in any of Exotel's forms.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerLists {
    /// Never dialled through: Connect says "we didn't dial anyone", Passthru
    /// takes its failure branch.
    #[serde(default)]
    pub block: Vec<String>,
    /// Routed to the line's `vip_agents` and served out of hours.
    #[serde(default)]
    pub vip: Vec<String>,
}
