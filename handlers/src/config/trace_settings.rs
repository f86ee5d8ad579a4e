//! The config's `trace` section: masking, retention and the per-call cap of
//! the call trace (docs/console.md).

use serde::{Deserialize, Serialize};

/// Trace settings in the config document (`trace`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSettings {
    /// Store and show phone numbers in full. Off by default: rows keep the
    /// last four digits only, as the logs do. Turn on only where the people
    /// with console access may see callers' numbers.
    #[serde(default)]
    pub full_numbers: bool,
    /// Days a row is kept (1 to 90).
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    /// Rows kept per call (1 to 1000): a call stuck in a loop cannot fill the database.
    #[serde(default = "default_cap")]
    pub max_rows_per_call: u32,
}

fn default_retention() -> u32 {
    7
}
fn default_cap() -> u32 {
    200
}

impl Default for TraceSettings {
    fn default() -> Self {
        Self {
            full_numbers: false,
            retention_days: default_retention(),
            max_rows_per_call: default_cap(),
        }
    }
}

impl TraceSettings {
    /// Range checks, with the path of the offending value.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(1..=90).contains(&self.retention_days) {
            return Err((
                "trace.retention_days".into(),
                format!("must be between 1 and 90, got {}", self.retention_days),
            ));
        }
        if !(1..=1000).contains(&self.max_rows_per_call) {
            return Err((
                "trace.max_rows_per_call".into(),
                format!("must be between 1 and 1000, got {}", self.max_rows_per_call),
            ));
        }
        Ok(())
    }

    /// Rows older than this (Unix ms) may be deleted.
    pub fn cutoff_ms(&self, now_ms: i64) -> i64 {
        now_ms - i64::from(self.retention_days) * 86_400_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_range_checked() {
        assert!(TraceSettings::default().validate().is_ok());
        let bad = TraceSettings {
            retention_days: 0,
            ..TraceSettings::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "trace.retention_days");
        assert_eq!(
            TraceSettings::default().cutoff_ms(10 * 86_400_000),
            3 * 86_400_000
        );
    }
}
