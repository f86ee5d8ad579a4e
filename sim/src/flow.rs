//! The call engine: walks the applets as Exotel would, asks each URL,
//! judges the answer, falls back, dials, re-fetches, branches, and ends
//! with the StatusCallback.

use std::time::Duration;

use time::OffsetDateTime;

use crate::call::{
    Applet, AttemptOutcome, CallFile, DialSpec, GatherSpec, LegsForm, PassthruMode, PassthruSpec,
    StatusFormat,
};
use crate::http::{redact, resolve, Answer, Client};
use crate::judge::{self, ConnectPlan, Findings, Media};
use crate::params::{multipart, CallState, DialResult, Leg};
use crate::transcript::{Attempt, Exchange, Step, Transcript};

/// Run-wide choices (flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// Prefix for relative applet URLs, e.g. `http://127.0.0.1:8787/t/<token>`.
    pub base: Option<String>,
    /// Overrides the call file's `legs_form`.
    pub legs_form: Option<LegsForm>,
    /// Overrides the call file's StatusCallback format.
    pub status_format: Option<StatusFormat>,
    /// Fetch every audio URL an answer names and require 200, as Exotel does.
    pub check_audio: bool,
    /// Exotel's wait (5 s; shorter only in tests).
    pub timeout: Duration,
    /// The call's start (default: now).
    pub start: Option<OffsetDateTime>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            base: None,
            legs_form: None,
            status_format: None,
            check_audio: true,
            timeout: crate::http::EXOTEL_TIMEOUT,
            start: None,
        }
    }
}

/// Most applets one call runs, so a branch loop cannot run forever.
const MAX_STEPS: usize = 64;
/// Default cap on Connect fetches when the file sets none.
const DEFAULT_MAX_FETCHES: u32 = 10;
/// First 4 KiB of a body go into the transcript.
const BODY_KEEP: usize = 4096;

/// Where the flow goes next.
enum Next {
    /// The following applet.
    Following,
    /// A named applet or `hangup`.
    To(String),
}

fn next_of(t: &Option<String>) -> Next {
    t.clone().map_or(Next::Following, Next::To)
}

/// Anything a judged answer may ask Exotel to download.
trait AudioUrls {
    fn audio(&self) -> Vec<String>;
}

fn media_audio<'a>(m: impl IntoIterator<Item = &'a Media>) -> Vec<String> {
    m.into_iter()
        .filter_map(|m| {
            if let Media::Audio(u) = m {
                Some(u.clone())
            } else {
                None
            }
        })
        .collect()
}

impl AudioUrls for ConnectPlan {
    fn audio(&self) -> Vec<String> {
        let mut v = media_audio(self.start_call_playback.iter().map(|(_, m)| m));
        if let Some(u) = self.music_on_hold.strip_prefix("custom_tone ") {
            v.push(u.to_owned());
        }
        v
    }
}
impl AudioUrls for judge::GatherPlan {
    fn audio(&self) -> Vec<String> {
        media_audio(std::iter::once(&self.prompt).chain(self.repeat_prompt.iter()))
    }
}
impl AudioUrls for judge::PlaybackPlan {
    fn audio(&self) -> Vec<String> {
        media_audio(
            self.start
                .iter()
                .map(|(_, m)| m)
                .chain(self.during.iter().map(|(_, _, m)| m))
                .chain(self.end.iter()),
        )
    }
}
impl AudioUrls for Vec<Media> {
    fn audio(&self) -> Vec<String> {
        media_audio(self.iter())
    }
}
impl AudioUrls for Vec<String> {
    fn audio(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A fresh CallSid: 32 hex characters like Exotel's, from the clock and pid.
fn new_call_sid() -> String {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() as u128;
    let mix =
        nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u128::from(std::process::id()).rotate_left(64);
    format!("{:032x}", mix)[..32].to_owned()
}

/// Runs one call.
pub fn run(call: &CallFile, opts: &Options) -> Transcript {
    let mut sim = Sim::new(call, opts);
    sim.play();
    sim.t
}

struct Sim<'a> {
    call: &'a CallFile,
    opts: &'a Options,
    client: Client,
    st: CallState,
    t: Transcript,
}

impl<'a> Sim<'a> {
    fn new(call: &'a CallFile, opts: &'a Options) -> Self {
        let c = &call.call;
        let st = CallState {
            call_sid: c.call_sid.clone().unwrap_or_else(new_call_sid),
            from: c.caller.clone(),
            to: c.exophone.clone(),
            direction: c.direction,
            custom_field: c.custom_field.clone(),
            flow_id: c.flow_id.clone().unwrap_or_else(|| "1".into()),
            start: opts.start.unwrap_or_else(OffsetDateTime::now_utc),
            elapsed: 0,
            digits: None,
            dial: None,
            legs_form: opts.legs_form.or(c.legs_form).unwrap_or_default(),
            legs_sent: 0,
        };
        let t = Transcript {
            call_sid: st.call_sid.clone(),
            from: st.from.clone(),
            to: st.to.clone(),
            direction: st.direction.as_str().into(),
            ..Transcript::default()
        };
        Self {
            call,
            opts,
            client: Client::new(opts.timeout),
            st,
            t,
        }
    }

