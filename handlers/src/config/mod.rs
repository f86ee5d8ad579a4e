//! The routing config: what each ExoPhone answers, and the safe static
//! answers served when anything fails.
//!
//! One JSON document (schema: `config/schema.json`). The worker embeds
//! `config/default.json` and may override it with a document in KV; either
//! is parsed and validated once per isolate. Errors name the path inside the
//! document so a person can find the mistake.
//!
//! A layer above the answers (src/lib.rs, "Layers"): the config is made
//! of answers ([`crate::answer`]) and of its own vocabulary (the modules
//! below); it never imports the routing that reads it or the events flow
//! above ([`crate::routing`] and [`crate::decide`] decide;
//! `tests/layers.rs` checks).

pub mod callers;
pub mod events_flow;
pub mod groups;
pub mod hours;
pub mod menu;
pub mod personalize;
pub mod template;
pub mod trace_settings;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::answer::connect::ConnectAnswer;
use crate::answer::gather::GatherAnswer;
use crate::answer::greeting::GreetingAnswer;
use crate::answer::passthru::{Branch, PassthruRules};
use crate::answer::playback::PlaybackAnswer;
use crate::answer::Static;
use crate::destination::Numbers;
use crate::error::ConfigError;
use crate::phone;
use callers::CallerLists;
use events_flow::EventsFlow;
use groups::{AgentGroup, MAX_AGENTS};
use hours::{Hours, OffsetFn};
use menu::{Menu, Target};
use personalize::{Personalize, MAX_ORIGIN_MS};
use trace_settings::TraceSettings;

/// The format version this build reads.
pub const VERSION: u32 = 1;

/// What one ExoPhone answers. Every part is optional: a missing part falls
/// back to `default_line`, then to `fallback`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// A name for people and logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The Connect answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<Static<ConnectAnswer>>,
    /// Numbers for the dial-whom URL; the Connect destinations when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialwhom: Option<Numbers>,
    /// The Gather answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gather: Option<Static<GatherAnswer>>,
    /// The greeting text or audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<Static<GreetingAnswer>>,
    /// The Connect playback answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playback: Option<Static<PlaybackAnswer>>,
    /// Passthru branching rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passthru: Option<PassthruRules>,
    /// Business hours; always open when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Hours>,
    /// Parts served out of hours, except to VIPs. It overrides only what it
    /// names; a part it does not name stays the line's. Its own `menu` and
    /// `agents` come before the line's menu, so naming `agents` sends every
    /// after-hours call there. Without it, Connect and dial-whom dial nobody
    /// out of hours (docs/routing.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Box<Line>>,
    /// Agent group (name in `groups`) that Connect dials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<String>,
    /// Agent group for callers on the VIP list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_agents: Option<String>,
    /// IVR: digits from the Gather pick the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<Menu>,
    /// Greeting and playback filled with the caller's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personalize: Option<Personalize>,
}

/// Answers that need nothing but themselves: served for `?fallback=1`, and
/// whenever a decision cannot be made. All parts are mandatory.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// Whom to dial when routing cannot decide (a reception desk).
    pub connect: Static<ConnectAnswer>,
    /// A prompt that always works.
    pub gather: Static<GatherAnswer>,
    /// A greeting that always works.
    pub greeting: Static<GreetingAnswer>,
    /// Playback (may be empty: nothing is played).
    pub playback: Static<PlaybackAnswer>,
    /// The branch passthru takes when it cannot decide.
    pub passthru: Branch,
}

/// The whole document.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Must be 1.
    pub version: u32,
    /// Seconds a config read from KV is trusted before it is read again.
    #[serde(default = "default_ttl")]
    pub cache_ttl_seconds: u32,
    /// Per ExoPhone, keyed by the number in any of Exotel's forms.
    #[serde(default)]
    pub lines: BTreeMap<String, Line>,
    /// For ExoPhones not in `lines`.
    #[serde(default)]
    pub default_line: Line,
    /// Safe answers.
    pub fallback: Fallback,
    /// The real-time events flow (`POST /events`); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventsFlow>,
    /// Agent groups by name.
    #[serde(default)]
    pub groups: BTreeMap<String, AgentGroup>,
    /// Blocked and VIP callers.
    #[serde(default)]
    pub callers: CallerLists,
    /// The per-call trace the console reads: masking, retention, cap
    /// (docs/console.md).
    #[serde(default)]
    pub trace: TraceSettings,
    /// Where named zones' offsets come from; not part of the document (the
    /// worker sets it after parsing: see [`Config::with_zone_offsets`]).
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub zone_offsets: ZoneOffsets,
}

