//! Programmable Connect (seed 17164-17325): Exotel asks whom to dial and how.

use serde::{Deserialize, Serialize};

use crate::answer::playback::StartCallPlayback;
use crate::bounded::{ConversationSeconds, HttpUrl, ParallelAttempts, RingingSeconds};
use crate::destination::{Destination, Numbers};
use crate::reply::Reply;

/// `destination`: the numbers to dial, mandatory and non-empty.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationList {
    /// Dialled in order (or together, with parallel ringing).
    pub numbers: Numbers,
}

/// `recording_channels`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingChannels {
    /// Both parties in one channel.
    Single,
    /// Caller and agent in separate channels.
    Dual,
}

/// `music_on_hold` while the agent's phone rings.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MusicOnHold {
    /// Exotel's own music.
    DefaultTone,
    /// The operator's ringback, as is.
    OperatorTone,
    /// An audio file of ours.
    CustomTone {
        /// 8 kHz mono wav/mp3.
        value: HttpUrl,
    },
}

/// `parallel_ringing`: ring several destinations at once.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParallelRinging {
    /// Whether to ring in parallel.
    pub activate: bool,
    /// How many at once, 1-10.
    pub max_parallel_attempts: ParallelAttempts,
}

/// The Connect answer, version 1.0. Every optional field left `None` takes
/// Exotel's documented default, so it is left out of the JSON.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectAnswer {
    /// Ask again after each unsuccessful attempt.
    #[serde(default)]
    pub fetch_after_attempt: bool,
    /// Whom to dial.
    pub destination: DestinationList,
    /// ExoPhone to dial out from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing_phone_number: Option<Destination>,
    /// Record the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<bool>,
    /// Single or dual channel recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_channels: Option<RecordingChannels>,
    /// Seconds to ring each attempt, at most 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ringing_duration: Option<RingingSeconds>,
    /// Longest conversation in seconds, at most 4500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_conversation_duration: Option<ConversationSeconds>,
    /// What the caller hears while the agent's phone rings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music_on_hold: Option<MusicOnHold>,
    /// Ring destinations together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_ringing: Option<ParallelRinging>,
    /// URL Exotel calls on dial start and end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_passthru_event_url: Option<HttpUrl>,
    /// Played when the agent answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_call_playback: Option<StartCallPlayback>,
}

impl ConnectAnswer {
    /// The smallest valid answer: dial these numbers with Exotel's defaults.
    pub fn dial(numbers: Numbers) -> Self {
        Self {
            fetch_after_attempt: false,
            destination: DestinationList { numbers },
            outgoing_phone_number: None,
            record: None,
            recording_channels: None,
            max_ringing_duration: None,
            max_conversation_duration: None,
            music_on_hold: None,
            parallel_ringing: None,
            dial_passthru_event_url: None,
            start_call_playback: None,
        }
    }

    /// The HTTP answer: JSON, `application/json`.
    pub fn reply(&self) -> Reply {
        Reply::json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample answer of seed 17240-17262, with the playback the sample
    /// garbles written out as the table documents it.
    const SAMPLE: &str = r#"{
      "fetch_after_attempt": false,
      "destination": {"numbers": ["+919812345678"]},
      "outgoing_phone_number": "+918047115777",
      "record": true,
      "recording_channels": "dual",
      "max_ringing_duration": 45,
      "max_conversation_duration": 3600,
      "music_on_hold": {"type": "operator_tone"},
      "start_call_playback": {"playback_to": "both", "type": "text", "value": "This text would be spoken out to the callee"}
    }"#;

    #[test]
    fn the_seed_sample_round_trips() {
        let a: ConnectAnswer = serde_json::from_str(SAMPLE).unwrap();
        let out: serde_json::Value = serde_json::from_str(&a.reply().body).unwrap();
        let want: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(out, want);
    }

    #[test]
    fn minimal_answer_has_only_mandatory_fields() {
        let a = ConnectAnswer::dial(Numbers::one(Destination::try_from("09812345678").unwrap()));
        assert_eq!(
            a.reply().body,
            r#"{"fetch_after_attempt":false,"destination":{"numbers":["+919812345678"]}}"#
        );
    }

    #[test]
    fn invalid_answers_cannot_be_built() {
        let cases = [
            (r#"{"destination": {"numbers": []}}"#, "empty"),
            (r#"{}"#, "destination"),
            (
                r#"{"destination": {"numbers": ["+919812345678"]}, "max_ringing_duration": 61}"#,
                "between 1 and 60",
            ),
            (
                r#"{"destination": {"numbers": ["+919812345678"]}, "max_conversation_duration": 4501}"#,
                "between 1 and 4500",
            ),
            (
                r#"{"destination": {"numbers": ["+919812345678"]}, "recording_channels": "quad"}"#,
                "quad",
            ),
            (
                r#"{"destination": {"numbers": ["+919812345678"]}, "music_on_hold": {"type": "custom_tone"}}"#,
                "value",
            ),
            (
                r#"{"destination": {"numbers": ["+919812345678"]}, "parallel_ringing": {"activate": true, "max_parallel_attempts": 11}}"#,
                "between 1 and 10",
            ),
            (
                r#"{"destination": {"numbers": ["+919812345678"]}, "surprise": 1}"#,
                "surprise",
            ),
        ];
        for (doc, needle) in cases {
            let e = serde_json::from_str::<ConnectAnswer>(doc)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{doc}: {e}");
        }
    }
}