    fn play(&mut self) {
        let mut i = 0;
        let mut steps = 0;
        while i < self.call.applets.len() {
            steps += 1;
            if steps > MAX_STEPS {
                self.t
                    .failures
                    .push(format!("the flow ran {MAX_STEPS} applets; it loops"));
                break;
            }
            let applet = &self.call.applets[i];
            let mut step = Step::new(applet.kind(), applet.id());
            let next = match applet {
                Applet::Greeting(s) => self.greeting(&mut step, &s.url, &s.next),
                Applet::Gather(s) => self.gather(&mut step, s),
                Applet::Connect(s) => self.connect(
                    &mut step,
                    &s.dial(),
                    true,
                    s.max_fetches.unwrap_or(DEFAULT_MAX_FETCHES),
                ),
                Applet::Dialwhom(s) => self.connect(&mut step, s, false, 1),
                Applet::Playback(s) => {
                    let whom = self
                        .st
                        .dial
                        .as_ref()
                        .map(|d| d.dial_whom.clone())
                        .unwrap_or_default();
                    self.playback(&mut step, &s.url, &whom);
                    next_of(&s.next)
                }
                Applet::Passthru(s) => self.passthru(&mut step, s),
                Applet::Popup(s) => {
                    let d = self.st.dial.clone().unwrap_or_default();
                    let events: &[&str] = if d.dial_call_status == "completed" {
                        &["Dial", "Ringing", "Answered", "Terminal"]
                    } else {
                        &["Dial", "Ringing", "Terminal"]
                    };
                    self.popups(&mut step, &s.url, &d.dial_whom, events);
                    next_of(&s.next)
                }
            };
            if let Some(f) = &step.failure {
                self.t.failures.push(format!("{}: {f}", step.applet));
            }
            self.t.heard.extend(step.heard.iter().cloned());
            self.t.steps.push(step);
            i = match next {
                Next::Following => i + 1,
                Next::To(t) if t == "hangup" => break,
                Next::To(t) => match self
                    .call
                    .applets
                    .iter()
                    .position(|a| a.id() == Some(t.as_str()))
                {
                    Some(j) => j,
                    None => break,
                },
            };
        }
        self.st.elapsed += 1;
        self.status_callback();
        self.t.status = self.st.final_status().to_owned();
        self.t.ok = self.t.failures.is_empty();
    }

    /// Sends one request and records it; `None` when no answer came.
    fn exchange(
        &self,
        role: &str,
        method: &str,
        url: &str,
        query: &[(String, String)],
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> (Exchange, Option<Answer>) {
        let mut ex = Exchange {
            role: role.into(),
            method: method.into(),
            url: redact(url),
            sent_headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            query: query.to_vec(),
            ..Exchange::default()
        };
        if let Some((ct, b)) = body {
            ex.sent_headers.push(("Content-Type".into(), ct.into()));
            ex.sent_body = Some(String::from_utf8_lossy(b).into_owned());
        }
        let target = match resolve(url, self.opts.base.as_deref()) {
            Ok(t) => t,
            Err(e) => {
                ex.error = Some(e.to_string());
                return (ex, None);
            }
        };
        ex.url = redact(target.url.as_str());
        match self.client.send(method, &target, query, headers, body) {
            Ok(a) => {
                ex.status = Some(a.status);
                ex.content_type = a.header("content-type").map(str::to_owned);
                ex.headers = a
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        let secret = matches!(
                            k.as_str(),
                            "set-cookie" | "authorization" | "proxy-authorization"
                        );
                        (k.clone(), if secret { "***".to_owned() } else { v.clone() })
                    })
                    .collect();
                ex.elapsed_ms = a.elapsed_ms;
                if method != "HEAD" {
                    let mut b = a.body.clone();
                    if b.len() > BODY_KEEP {
                        let mut cut = BODY_KEEP;
                        while !b.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        b.truncate(cut);
                        b.push('…');
                    }
                    ex.body = Some(b);
                }
                (ex, Some(a))
            }
            Err(e) => {
                ex.error = Some(e.to_string());
                ex.elapsed_ms = match e {
                    crate::http::FetchError::Timeout(ms) => ms,
                    crate::http::FetchError::Unreachable(_) => 0,
                };
                (ex, None)
            }
        }
    }