/// The tz database a config's hours are read with: the worker's runtime
/// (`Intl`), a tz crate in native tests, or none. It travels with the
/// config so that every decision reading hours (Connect, the events flow,
/// ...) gets the same answer without threading it through each call.
#[derive(Clone, Copy, Default)]
pub struct ZoneOffsets(pub Option<OffsetFn>);

impl std::fmt::Debug for ZoneOffsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ZoneOffsets(tz database)"
        } else {
            "ZoneOffsets(none)"
        })
    }
}

/// Not part of the document: two configs that read the same are equal.
impl PartialEq for ZoneOffsets {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for ZoneOffsets {}

fn default_ttl() -> u32 {
    60
}

impl Config {
    /// Parses and validates a document. Line keys are normalised, so
    /// `08047115777` and `+918047115777` name the same line.
    pub fn from_json(doc: &str) -> Result<Self, ConfigError> {
        // Plain serde_json; the path is worked out only for an error
        // (crate::json_path says why).
        let mut cfg: Config = serde_json::from_str(doc).map_err(|e| ConfigError::Invalid {
            path: display_path(&crate::json_path::locate(doc.as_bytes(), &e)),
            message: e.to_string(),
        })?;
        if cfg.version != VERSION {
            return Err(ConfigError::Invalid {
                path: "version".into(),
                message: format!("this build reads version {VERSION}, got {}", cfg.version),
            });
        }
        let mut lines = BTreeMap::new();
        for (key, line) in std::mem::take(&mut cfg.lines) {
            let norm = phone::normalize(&key).ok_or_else(|| ConfigError::Invalid {
                path: format!("lines.{key}"),
                message: "line keys must be ExoPhone numbers".into(),
            })?;
            if lines.insert(norm.clone(), line).is_some() {
                return Err(ConfigError::Invalid {
                    path: format!("lines.{key}"),
                    message: format!("two lines name the same ExoPhone {norm}"),
                });
            }
        }
        cfg.lines = lines;
        cfg.validate_routing()?;
        cfg.trace
            .validate()
            .map_err(|(path, message)| ConfigError::Invalid { path, message })?;
        Ok(cfg)
    }

    /// Checks what serde cannot: names that refer to groups, nesting, sizes,
    /// and normalises caller lists.
    fn validate_routing(&mut self) -> Result<(), ConfigError> {
        let invalid = |path: String, message: String| ConfigError::Invalid { path, message };
        for (name, g) in &self.groups {
            if g.agents.is_empty() || g.agents.len() > MAX_AGENTS {
                return Err(invalid(
                    format!("groups.{name}.agents"),
                    format!("must list 1 to {MAX_AGENTS} agents"),
                ));
            }
        }
        let groups = &self.groups;
        let check_line = |path: &str, line: &Line, nested: bool| -> Result<(), ConfigError> {
            if nested && (line.hours.is_some() || line.closed.is_some()) {
                return Err(invalid(
                    format!("{path}.closed"),
                    "a closed variant cannot have its own hours or closed part".into(),
                ));
            }
            let mut refs: Vec<(String, &String)> = Vec::new();
            if let Some(a) = &line.agents {
                refs.push((format!("{path}.agents"), a));
            }
            if let Some(a) = &line.vip_agents {
                refs.push((format!("{path}.vip_agents"), a));
            }
            if let Some(m) = &line.menu {
                for (digits, t) in &m.options {
                    if digits.is_empty()
                        || !digits
                            .bytes()
                            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
                    {
                        return Err(invalid(
                            format!("{path}.menu.options.{digits}"),
                            "menu keys are the digits pressed".into(),
                        ));
                    }
                    if let Target::Group(g) = t {
                        refs.push((format!("{path}.menu.options.{digits}.group"), g));
                    }
                }
                if let Some(Target::Group(g)) = &m.invalid {
                    refs.push((format!("{path}.menu.invalid.group"), g));
                }
            }
            for (p, g) in refs {
                if !groups.contains_key(g) {
                    return Err(invalid(p, format!("no group named {g:?} in groups")));
                }
            }
            if let Some(pz) = &line.personalize {
                if pz.lookup.timeout_ms > MAX_ORIGIN_MS {
                    return Err(invalid(
                        format!("{path}.personalize.lookup.timeout_ms"),
                        format!(
                            "at most {MAX_ORIGIN_MS} ms, so the answer stays inside Exotel's 5 s"
                        ),
                    ));
                }
            }
            Ok(())
        };
        let mut all: Vec<(String, &Line)> = vec![("default_line".into(), &self.default_line)];
        all.extend(self.lines.iter().map(|(k, l)| (format!("lines.{k}"), l)));
        for (path, line) in all {
            check_line(&path, line, false)?;
            if let Some(c) = &line.closed {
                check_line(&format!("{path}.closed"), c, true)?;
            }
        }
        for (list, name) in [
            (&mut self.callers.block, "block"),
            (&mut self.callers.vip, "vip"),
        ] {
            for (i, n) in list.iter_mut().enumerate() {
                *n = phone::normalize(n).ok_or_else(|| {
                    invalid(
                        format!("callers.{name}[{i}]"),
                        format!("not a phone number or sip: user: {n:?}"),
                    )
                })?;
            }
        }
        Ok(())
    }

