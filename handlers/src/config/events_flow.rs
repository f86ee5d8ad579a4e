//! The config's `events` section: the flow [`crate::events::decide`] runs
//! for real-time call events (prompts, the menu's `<Gather>`, routes).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::answer::exoml::Verb;
use crate::destination::Destination;

/// Something to say or play.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Prompt {
    /// Text to speech (`<Say>`).
    Text {
        /// The words.
        text: String,
    },
    /// An audio file (`<StartPlay>`), 8 kHz mono wav/mp3.
    Audio {
        /// Its URL.
        audio_url: crate::bounded::HttpUrl,
    },
}

impl Prompt {
    /// The verb that says or plays it.
    pub(crate) fn verb(&self) -> Verb {
        match self {
            Self::Text { text } => Verb::say(text.clone()),
            Self::Audio { audio_url } => Verb::play(audio_url.as_str()),
        }
    }
}

/// The `<Gather>` the menu uses.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatherSettings {
    /// Digits to collect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_digits: Option<u32>,
    /// Seconds to wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_sec: Option<u32>,
    /// Key that ends input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_on_key: Option<String>,
}

/// The config's optional `events` section: the flow
/// [`crate::events::decide`] runs.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
// The schema keeps the words it had when this type lived beside `decide`
// (config/schema.json is committed and checked).
#[cfg_attr(
    feature = "schema",
    schemars(description = "The config's optional `events` section: the flow [`decide`] runs.")
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsFlow {
    /// Answer inbound legs on `channel_created`.
    #[serde(default = "yes")]
    pub answer_inbound: bool,
    /// Played when the leg is answered; the menu starts when it ends.
    pub greeting: Prompt,
    /// Played instead of the greeting when the caller's input was not usable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_prompt: Option<Prompt>,
    /// Said before the flow hangs up on a caller it could not route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodbye: Option<Prompt>,
    /// How digits are collected.
    #[serde(default)]
    pub gather: GatherSettings,
    /// Digits → whom to dial. Empty: whom the routing model connects the
    /// call to (hours, caller lists, the line's menu, agent groups).
    #[serde(default)]
    pub routes: BTreeMap<String, Destination>,
    /// Prompts replayed after bad or no input, before giving up.
    #[serde(default = "one")]
    pub max_retries: u32,
    /// `answered_by` values that mean "not a person": hang up.
    #[serde(default = "machine")]
    pub hangup_when_answered_by: Vec<String>,
    /// Caller ID for the dial when the event carries no `exophone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exophone: Option<Destination>,
    /// `absorbDtmf` of the dial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absorb_dtmf: Option<bool>,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn machine() -> Vec<String> {
    vec!["MACHINE".into()]
}