    /// Exotel downloads every audio URL and needs 200 (seed 17299).
    fn check_audio(&self, step: &mut Step, urls: &[String], ex: &mut Exchange) {
        if !self.opts.check_audio {
            return;
        }
        for u in urls {
            let (a, ans) = self.exchange("audio", "GET", u, &[], &[], None);
            match ans {
                Some(ans) if ans.status == 200 => {}
                Some(ans) => ex.problems.push(format!(
                    "audio URL {} answered {}; Exotel needs 200",
                    redact(u),
                    ans.status
                )),
                None => ex.problems.push(format!(
                    "audio URL {}: {}",
                    redact(u),
                    a.error.clone().unwrap_or_default()
                )),
            }
            step.record(a);
        }
    }

    /// GET primary, then the fallback when Exotel would, judging each.
    #[allow(clippy::too_many_arguments)]
    fn fetch_judged<T: AudioUrls>(
        &self,
        step: &mut Step,
        role: &str,
        primary: &str,
        fallback: Option<&str>,
        query: &[(String, String)],
        versioned: bool,
        want_ct: Option<&str>,
        judge_fn: &dyn Fn(&Answer) -> (Option<T>, Findings),
    ) -> Result<T, String> {
        let headers: &[(&str, &str)] = if versioned {
            &[("Exotel-Version", "1.0")]
        } else {
            &[]
        };
        let mut last_reason = String::new();
        let candidates = std::iter::once((role.to_owned(), primary))
            .chain(fallback.map(|f| (format!("{role}-fallback").replace("primary-", ""), f)));
        for (n, (r, url)) in candidates.enumerate() {
            let (mut ex, ans) = self.exchange(&r, "GET", url, query, headers, None);
            let verdict = ans.and_then(|a| {
                if a.status != 200 {
                    ex.problems
                        .push(format!("answered HTTP {}; Exotel needs 200 OK", a.status));
                }
                if let Some(ct) = want_ct {
                    if let Some(p) = judge::content_type(a.header("content-type"), ct) {
                        ex.problems.push(p);
                    }
                }
                let (plan, f) = judge_fn(&a);
                ex.problems.extend(f.problems);
                ex.notes.extend(f.notes);
                plan
            });
            if let Some(p) = &verdict {
                if ex.problems.is_empty() {
                    self.check_audio(step, &p.audio(), &mut ex);
                }
            }
            let reason = ex.error.clone().or_else(|| ex.problems.first().cloned());
            step.record(ex);
            match (verdict, reason) {
                (Some(plan), None) => {
                    if n > 0 {
                        step.fallback_used = true;
                        step.say("the Fallback URL's answer is used");
                    }
                    return Ok(plan);
                }
                (_, reason) => {
                    last_reason = reason.unwrap_or_else(|| "the answer was refused".into());
                    if n == 0 && fallback.is_some() {
                        step.fallback_reason = Some(last_reason.clone());
                        step.say(format!("Exotel calls the Fallback URL because the primary URL failed: {last_reason}"));
                    }
                }
            }
        }
        Err(if fallback.is_some() {
            format!("both the primary and the Fallback URL failed (last: {last_reason})")
        } else {
            format!("{last_reason}, and no Fallback URL is set")
        })
    }