    /// The same config, reading named zones' offsets with `offsets`.
    pub fn with_zone_offsets(mut self, offsets: OffsetFn) -> Self {
        self.zone_offsets = ZoneOffsets(Some(offsets));
        self
    }

    /// Every zone the document names that needs a tz database, with its
    /// path in the document.
    pub fn named_zones(&self) -> Vec<(String, &str)> {
        let mut all: Vec<(String, &Line)> = vec![("default_line".into(), &self.default_line)];
        all.extend(self.lines.iter().map(|(k, l)| (format!("lines.{k}"), l)));
        all.into_iter()
            .filter_map(|(path, line)| {
                line.hours
                    .as_ref()
                    .map(|h| (format!("{path}.hours.timezone"), &h.timezone))
            })
            .filter(|(_, z)| z.needs_tz_database())
            .map(|(path, z)| (path, z.name()))
            .collect()
    }

    /// Refuses a zone the tz database at hand does not know (the worker
    /// checks with its runtime, so a zone it cannot read never serves).
    pub fn check_zones(&self, known: impl Fn(&str) -> bool) -> Result<(), ConfigError> {
        match self.named_zones().into_iter().find(|(_, z)| !known(z)) {
            Some((path, zone)) => Err(ConfigError::Invalid {
                path,
                message: format!("time zone {zone:?} is not in this runtime's tz database"),
            }),
            None => Ok(()),
        }
    }

    /// The line for the ExoPhone called, else the default line.
    pub fn line(&self, exophone: Option<&str>) -> &Line {
        exophone
            .and_then(phone::normalize)
            .and_then(|k| self.lines.get(&k))
            .unwrap_or(&self.default_line)
    }
}

/// A path of `.` is the document itself; say so.
fn display_path(p: &str) -> String {
    if p == "." || p.is_empty() {
        "document".into()
    } else {
        p.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const DEFAULT: &str = crate::DEFAULT_CONFIG;

    #[test]
    fn the_embedded_default_is_valid() {
        let c = Config::from_json(DEFAULT).unwrap();
        assert!(!c.lines.is_empty());
    }

    #[test]
    fn lines_resolve_in_any_number_form_and_fall_back() {
        let c = Config::from_json(DEFAULT).unwrap();
        let (key, line) = c.lines.iter().next().unwrap();
        let national = format!("0{}", &key[3..]);
        assert_eq!(c.line(Some(&national)), line);
        assert_eq!(c.line(Some("+10000000000")), &c.default_line);
        assert_eq!(c.line(None), &c.default_line);
    }

    #[test]
    fn errors_name_the_path() {
        let bad = DEFAULT.replacen(
            "\"max_ringing_duration\": 30",
            "\"max_ringing_duration\": 90",
            1,
        );
        assert_ne!(bad, DEFAULT, "fixture must contain max_ringing_duration 30");
        let e = Config::from_json(&bad).unwrap_err().to_string();
        assert!(
            e.contains("connect.max_ringing_duration") && e.contains("between 1 and 60"),
            "{e}"
        );

        let e = Config::from_json(r#"{"version": 2, "fallback": {}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("fallback"), "{e}");
        let e = Config::from_json("{").unwrap_err().to_string();
        assert!(e.contains("config invalid"), "{e}");
    }

    #[test]
    fn bad_line_keys_and_versions() {
        let mut v: serde_json::Value = serde_json::from_str(DEFAULT).unwrap();
        v["lines"]["support"] = serde_json::json!({});
        let e = Config::from_json(&v.to_string()).unwrap_err();
        assert_eq!(
            e,
            ConfigError::Invalid {
                path: "lines.support".into(),
                message: "line keys must be ExoPhone numbers".into()
            }
        );
        let mut v: serde_json::Value = serde_json::from_str(DEFAULT).unwrap();
        v["version"] = 7.into();
        assert!(Config::from_json(&v.to_string())
            .unwrap_err()
            .to_string()
            .contains("version 1"));
    }
}
