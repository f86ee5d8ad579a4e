//! Greeting and menu applets with dynamic text or audio (seed 17825-17897):
//! the body is the text to speak, or audio URLs one per line, served as
//! `text/plain` with nothing after it.

use serde::{Deserialize, Serialize};

use crate::bounded::{HttpUrl, SpokenText};
use crate::reply::{ContentType, Reply};

/// What a greeting says.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GreetingAnswer {
    /// One line of text for TTS.
    Text(SpokenText),
    /// Audio files played in order.
    AudioUrls(AudioList),
}

/// A non-empty list of audio URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<HttpUrl>", into = "Vec<HttpUrl>")]
pub struct AudioList(Vec<HttpUrl>);

baked_newtype!(AudioList, Vec<HttpUrl>);

impl TryFrom<Vec<HttpUrl>> for AudioList {
    type Error = String;
    fn try_from(v: Vec<HttpUrl>) -> Result<Self, String> {
        if v.is_empty() {
            Err("audio_urls must not be empty".into())
        } else {
            Ok(Self(v))
        }
    }
}

impl From<AudioList> for Vec<HttpUrl> {
    fn from(a: AudioList) -> Self {
        a.0
    }
}

impl GreetingAnswer {
    /// The body Exotel reads.
    pub fn body(&self) -> String {
        match self {
            Self::Text(t) => t.as_str().to_owned(),
            Self::AudioUrls(urls) => urls
                .0
                .iter()
                .map(HttpUrl::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The HTTP answer: `text/plain`, exactly.
    pub fn reply(&self) -> Reply {
        let r = Reply::text(200, self.body());
        debug_assert_eq!(r.content_type, ContentType::TextPlain);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_audio_bodies() {
        let t: GreetingAnswer =
            serde_json::from_str(r#"{"text": "Thanks for calling Super Kart."}"#).unwrap();
        assert_eq!(t.reply().body, "Thanks for calling Super Kart.");
        assert_eq!(t.reply().content_type.as_str(), "text/plain");
        let a: GreetingAnswer = serde_json::from_str(
            r#"{"audio_urls": ["http://example.com/first-audio.wav", "http://example.com/second-audio.wav"]}"#,
        )
        .unwrap();
        assert_eq!(
            a.body(),
            "http://example.com/first-audio.wav\nhttp://example.com/second-audio.wav"
        );
        assert!(serde_json::from_str::<GreetingAnswer>(r#"{"audio_urls": []}"#).is_err());
    }
}