    /// HEAD then GET, parity, exact Content-Type, then the judge.
    fn head_get<T: AudioUrls>(
        &self,
        step: &mut Step,
        url: &str,
        query: &[(String, String)],
        want_ct: &str,
        judge_fn: &dyn Fn(&str) -> (Option<T>, Findings),
    ) -> Result<T, String> {
        let (head_ex, head) = self.exchange("head", "HEAD", url, query, &[], None);
        step.record(head_ex);
        let (mut ex, get) = self.exchange("primary", "GET", url, query, &[], None);
        let Some(get) = get else {
            let why = ex.error.clone().unwrap_or_default();
            step.record(ex);
            return Err(why);
        };
        if get.status != 200 {
            ex.problems
                .push(format!("answered HTTP {}; Exotel needs 200 OK", get.status));
        }
        if let Some(p) = judge::content_type(get.header("content-type"), want_ct) {
            ex.problems.push(p);
        }
        match &head {
            None => ex.problems.push("the HEAD request got no answer; Exotel sends HEAD first and needs the same headers as GET".into()),
            Some(h) => {
                if h.status != get.status {
                    ex.problems.push(format!("HEAD answered {} but GET answered {}", h.status, get.status));
                }
                for p in judge::header_parity(&h.headers, &get.headers) {
                    ex.problems.push(format!("HEAD/GET header mismatch: {p}"));
                }
            }
        }
        let (plan, f) = judge_fn(&get.body);
        ex.problems.extend(f.problems);
        ex.notes.extend(f.notes);
        if let Some(p) = &plan {
            if ex.problems.is_empty() {
                self.check_audio(step, &p.audio(), &mut ex);
            }
        }
        let reason = ex.problems.first().cloned();
        step.record(ex);
        match (plan, reason) {
            (Some(p), None) => Ok(p),
            (_, r) => Err(r.unwrap_or_else(|| "the answer was refused".into())),
        }
    }

    fn hear(step: &mut Step, who: &str, m: &Media) {
        step.say(format!("{who} hears: \"{}\"", m.describe()));
        if who == "caller" {
            step.heard.push(m.describe());
        } else {
            step.agent_heard.push(m.describe());
        }
    }

    fn greeting(&mut self, step: &mut Step, url: &str, next: &Option<String>) -> Next {
        let q = self.st.greeting_query();
        match self.head_get(step, url, &q, "text/plain", &judge::greeting) {
            Ok(media) => media.iter().for_each(|m| Self::hear(step, "caller", m)),
            Err(why) => {
                step.say("the caller hears nothing from this greeting");
                step.failure = Some(format!("greeting refused: {why}"));
            }
        }
        next_of(next)
    }

    fn gather(&mut self, step: &mut Step, s: &GatherSpec) -> Next {
        let q = self.st.gather_query();
        let plan = self.fetch_judged(
            step,
            "primary",
            &s.url,
            s.fallback.as_deref(),
            &q,
            true,
            Some("application/json"),
            &|a: &Answer| judge::gather(&a.body),
        );
        let plan = match plan {
            Ok(p) => p,
            Err(why) => {
                step.failure = Some(format!("gather URL failed: {why}"));
                step.branch = Some("When the dynamic URL response fails".into());
                step.say("branch: \"When the dynamic URL response fails\"");
                return next_of(&s.on_failure.clone().or_else(|| s.next.clone()));
            }
        };
        Self::hear(step, "caller", &plan.prompt);
        let pressed = s.digits.clone().unwrap_or_default();
        let mut digits = String::new();
        for c in pressed.chars() {
            if !plan.finish_on_key.is_empty() && plan.finish_on_key.starts_with(c) {
                break;
            }
            digits.push(c);
            if digits.chars().count() >= plan.max_input_digits {
                break;
            }
        }
        if pressed.is_empty() {
            step.say("the caller presses nothing");
            for _ in 0..plan.repeat_menu {
                Self::hear(
                    step,
                    "caller",
                    plan.repeat_prompt.as_ref().unwrap_or(&plan.prompt),
                );
                step.say("the caller presses nothing");
            }
            step.digits = None;
        } else {
            step.say(format!(
                "the caller presses {pressed}; Exotel passes on digits \"{digits}\""
            ));
            step.digits = Some(digits.clone());
            self.st.digits = Some(digits);
        }
        self.st.elapsed += 5;
        step.branch = Some("after the gather".into());
        next_of(&s.next)
    }

