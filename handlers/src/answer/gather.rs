//! The Gather applet's dynamic URL (seed 17365-17541): what to ask the caller
//! and how to collect the digits.

use serde::{Deserialize, Serialize};

use crate::bounded::{FinishOnKey, HttpUrl, InputTimeout, MaxInputDigits, RepeatMenu, SpokenText};
use crate::reply::Reply;

/// A prompt: `{"text": ...}` or `{"audio_url": ...}`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Read out by TTS.
    Text(SpokenText),
    /// Played from a URL.
    AudioUrl(HttpUrl),
}

/// The Gather answer. `gather_prompt` is mandatory; the rest take Exotel's
/// defaults when left out.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatherAnswer {
    /// What the caller hears first.
    pub gather_prompt: Prompt,
    /// Stop after this many digits (default 255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_digits: Option<MaxInputDigits>,
    /// Stop on this key (default `#`; `""` for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_on_key: Option<FinishOnKey>,
    /// Seconds to wait for each key (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_timeout: Option<InputTimeout>,
    /// Replays on silence (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_menu: Option<RepeatMenu>,
    /// What a replay says (default: the first prompt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_gather_prompt: Option<Prompt>,
}

impl GatherAnswer {
    /// The HTTP answer: JSON, `application/json`.
    pub fn reply(&self) -> Reply {
        Reply::json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seed 17467-17472 (with the sample's trailing comma removed).
    #[test]
    fn the_seed_sample_round_trips() {
        let doc = r##"{"gather_prompt": {"text": "Hello Kovalan, please provide your order id"}, "max_input_digits": 5, "finish_on_key": "#", "input_timeout": 6, "repeat_menu": 2, "repeat_gather_prompt": {"text": "It seems that you have not provided any input, please try again."}}"##;
        let a: GatherAnswer = serde_json::from_str(doc).unwrap();
        let out: serde_json::Value = serde_json::from_str(&a.reply().body).unwrap();
        assert_eq!(out, serde_json::from_str::<serde_json::Value>(doc).unwrap());
    }

    #[test]
    fn prompt_is_mandatory_and_keys_are_checked() {
        assert!(serde_json::from_str::<GatherAnswer>(r#"{"max_input_digits": 5}"#).is_err());
        assert!(serde_json::from_str::<GatherAnswer>(
            r#"{"gather_prompt": {"text": "x"}, "finish_on_key": "A"}"#
        )
        .is_err());
        assert!(serde_json::from_str::<GatherAnswer>(
            r#"{"gather_prompt": {"audio_url": "nope"}}"#
        )
        .is_err());
        let a: GatherAnswer = serde_json::from_str(
            r#"{"gather_prompt": {"audio_url": "https://x.example/p.wav"}, "finish_on_key": ""}"#,
        )
        .unwrap();
        assert_eq!(
            a.reply().body,
            r#"{"gather_prompt":{"audio_url":"https://x.example/p.wav"},"finish_on_key":""}"#
        );
    }
}
