//! The record of one simulated call: every request and verdict, what the
//! caller heard, which numbers rang, which branches were taken. Printed
//! for people; written as JSON (`--json`) for tests.
//!
//! Numbers are shown (a transcript is for debugging a flow); tokens and
//! credentials never are: every URL passes through [`crate::http::redact`].

use serde::Serialize;

/// One HTTP exchange with a verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Exchange {
    /// `primary`, `fallback`, `refetch`, `popup`, `playback`, `audio`, `status`.
    pub role: String,
    /// `GET`, `HEAD`, `POST`.
    pub method: String,
    /// The URL as configured, redacted (without the parameters we added).
    pub url: String,
    /// Headers we sent beyond the defaults (`Exotel-Version`, Content-Type).
    pub sent_headers: Vec<(String, String)>,
    /// The Exotel parameters we appended.
    pub query: Vec<(String, String)>,
    /// A POST body we sent (StatusCallback), as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_body: Option<String>,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The answer's Content-Type.
    pub content_type: Option<String>,
    /// The answer's headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// The answer's body (first 4 KiB).
    pub body: Option<String>,
    /// Milliseconds until the answer arrived.
    pub elapsed_ms: u64,
    /// Timeout or connection error.
    pub error: Option<String>,
    /// Why Exotel would refuse this answer.
    pub problems: Vec<String>,
    /// What Exotel would tolerate but is worth knowing.
    pub notes: Vec<String>,
}

impl Exchange {
    /// Accepted: an answer came and nothing is wrong with it.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.problems.is_empty()
    }
}

/// One number (or parallel batch) rung by a Connect.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// The numbers ringing together (one, unless parallel).
    pub numbers: Vec<String>,
    /// `completed`, `no-answer`, `busy`, `failed`.
    pub outcome: String,
    /// Who answered, when one of them did.
    pub answered: Option<String>,
    /// AMD result, when configured.
    pub answered_by: Option<String>,
    /// Seconds of conversation.
    pub talk_seconds: i64,
}

/// One applet's part of the call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Step {
    /// `greeting`, `gather`, `connect`, ...
    pub applet: String,
    /// The applet's id, when it has one.
    pub id: Option<String>,
    /// Every request made for it.
    pub exchanges: Vec<Exchange>,
    /// What the caller heard during it.
    pub heard: Vec<String>,
    /// What the agent heard during it.
    pub agent_heard: Vec<String>,
    /// Keys pressed, and the digits Exotel passes on.
    pub digits: Option<String>,
    /// Numbers rung.
    pub attempts: Vec<Attempt>,
    /// Whether the Fallback URL's answer was used.
    pub fallback_used: bool,
    /// Why Exotel went to the Fallback URL.
    pub fallback_reason: Option<String>,
    /// The transition taken, in the dashboard's words.
    pub branch: Option<String>,
    /// A failure Exotel would hit here.
    pub failure: Option<String>,
    /// Readable lines, in order.
    pub lines: Vec<String>,
}

impl Step {
    /// A new step for an applet.
    pub fn new(applet: &str, id: Option<&str>) -> Self {
        Self {
            applet: applet.to_owned(),
            id: id.map(str::to_owned),
            ..Self::default()
        }
    }

    /// Adds a readable line.
    pub fn say(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    /// Records an exchange, with a line for it and one per finding, in
    /// the order things happened.
    pub fn record(&mut self, e: Exchange) {
        self.lines.push(ex_line(&e));
        for p in &e.problems {
            self.lines.push(format!("   ✗ {p}"));
        }
        for n in &e.notes {
            self.lines.push(format!("   · {n}"));
        }
        self.exchanges.push(e);
    }
}

/// The whole call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Transcript {
    /// `CallSid`.
    pub call_sid: String,
    /// The caller.
    pub from: String,
    /// The ExoPhone.
    pub to: String,
    /// `incoming` or `outbound-dial`.
    pub direction: String,
    /// Applets in the order they ran.
    pub steps: Vec<Step>,
    /// Everything the caller heard, in order.
    pub heard: Vec<String>,
    /// Every number that rang, in order.
    pub rang: Vec<String>,
    /// The StatusCallback POST.
    pub status_callback: Option<Exchange>,
    /// The call's final Status (`completed`, `no-answer`, ...).
    pub status: String,
    /// Failures Exotel would hit, one line each.
    pub failures: Vec<String>,
    /// No failures.
    pub ok: bool,
}

fn ex_line(e: &Exchange) -> String {
    let what = match (&e.error, e.status) {
        (Some(err), _) => err.clone(),
        (None, Some(s)) => format!(
            "{s} {}",
            e.content_type.as_deref().unwrap_or("(no Content-Type)")
        ),
        (None, None) => "no answer".into(),
    };
    format!(
        "{} {} [{}] -> {what} ({} ms)",
        e.method, e.url, e.role, e.elapsed_ms
    )
}

impl Transcript {
    /// The transcript as people read it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Call {} from {} to {} ({})\n",
            self.call_sid, self.from, self.to, self.direction
        ));
        for (i, s) in self.steps.iter().enumerate() {
            let id =
                s.id.as_deref()
                    .map(|i| format!(" \"{i}\""))
                    .unwrap_or_default();
            out.push_str(&format!("\n{}. {}{id}\n", i + 1, s.applet));
            for l in &s.lines {
                out.push_str(&format!("   {l}\n"));
            }
            if let Some(f) = &s.failure {
                out.push_str(&format!("   FAILURE: {f}\n"));
            }
        }
        if let Some(e) = &self.status_callback {
            out.push_str(&format!("\nStatusCallback\n   {}\n", ex_line(e)));
            for p in &e.problems {
                out.push_str(&format!("      ✗ {p}\n"));
            }
        }
        out.push_str(&format!("\nCall ended: {}\n", self.status));
        if !self.rang.is_empty() {
            out.push_str(&format!("Rang: {}\n", self.rang.join(", ")));
        }
        if self.ok {
            out.push_str("Result: OK, Exotel would run this flow without a failure\n");
        } else {
            out.push_str("Result: FAILED\n");
            for f in &self.failures {
                out.push_str(&format!("   - {f}\n"));
            }
        }
        out
    }
}