    /// Popup events for one agent (seed 17935-17941): `busy` while dialled,
    /// ringing and answered; `free` at Terminal.
    fn popups(&self, step: &mut Step, url: &str, agent: &str, events: &[&str]) {
        for ev in events {
            let q = self.st.popup_query(agent, *ev != "Terminal", ev);
            let (mut ex, ans) = self.exchange(&format!("popup {ev}"), "GET", url, &q, &[], None);
            if let Some(a) = ans {
                if a.status != 200 {
                    ex.notes.push(format!(
                        "popup answered HTTP {}; Exotel expects 200 (the call goes on)",
                        a.status
                    ));
                }
            }
            step.record(ex);
        }
    }

    fn playback(&mut self, step: &mut Step, url: &str, whom: &str) -> Option<judge::PlaybackPlan> {
        let q = self.st.playback_query(whom);
        match self.head_get(step, url, &q, "application/json", &judge::playback) {
            Ok(p) => {
                if let Some((both, m)) = &p.start {
                    Self::hear(step, "agent", m);
                    if *both {
                        Self::hear(step, "caller", m);
                    }
                }
                if let Some((caller, callee, m)) = &p.during {
                    step.say(format!(
                        "during the call ({}{}): \"{}\"",
                        if *caller { "caller " } else { "" },
                        if *callee { "agent" } else { "" },
                        m.describe()
                    ));
                }
                Some(p)
            }
            Err(why) => {
                step.failure = Some(format!("playback refused: {why}"));
                None
            }
        }
    }

