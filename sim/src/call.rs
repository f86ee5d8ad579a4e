//! The call description: who calls which ExoPhone, the applets of the flow
//! in order, and what the people on the line do (digits, answers, AMD).
//!
//! Read from TOML (or JSON, by extension); see `sim/examples/` and
//! `docs/simulator.md` for the format.

use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a call file could not be used.
#[derive(Debug, Error)]
pub enum CallFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// TOML syntax or shape.
    #[error("{path} is not a valid call file: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's words, with the place in the file.
        message: String,
    },
    /// Parsed, but the flow cannot be played (e.g. a branch to an unknown id).
    #[error("{0}")]
    Invalid(String),
}

/// The whole file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CallFile {
    /// The call itself.
    pub call: CallInfo,
    /// The flow's applets in order (`[[applet]]`).
    #[serde(rename = "applet", default)]
    pub applets: Vec<Applet>,
    /// Where Exotel POSTs the call's end (`StatusCallback`).
    #[serde(default)]
    pub status_callback: Option<StatusCallbackSpec>,
}

/// `incoming` or `outbound-dial`, as Exotel's `Direction`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum Direction {
    /// A caller dialled the ExoPhone.
    #[default]
    #[serde(rename = "incoming")]
    Incoming,
    /// The call was started through the API.
    #[serde(rename = "outbound-dial")]
    OutboundDial,
}

impl Direction {
    /// Exotel's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::OutboundDial => "outbound-dial",
        }
    }
}

/// How `Legs` travels in a query: bracketed keys, a JSON string, or each in turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LegsForm {
    /// `Legs[0][Number]=...` (the Gather and Passthru tables).
    #[default]
    Bracketed,
    /// `Legs=[{"Number": ...}]` (the Passthru samples).
    Json,
    /// Bracketed first, then JSON, then bracketed...: both forms in one run.
    Alternate,
}

/// The call's fixed facts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CallInfo {
    /// The caller's number, in any of Exotel's forms (`09900112233`).
    pub caller: String,
    /// The ExoPhone called (`08047115777`).
    pub exophone: String,
    /// `incoming` (default) or `outbound-dial`.
    #[serde(default)]
    pub direction: Direction,
    /// `CustomField`, as an API-started call carries it.
    #[serde(default)]
    pub custom_field: Option<String>,
    /// A fixed CallSid (default: a fresh one per run).
    #[serde(default)]
    pub call_sid: Option<String>,
    /// `flow_id` (default `1`).
    #[serde(default)]
    pub flow_id: Option<String>,
    /// How `Legs` is sent (the `--legs` flag overrides).
    #[serde(default)]
    pub legs_form: Option<LegsForm>,
}

/// Where to go after an applet: `hangup`, or the `id` of an applet.
pub type Target = Option<String>;

/// One applet of the flow.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Applet {
    /// Greeting/menu with dynamic text or audio (HEAD then GET).
    Greeting(GreetingSpec),
    /// Gather with a dynamic URL.
    Gather(GatherSpec),
    /// Connect with a dynamic URL (Programmable Connect).
    Connect(ConnectSpec),
    /// Connect's "Dial phone number(s) returned by URL".
    Dialwhom(DialSpec),
    /// A Connect playback URL on its own (HEAD then GET).
    Playback(PlaybackSpec),
    /// Passthru, sync or async.
    Passthru(PassthruSpec),
    /// A Connect popup URL on its own, for the last dialled agent.
    Popup(PopupSpec),
}

impl Applet {
    /// `greeting`, `gather`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Greeting(_) => "greeting",
            Self::Gather(_) => "gather",
            Self::Connect(_) => "connect",
            Self::Dialwhom(_) => "dialwhom",
            Self::Playback(_) => "playback",
            Self::Passthru(_) => "passthru",
            Self::Popup(_) => "popup",
        }
    }

    /// The applet's `id`, for branches.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Greeting(s) => s.id.as_deref(),
            Self::Gather(s) => s.id.as_deref(),
            Self::Connect(s) => s.id.as_deref(),
            Self::Dialwhom(s) => s.id.as_deref(),
            Self::Playback(s) => s.id.as_deref(),
            Self::Passthru(s) => s.id.as_deref(),
            Self::Popup(s) => s.id.as_deref(),
        }
    }

    /// Every branch target this applet names.
    fn targets(&self) -> Vec<&str> {
        let mut v: Vec<&Target> = Vec::new();
        match self {
            Self::Greeting(s) => v.push(&s.next),
            Self::Gather(s) => v.extend([&s.next, &s.on_failure]),
            Self::Connect(s) => v.extend([&s.next, &s.on_no_answer, &s.on_no_dial]),
            Self::Dialwhom(s) => v.extend([&s.next, &s.on_no_answer, &s.on_no_dial]),
            Self::Playback(s) => v.push(&s.next),
            Self::Passthru(s) => v.extend([&s.next, &s.on_else]),
            Self::Popup(s) => v.push(&s.next),
        }
        v.into_iter().flatten().map(String::as_str).collect()
    }
}

