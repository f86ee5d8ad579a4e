//! The Connect applet's playback URL (seed 16998-17163): what the caller and
//! agent hear at the start of, during and after the conversation.

use serde::{Deserialize, Serialize};

use crate::bounded::{HttpUrl, PlaybackSeconds, SpokenText};
use crate::reply::Reply;

/// Something to play: text for TTS or an audio file.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Media {
    /// Read out by Exotel's TTS.
    Text(SpokenText),
    /// 8 kHz mono 16-bit wav/mp3; Exotel caches by URL.
    AudioUrl(HttpUrl),
}

/// Who hears the start-of-call playback.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaybackTo {
    /// Caller and callee.
    Both,
    /// Only the agent being connected.
    Callee,
}

/// `start_call_playback`, also accepted in the Connect answer.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartCallPlayback {
    /// Who hears it.
    pub playback_to: PlaybackTo,
    /// What they hear.
    #[serde(flatten)]
    pub media: Media,
}

/// `in_call_playback`: played during the conversation, repeating.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InCallPlayback {
    /// Seconds after connect before the first play.
    pub start_delay: PlaybackSeconds,
    /// Seconds between the end of one play and the next.
    pub repeat_frequency: PlaybackSeconds,
    /// The agent hears it.
    pub play_to_callee: bool,
    /// The caller hears it.
    pub play_to_caller: bool,
    /// What they hear.
    #[serde(flatten)]
    pub media: Media,
}

/// `end_call_playback`: played when the conversation ends.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndCallPlayback {
    /// What is heard.
    #[serde(flatten)]
    pub media: Media,
}

/// The whole playback answer; any subset of the three may be given.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybackAnswer {
    /// At the start of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_call_playback: Option<StartCallPlayback>,
    /// During the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_call_playback: Option<InCallPlayback>,
    /// At the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_call_playback: Option<EndCallPlayback>,
}

impl PlaybackAnswer {
    /// The HTTP answer Exotel expects: JSON with exactly `application/json`.
    pub fn reply(&self) -> Reply {
        Reply::json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's three forms, merged into one document.
    #[test]
    fn round_trips_the_documented_shape() {
        let doc = r#"{
          "start_call_playback": {"playback_to": "both", "type": "audio_url", "value": "http://example.com/a.mp3"},
          "in_call_playback": {"start_delay": 5, "repeat_frequency": 10, "play_to_callee": true, "play_to_caller": false, "type": "text", "value": "hello, this is a sample text"},
          "end_call_playback": {"type": "text", "value": "Hello, this is a sample text"}
        }"#;
        let a: PlaybackAnswer = serde_json::from_str(doc).unwrap();
        let v: serde_json::Value = serde_json::to_value(&a).unwrap();
        assert_eq!(v["start_call_playback"]["playback_to"], "both");
        assert_eq!(v["start_call_playback"]["type"], "audio_url");
        assert_eq!(v["in_call_playback"]["start_delay"], 5);
        assert_eq!(v["in_call_playback"]["type"], "text");
        assert_eq!(
            v["end_call_playback"]["value"],
            "Hello, this is a sample text"
        );
        let r = a.reply();
        assert_eq!(r.content_type.as_str(), "application/json");
    }

    #[test]
    fn refuses_what_exotel_would_refuse() {
        for bad in [
            r#"{"start_call_playback": {"playback_to": "caller", "type": "text", "value": "x"}}"#,
            r#"{"start_call_playback": {"playback_to": "both", "type": "audio_url", "value": "ftp://x/a.mp3"}}"#,
            r#"{"end_call_playback": {"type": "video", "value": "x"}}"#,
            r#"{"end_call_playback": {"type": "text", "value": ""}}"#,
        ] {
            assert!(
                serde_json::from_str::<PlaybackAnswer>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