    /// Connect (and Dial whom): fetch, dial, re-fetch, branch.
    fn connect(
        &mut self,
        step: &mut Step,
        spec: &DialSpec,
        is_connect: bool,
        max_fetches: u32,
    ) -> Next {
        let started_at = self.st.elapsed;
        let no_answer = spec.on_no_answer.clone().or_else(|| spec.next.clone());
        let no_dial = spec.on_no_dial.clone().or_else(|| no_answer.clone());
        let mut plan = match self.fetch_connect(step, spec, is_connect, "primary") {
            Ok(p) => p,
            Err(why) => {
                step.failure = Some(format!("we didn't dial anyone: {why}"));
                step.branch = Some("We didn't dial anyone".into());
                step.say("branch: \"We didn't dial anyone\"");
                return next_of(&no_dial);
            }
        };
        let mut attempt_no = 0usize;
        let mut fetches = 1u32;
        let mut legs: Vec<Leg> = Vec::new();
        loop {
            let batches: Vec<Vec<String>> = match plan.parallel {
                Some(n) => plan
                    .numbers
                    .chunks(n.max(1))
                    .map(<[String]>::to_vec)
                    .collect(),
                None => plan.numbers.iter().map(|n| vec![n.clone()]).collect(),
            };
            for batch in batches {
                let outcome = match &spec.answers {
                    None => {
                        if attempt_no == 0 {
                            AttemptOutcome::Answered
                        } else {
                            AttemptOutcome::NoAnswer
                        }
                    }
                    Some(v) => v
                        .get(attempt_no)
                        .copied()
                        .unwrap_or(AttemptOutcome::NoAnswer),
                };
                attempt_no += 1;
                let answered = outcome == AttemptOutcome::Answered;
                self.t.rang.extend(batch.iter().cloned());
                let kind = if batch.len() > 1 {
                    "parallel"
                } else {
                    "single"
                };
                step.say(format!(
                    "ringing {} ({kind}); the caller hears {}",
                    batch.join(" + "),
                    plan.music_on_hold.replace('_', " ")
                ));
                if let Some(p) = &spec.popup {
                    for n in &batch {
                        self.popups(step, p, n, &["Dial", "Ringing"]);
                    }
                }
                let ring = match outcome {
                    AttemptOutcome::Answered => {
                        i64::from(spec.ring_seconds.unwrap_or(5)).min(plan.max_ringing_duration)
                    }
                    AttemptOutcome::NoAnswer => plan.max_ringing_duration,
                    AttemptOutcome::Busy | AttemptOutcome::Failed => 2,
                };
                self.st.elapsed += ring;
                let talk = if answered {
                    i64::from(spec.talk_seconds.unwrap_or(30)).min(plan.max_conversation_duration)
                } else {
                    0
                };
                let exophone = plan
                    .outgoing_phone_number
                    .clone()
                    .unwrap_or_else(|| self.st.to.clone());
                for (k, n) in batch.iter().enumerate() {
                    let this = answered && k == 0;
                    let (code, cause) = if this || !answered {
                        outcome.cause()
                    } else {
                        ("ORIGINATOR_CANCEL", "487")
                    };
                    legs.push(Leg {
                        number: n.clone(),
                        kind: kind.into(),
                        on_call_duration: if this { talk } else { 0 }.to_string(),
                        caller_id: exophone.clone(),
                        cause_code: code.into(),
                        cause: cause.into(),
                        disconnected_by: this.then(|| {
                            spec.disconnected_by
                                .clone()
                                .unwrap_or_else(|| "Callee".into())
                        }),
                        answered_by: spec.amd.as_ref().map(|a| {
                            if this {
                                a.answered_by.clone()
                            } else {
                                "NA".into()
                            }
                        }),
                        amd_cause: spec.amd.as_ref().map(|a| {
                            if this {
                                a.cause.clone()
                            } else {
                                String::new()
                            }
                        }),
                    });
                }
                let whom = batch[0].clone();
                let mut att = Attempt {
                    numbers: batch.clone(),
                    outcome: outcome.dial_call_status().into(),
                    answered: None,
                    answered_by: None,
                    talk_seconds: talk,
                };
                if answered {
                    att.answered = Some(whom.clone());
                    att.answered_by = spec.amd.as_ref().map(|a| a.answered_by.clone());
                    step.say(format!(
                        "{whom} answers after {ring} s{}",
                        spec.amd
                            .as_ref()
                            .map(|a| format!(" (AMD: {} {})", a.answered_by, a.cause))
                            .unwrap_or_default()
                    ));
                    if let Some(p) = &spec.popup {
                        self.popups(step, p, &whom, &["Answered"]);
                        for n in batch.iter().skip(1) {
                            self.popups(step, p, n, &["Terminal"]);
                        }
                    }
                    if let Some((both, m)) = &plan.start_call_playback {
                        Self::hear(step, "agent", m);
                        if *both {
                            Self::hear(step, "caller", m);
                        }
                    }
                } else {
                    step.say(format!(
                        "{}: {}",
                        batch.join(" + "),
                        outcome.dial_call_status()
                    ));
                    if let Some(p) = &spec.popup {
                        for n in &batch {
                            self.popups(step, p, n, &["Terminal"]);
                        }
                    }
                }
                let mut end_playback = None;
                if answered {
                    if let Some(u) = &spec.playback {
                        end_playback = self.playback(step, u, &whom).and_then(|p| p.end);
                    }
                    step.say(format!("conversation for {talk} s"));
                    self.st.elapsed += talk;
                    if let Some(m) = end_playback {
                        Self::hear(step, "caller", &m);
                    }
                    if let Some(p) = &spec.popup {
                        self.popups(step, p, &whom, &["Terminal"]);
                    }
                }
                self.st.dial = Some(DialResult {
                    dial_call_status: outcome.dial_call_status().into(),
                    dial_call_duration: self.st.elapsed - started_at,
                    dial_whom: whom,
                    call_type: if answered { "completed" } else { "incomplete" }.into(),
                    legs: legs.clone(),
                    recording_url: (answered && plan.record).then(|| {
                        format!(
                            "https://recordings.exoedge-sim.invalid/{}.mp3",
                            self.st.call_sid
                        )
                    }),
                    outgoing_phone_number: Some(exophone),
                });
                step.attempts.push(att);
                if answered {
                    step.branch = Some("After the call conversation ends".into());
                    step.say("branch: \"After the call conversation ends\"");
                    return next_of(&spec.next);
                }
            }
            if !(is_connect && plan.fetch_after_attempt) {
                break;
            }
            if fetches >= max_fetches {
                step.say(format!(
                    "stopping after {fetches} fetches (max_fetches; a simulator guard)"
                ));
                break;
            }
            fetches += 1;
            step.say("fetch_after_attempt is true: Exotel fetches the Connect URL again with the last attempt's DialCallStatus and Legs");
            match self.fetch_connect(step, spec, true, "refetch") {
                Ok(p) => {
                    let mut a = p.numbers.clone();
                    let mut b = plan.numbers.clone();
                    a.sort();
                    b.sort();
                    if a == b {
                        step.say("two fetches in a row returned the same destination set; Exotel makes no further attempt");
                        break;
                    }
                    plan = p;
                }
                Err(why) => {
                    step.say(format!(
                        "the re-fetch failed ({why}); Exotel ends the Connect"
                    ));
                    break;
                }
            }
        }
        step.branch = Some("If nobody answers".into());
        step.say("branch: \"If nobody answers\"");
        next_of(&no_answer)
    }

