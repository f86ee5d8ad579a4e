//! The IVR menu of a line: which digits send the call where.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::destination::Numbers;

/// Where a menu choice sends the call.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// A named agent group.
    Group(String),
    /// Fixed numbers.
    Numbers(Numbers),
}

/// IVR: the digits from the Gather before Connect pick the target.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    /// Exact digits → target (`"1"`, `"2"`, `"99"`).
    pub options: BTreeMap<String, Target>,
    /// Any other input (or none); the line's normal routing when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<Target>,
}