/// Greeting: a URL and where to go next.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GreetingSpec {
    /// Branch name.
    #[serde(default)]
    pub id: Option<String>,
    /// Relative to `--base`, or absolute.
    pub url: String,
    /// Next applet (default: the following one).
    #[serde(default)]
    pub next: Target,
}

/// Gather: URLs and the keys the caller presses.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatherSpec {
    /// Branch name.
    #[serde(default)]
    pub id: Option<String>,
    /// Primary URL.
    pub url: String,
    /// Fallback URL.
    #[serde(default)]
    pub fallback: Option<String>,
    /// The keys pressed, e.g. `"9876543210#"`; absent: the caller presses nothing.
    #[serde(default)]
    pub digits: Option<String>,
    /// After the gather (default: the following applet).
    #[serde(default)]
    pub next: Target,
    /// "When the dynamic URL response fails" (default: `next`).
    #[serde(default)]
    pub on_failure: Target,
}

/// What happens when one attempt rings: answered, busy, no answer, failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "AttemptRaw", into = "String")]
pub enum AttemptOutcome {
    /// Picked up.
    Answered,
    /// Rang out.
    NoAnswer,
    /// Line busy.
    Busy,
    /// Could not be reached.
    Failed,
}

/// `true`/`false` or a word, in the call file.
#[derive(Deserialize)]
#[serde(untagged)]
enum AttemptRaw {
    Bool(bool),
    Word(String),
}

impl TryFrom<AttemptRaw> for AttemptOutcome {
    type Error = String;
    fn try_from(r: AttemptRaw) -> Result<Self, String> {
        match r {
            AttemptRaw::Bool(true) => Ok(Self::Answered),
            AttemptRaw::Bool(false) => Ok(Self::NoAnswer),
            AttemptRaw::Word(w) => match w.as_str() {
                "answered" | "answer" | "completed" => Ok(Self::Answered),
                "no-answer" => Ok(Self::NoAnswer),
                "busy" => Ok(Self::Busy),
                "failed" => Ok(Self::Failed),
                _ => Err(format!("attempt outcome must be true, false, answered, no-answer, busy or failed; got {w:?}")),
            },
        }
    }
}

impl From<AttemptOutcome> for String {
    fn from(a: AttemptOutcome) -> String {
        a.dial_call_status().to_owned()
    }
}

impl AttemptOutcome {
    /// Exotel's `DialCallStatus` for it.
    pub fn dial_call_status(self) -> &'static str {
        match self {
            Self::Answered => "completed",
            Self::NoAnswer => "no-answer",
            Self::Busy => "busy",
            Self::Failed => "failed",
        }
    }

    /// `CauseCode` and ISDN `Cause` of the leg.
    pub fn cause(self) -> (&'static str, &'static str) {
        match self {
            Self::Answered => ("NORMAL_CLEARING", "16"),
            Self::NoAnswer => ("NO_ANSWER", "19"),
            Self::Busy => ("USER_BUSY", "17"),
            Self::Failed => ("UNALLOCATED_NUMBER", "1"),
        }
    }
}

/// The answering machine detection result for the answered leg.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AmdSpec {
    /// `HUMAN`, `MACHINE`, `NOTSURE` or `NA`.
    pub answered_by: String,
    /// e.g. `HUMAN-800-800`, `MAXWORDS-5-4`.
    #[serde(default)]
    pub cause: String,
}