    fn fetch_connect(
        &mut self,
        step: &mut Step,
        spec: &DialSpec,
        is_connect: bool,
        role: &str,
    ) -> Result<ConnectPlan, String> {
        let q = if is_connect {
            self.st.connect_query()
        } else {
            self.st.dialwhom_query()
        };
        if is_connect {
            self.fetch_judged(
                step,
                role,
                &spec.url,
                spec.fallback.as_deref(),
                &q,
                true,
                Some("application/json"),
                &|a: &Answer| judge::connect(&a.body),
            )
        } else {
            let numbers = self.fetch_judged(
                step,
                role,
                &spec.url,
                spec.fallback.as_deref(),
                &q,
                false,
                None,
                &|a: &Answer| judge::dialwhom(&a.body, a.header("content-type")),
            )?;
            Ok(ConnectPlan {
                numbers,
                fetch_after_attempt: false,
                max_ringing_duration: 30,
                max_conversation_duration: 900,
                parallel: None,
                record: false,
                outgoing_phone_number: None,
                music_on_hold: "default_tone".into(),
                start_call_playback: None,
            })
        }
    }

    fn passthru(&mut self, step: &mut Step, s: &PassthruSpec) -> Next {
        let q = self.st.passthru_query();
        let (mut ex, ans) = self.exchange("primary", "GET", &s.url, &q, &[], None);
        let else_next = next_of(&s.on_else.clone().or_else(|| s.next.clone()));
        if s.mode == PassthruMode::Async {
            step.say("async passthru: Exotel does not wait for the answer and goes on");
            if let Some(a) = &ans {
                if a.status != 200 {
                    ex.notes
                        .push(format!("answered HTTP {} (async: only recorded)", a.status));
                }
            }
            step.record(ex);
            step.branch = Some("async".into());
            return next_of(&s.next);
        }
        if let Some(a) = &ans {
            if a.status >= 500 {
                ex.notes.push(format!(
                    "HTTP {} looks like a server error, not a deliberate branch",
                    a.status
                ));
            }
        }
        let why = ex.error.clone();
        step.record(ex);
        let (branch, next) = match (&ans, why) {
            (Some(a), _) if a.status == 200 => {
                ("Once the URL returns OK (200 OK)", next_of(&s.next))
            }
            (Some(_), _) => ("If the url returns anything else", else_next),
            (None, why) => {
                step.failure = Some(format!(
                    "passthru got no answer ({}); the caller waited and Exotel took \"anything else\"",
                    why.unwrap_or_default()
                ));
                ("If the url returns anything else", else_next)
            }
        };
        let code = ans
            .as_ref()
            .map_or_else(|| "no answer".to_owned(), |a| a.status.to_string());
        step.say(format!("{code}: branch \"{branch}\""));
        step.branch = Some(branch.into());
        next
    }

    fn status_callback(&mut self) {
        let Some(sc) = &self.call.status_callback else {
            return;
        };
        let format = self.opts.status_format.unwrap_or(sc.format);
        let (ct, body) = match format {
            StatusFormat::Multipart => multipart(
                &self.st.status_form(),
                &format!(
                    "exoedgesim{}",
                    &self.st.call_sid[..8.min(self.st.call_sid.len())]
                ),
            ),
            StatusFormat::Json => (
                "application/json".to_owned(),
                serde_json::to_vec(&self.st.status_json()).unwrap_or_default(),
            ),
        };
        let (mut ex, ans) = self.exchange("status", "POST", &sc.url, &[], &[], Some((&ct, &body)));
        match ans {
            Some(a) if a.status == 200 => {}
            Some(a) => {
                ex.problems.push(format!(
                    "StatusCallback answered HTTP {}; Exotel expects 200",
                    a.status
                ));
                self.t
                    .failures
                    .push(format!("StatusCallback answered HTTP {}", a.status));
            }
            None => {
                let why = ex.error.clone().unwrap_or_default();
                self.t.failures.push(format!("StatusCallback: {why}"));
            }
        }
        self.t.status_callback = Some(ex);
    }
}