/// The dialling part shared by Connect and Dial whom.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DialSpec {
    /// Branch name.
    #[serde(default)]
    pub id: Option<String>,
    /// Primary URL.
    pub url: String,
    /// Fallback URL.
    #[serde(default)]
    pub fallback: Option<String>,
    /// One entry per dialled number (per batch with parallel ringing), in
    /// order; default: the first one answers. Once the list runs out, nobody answers.
    #[serde(default)]
    pub answers: Option<Vec<AttemptOutcome>>,
    /// AMD result of the answered leg (outbound calls with AMD on).
    #[serde(default)]
    pub amd: Option<AmdSpec>,
    /// "Create popup..." URL.
    #[serde(default)]
    pub popup: Option<String>,
    /// The Connect playback URL, fetched when an agent answers.
    #[serde(default)]
    pub playback: Option<String>,
    /// Seconds an answered agent's phone rings first (default 5).
    #[serde(default)]
    pub ring_seconds: Option<u32>,
    /// Seconds of conversation once answered (default 30).
    #[serde(default)]
    pub talk_seconds: Option<u32>,
    /// Who hangs up: `Caller` or `Callee` (default `Callee`).
    #[serde(default)]
    pub disconnected_by: Option<String>,
    /// "After the call conversation ends" (default: the following applet).
    #[serde(default)]
    pub next: Target,
    /// "If nobody answers" (default: `next`).
    #[serde(default)]
    pub on_no_answer: Target,
    /// "We didn't dial anyone" (default: `on_no_answer`).
    #[serde(default)]
    pub on_no_dial: Target,
}

/// Connect: the dialling part plus the re-fetch cap.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectSpec {
    /// Branch name.
    #[serde(default)]
    pub id: Option<String>,
    /// Primary URL.
    pub url: String,
    /// Fallback URL.
    #[serde(default)]
    pub fallback: Option<String>,
    /// See [`DialSpec::answers`].
    #[serde(default)]
    pub answers: Option<Vec<AttemptOutcome>>,
    /// See [`DialSpec::amd`].
    #[serde(default)]
    pub amd: Option<AmdSpec>,
    /// See [`DialSpec::popup`].
    #[serde(default)]
    pub popup: Option<String>,
    /// See [`DialSpec::playback`].
    #[serde(default)]
    pub playback: Option<String>,
    /// See [`DialSpec::ring_seconds`].
    #[serde(default)]
    pub ring_seconds: Option<u32>,
    /// See [`DialSpec::talk_seconds`].
    #[serde(default)]
    pub talk_seconds: Option<u32>,
    /// See [`DialSpec::disconnected_by`].
    #[serde(default)]
    pub disconnected_by: Option<String>,
    /// Most fetches of the URL in one Connect (default 10): a guard, since
    /// Exotel stops only when two fetches return the same numbers.
    #[serde(default)]
    pub max_fetches: Option<u32>,
    /// See [`DialSpec::next`].
    #[serde(default)]
    pub next: Target,
    /// See [`DialSpec::on_no_answer`].
    #[serde(default)]
    pub on_no_answer: Target,
    /// See [`DialSpec::on_no_dial`].
    #[serde(default)]
    pub on_no_dial: Target,
}

impl ConnectSpec {
    /// The shared dialling part.
    pub fn dial(&self) -> DialSpec {
        DialSpec {
            id: self.id.clone(),
            url: self.url.clone(),
            fallback: self.fallback.clone(),
            answers: self.answers.clone(),
            amd: self.amd.clone(),
            popup: self.popup.clone(),
            playback: self.playback.clone(),
            ring_seconds: self.ring_seconds,
            talk_seconds: self.talk_seconds,
            disconnected_by: self.disconnected_by.clone(),
            next: self.next.clone(),
            on_no_answer: self.on_no_answer.clone(),
            on_no_dial: self.on_no_dial.clone(),
        }
    }
}

/// A playback URL on its own.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybackSpec {
    /// Branch name.
    #[serde(default)]
    pub id: Option<String>,
    /// The URL.
    pub url: String,
    /// Next applet.
    #[serde(default)]
    pub next: Target,
}

/// Passthru `sync` (200 vs anything else decides the branch) or `async`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PassthruMode {
    /// The caller waits; the status decides.
    #[default]
    Sync,
    /// Fire and forget.
    Async,
}

/// Passthru.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PassthruSpec {
    /// Branch name.
    #[serde(default)]
    pub id: Option<String>,
    /// The URL (may carry its own query, e.g. `?event=ivr`).
    pub url: String,
    /// `sync` (default) or `async`.
    #[serde(default)]
    pub mode: PassthruMode,
    /// "Once the URL returns OK (200 OK)" (default: the following applet).
    #[serde(default)]
    pub next: Target,
    /// "If the url returns anything else" (default: `next`).
    #[serde(default)]
    pub on_else: Target,
}

/// A popup URL on its own.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PopupSpec {
    /// Branch name.
    #[serde(default)]
    pub id: Option<String>,
    /// The URL.
    pub url: String,
    /// Next applet.
    #[serde(default)]
    pub next: Target,
}

/// StatusCallback body format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StatusFormat {
    /// `multipart/form-data` with CallSid, Status, RecordingUrl, DateUpdated.
    #[default]
    Multipart,
    /// The terminal event as JSON, with `Legs[]` (AnsweredBy, AmdCause).
    Json,
}

/// The StatusCallback URL.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatusCallbackSpec {
    /// The URL.
    pub url: String,
    /// `multipart` (default) or `json`.
    #[serde(default)]
    pub format: StatusFormat,
}

impl CallFile {
    /// Reads a `.toml` or `.json` call file.
    pub fn load(path: &Path) -> Result<Self, CallFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CallFileError::Read {
            path: shown.clone(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed = if is_json {
            Self::from_json(&text)
        } else {
            Self::from_toml(&text)
        };
        parsed
            .map_err(|message| CallFileError::Parse {
                path: shown,
                message,
            })
            .and_then(|c| c.validate().map(|()| c))
    }

    /// From TOML text.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// From JSON text.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Checks what serde cannot: ids are unique and every branch names one.
    pub fn validate(&self) -> Result<(), CallFileError> {
        if self.applets.is_empty() {
            return Err(CallFileError::Invalid(
                "the call file has no [[applet]]".into(),
            ));
        }
        let mut ids = std::collections::BTreeSet::new();
        for a in &self.applets {
            if let Some(id) = a.id() {
                if id == "hangup" || !ids.insert(id) {
                    return Err(CallFileError::Invalid(format!(
                        "applet id {id:?} is reserved or used twice"
                    )));
                }
            }
        }
        for a in &self.applets {
            for t in a.targets() {
                if t != "hangup" && !ids.contains(t) {
                    return Err(CallFileError::Invalid(format!(
                        "{} applet branches to {t:?}, but no applet has that id (use an id or \"hangup\")",
                        a.kind()
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let c = CallFile::from_toml(
            r##"
            [call]
            caller = "09900112233"
            exophone = "08047115777"
            direction = "outbound-dial"
            custom_field = "order-42"
            legs_form = "alternate"

            [[applet]]
            kind = "greeting"
            url = "/exotel/greeting"

            [[applet]]
            kind = "connect"
            url = "/exotel/connect"
            fallback = "/exotel/connect?fallback=1"
            answers = [false, "busy", true]
            amd = { answered_by = "MACHINE", cause = "MAXWORDS-5-4" }
            on_no_answer = "sorry"

            [[applet]]
            id = "sorry"
            kind = "passthru"
            url = "/exotel/passthru?event=x"
            mode = "async"

            [status_callback]
            url = "/exotel/status"
            format = "json"
            "##,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.call.direction, Direction::OutboundDial);
        let Applet::Connect(s) = &c.applets[1] else {
            panic!()
        };
        assert_eq!(
            s.answers.as_deref(),
            Some(
                &[
                    AttemptOutcome::NoAnswer,
                    AttemptOutcome::Busy,
                    AttemptOutcome::Answered
                ][..]
            )
        );
        assert_eq!(c.status_callback.unwrap().format, StatusFormat::Json);
    }

    #[test]
    fn json_files_have_the_same_shape() {
        let c = CallFile::from_json(
            r#"{"call": {"caller": "09900112233", "exophone": "08047115777"},
                "applet": [{"kind": "gather", "url": "/g", "digits": "12#"}, {"kind": "dialwhom", "url": "/d", "answers": [true]}]}"#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.applets[1].kind(), "dialwhom");
    }

    #[test]
    fn refuses_unknown_keys_and_dangling_branches() {
        let bad_key = "[call]\ncaller='1'\nexophone='2'\n[[applet]]\nkind='greeting'\nurl='/g'\ncolour='red'\n";
        assert!(CallFile::from_toml(bad_key).unwrap_err().contains("colour"));
        let dangling = "[call]\ncaller='1'\nexophone='2'\n[[applet]]\nkind='greeting'\nurl='/g'\nnext='nowhere'\n";
        let e = CallFile::from_toml(dangling)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("nowhere"), "{e}");
        let bad_answer = "[call]\ncaller='1'\nexophone='2'\n[[applet]]\nkind='connect'\nurl='/c'\nanswers=['maybe']\n";
        assert!(CallFile::from_toml(bad_answer)
            .unwrap_err()
            .contains("maybe"));
    }
}
