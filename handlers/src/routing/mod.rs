//! The routing model: which answer a call gets, from the line called, the
//! time, the caller, the digits pressed and the state the worker looked up.
//!
//! Deciding is split in two pure steps around the worker's I/O:
//! [`plan_connect`] says what the call needs (a static answer, or a group
//! whose order depends on a rotation counter, the caller's sticky agent and
//! the agents already offered); the worker fetches exactly that, within a
//! time budget, and [`group_answer`] turns it into Exotel's answer. When a
//! lookup fails or times out the worker passes what it has (nothing), and
//! the answer is still valid: the group in its listed order.
//!
//! A layer above the config (src/lib.rs, "Layers"): routing reads the
//! config ([`crate::config`]) and builds answers ([`crate::answer`]); the
//! worker and the trace reach it through [`crate::decide`], one function
//! per callback.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::answer::connect::{ConnectAnswer, DestinationList, ParallelRinging};
use crate::answer::gather::GatherAnswer;
use crate::answer::greeting::GreetingAnswer;
use crate::answer::passthru::{Branch, Mode};
use crate::answer::playback::{Media, PlaybackAnswer, PlaybackTo, StartCallPlayback};
use crate::answer::popup::Popup;
use crate::answer::Static;
use crate::config::groups::{next_batch, AgentGroup, Strategy};
use crate::config::menu::Target;
use crate::config::personalize::Personalize;
use crate::config::{Config, Line};
use crate::destination::{Destination, Numbers};
use crate::params::CallParams;
use crate::phone;
use crate::reply::Reply;
use crate::rule::Facts;

/// What routing reads about a call: the ExoPhone called, the caller and
/// the digits pressed. A callback's parameters give it ([`From<&CallParams>`]),
/// and so does a real-time event (the events flow), so both are routed by
/// the same code from the same facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Call<'a> {
    /// The ExoPhone called, in any of Exotel's forms; the default line when
    /// absent or not in the config.
    pub exophone: Option<&'a str>,
    /// The caller as sent (normalised before the caller lists are read).
    pub caller: Option<&'a str>,
    /// The digits pressed, without Exotel's quotes: the IVR menu's choice.
    pub digits: Option<&'a str>,
}

impl<'a> From<&'a CallParams> for Call<'a> {
    fn from(p: &'a CallParams) -> Self {
        Self {
            exophone: p.exophone(),
            caller: p.caller(),
            digits: p.digits.as_deref(),
        }
    }
}

/// What the router knows about a call before any I/O.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    /// The line called (or the default line).
    pub line: &'a Line,
    /// The facts rules test.
    pub facts: Facts,
}

/// The situation of a call at `now_ms` (Unix ms).
pub fn situation<'a>(cfg: &'a Config, call: Call<'_>, now_ms: i64) -> Situation<'a> {
    let line = cfg.line(call.exophone);
    // Normalised only when some list could name the caller (most configs
    // have none): this runs on every callback.
    let caller = if cfg.callers.block.is_empty() && cfg.callers.vip.is_empty() {
        None
    } else {
        call.caller.and_then(phone::normalize)
    };
    let listed = |list: &[String]| caller.as_ref().is_some_and(|c| list.iter().any(|x| x == c));
    let blocked = listed(&cfg.callers.block);
    let vip = listed(&cfg.callers.vip);
    // A zone whose offset is unknown reads as open, as a line without
    // hours: callers reach people rather than a closed message. The
    // worker refuses such a zone at load, so this is a last resort.
    let open = line
        .hours
        .as_ref()
        .or(cfg.default_line.hours.as_ref())
        .is_none_or(|h| h.is_open(now_ms, cfg.zone_offsets.0).unwrap_or(true));
    Situation {
        line,
        facts: Facts { open, vip, blocked },
    }
}

/// The closed part that applies: out of hours, for callers who are not
/// VIPs (VIPs are always in hours), the line's closed part, else the
/// default line's.
fn closed_part<'a>(cfg: &'a Config, s: &Situation<'a>) -> Option<&'a Line> {
    if s.facts.open || s.facts.vip {
        return None;
    }
    s.line
        .closed
        .as_deref()
        .or(cfg.default_line.closed.as_deref())
}

/// Picks a part: the closed part's when it names it, else the line's,
/// else the default line's. A closed part overrides only what it names.
fn part<'a, T>(
    cfg: &'a Config,
    s: &Situation<'a>,
    f: impl Fn(&'a Line) -> Option<&'a T>,
) -> Option<&'a T> {
    closed_part(cfg, s)
        .and_then(&f)
        .or_else(|| f(s.line))
        .or_else(|| f(&cfg.default_line))
}

fn is_closed_without_alternative(cfg: &Config, s: &Situation<'_>) -> bool {
    !s.facts.open && !s.facts.vip && s.line.closed.is_none() && cfg.default_line.closed.is_none()
}

/// What a Connect (or dial-whom) request needs.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectPlan<'a> {
    /// Answer now: the config's own answer (its reply kept with it), or
    /// one made for this call.
    Answer(Cow<'a, Static<ConnectAnswer>>),
    /// Don't dial: a blocked caller, or out of hours with nothing to dial.
    /// Exotel takes "we didn't dial anyone".
    NoDial(&'static str),
    /// Dial a group; the worker looks up what `needs` says, then calls
    /// [`group_answer`].
    Group(GroupPlan<'a>),
}

/// Why nobody is dialled when every agent of a group, and its overflow,
/// were already offered to this call.
pub const ALL_OFFERED: &str = "every agent was already offered";

impl<'a> ConnectPlan<'a> {
    /// The group this plan dials, when its answer depends on state the
    /// worker looks up first (see [`GroupPlan`]).
    pub fn group(&self) -> Option<&GroupPlan<'a>> {
        match self {
            Self::Group(g) => Some(g),
            _ => None,
        }
    }

    /// The answer the plan gives: its static answer, or for a group what
    /// `group` answers (from the state the worker found, or without state:
    /// [`ConnectPlan::stateless`]), `None` meaning every agent was already
    /// offered. `Err` says why nobody is dialled.
    pub fn answer(
        self,
        group: impl FnOnce(&GroupPlan<'a>) -> Option<ConnectAnswer>,
    ) -> Result<Cow<'a, Static<ConnectAnswer>>, &'static str> {
        match self {
            Self::Answer(a) => Ok(a),
            Self::NoDial(why) => Err(why),
            Self::Group(g) => group(&g).map(made).ok_or(ALL_OFFERED),
        }
    }

    /// The answer without routing state: a group's first batch in its
    /// listed order ([`stateless_answer`]).
    pub fn stateless(self) -> Result<Cow<'a, Static<ConnectAnswer>>, &'static str> {
        self.answer(|g| Some(stateless_answer(g)))
    }
}

/// How a Connect-type answer is written: the same plan answers Connect
/// and dial-whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Connect's JSON.
    Json,
    /// Dial-whom's text list.
    Text,
}

impl Form {
    /// The HTTP answer for a plan's [`ConnectPlan::answer`]: the answer in
    /// this form, or [`no_dial_reply`] when nobody is dialled.
    pub fn reply(self, answer: Result<Cow<'_, Static<ConnectAnswer>>, &str>) -> Reply {
        match (answer, self) {
            (Ok(a), Self::Json) => a.reply(),
            (Ok(a), Self::Text) => crate::answer::dialwhom::reply(&a.destination.numbers),
            (Err(why), _) => no_dial_reply(why),
        }
    }
}

/// A group to dial, with what its order depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPlan<'a> {
    /// The group's name (keys its rotation counter).
    pub name: &'a str,
    /// The group.
    pub group: &'a AgentGroup,
    /// Settings (recording, limits, playback) and the overflow destination.
    pub base: ConnectAnswer,
}

impl GroupPlan<'_> {
    /// Whether the order depends on the group's rotation counter.
    pub fn needs_rotation(&self) -> bool {
        self.group.strategy == Strategy::RoundRobin
    }

    /// Whether the order depends on the caller's last agent.
    pub fn needs_sticky(&self) -> bool {
        self.group.strategy == Strategy::Sticky
    }

    /// Whether the agents already offered to this call must be tracked
    /// (Exotel will fetch again after each failed attempt).
    pub fn needs_call_state(&self) -> bool {
        self.group.fetch_after_attempt
    }
}

/// Plans the Connect answer for a call.
///
/// Whom to dial, first that applies: a VIP's `vip_agents`; out of hours,
/// the closed part's own `menu` (digits, else its `invalid`) and `agents`;
/// the line's `menu` (unless the closed part names one) and `agents`; the
/// `connect` part's numbers (closed part's, line's, default line's).
pub fn plan_connect<'a>(cfg: &'a Config, call: Call<'_>, now_ms: i64) -> ConnectPlan<'a> {
    let s = situation(cfg, call, now_ms);
    plan_in(cfg, &s, call)
}

fn plan_in<'a>(cfg: &'a Config, s: &Situation<'a>, call: Call<'_>) -> ConnectPlan<'a> {
    plan_with_rule(cfg, s, call).0
}

/// The plan and the name of the rule that made it (for the trace: see
/// [`explain`]). The rules are tried in the order [`plan_connect`] documents.
fn plan_with_rule<'a>(
    cfg: &'a Config,
    s: &Situation<'a>,
    call: Call<'_>,
) -> (ConnectPlan<'a>, &'static str) {
    if s.facts.blocked {
        return (ConnectPlan::NoDial("caller is blocked"), "blocked");
    }
    if is_closed_without_alternative(cfg, s) {
        return (ConnectPlan::NoDial("line is closed"), "closed");
    }
    let base = part(cfg, s, |l| l.connect.as_ref()).unwrap_or(&cfg.fallback.connect);
    let closed = closed_part(cfg, s);

    let menu_choice = |line: &Line| {
        let menu = line.menu.as_ref()?;
        match call.digits.and_then(|d| menu.options.get(d)) {
            Some(t) => Some((t.clone(), false)),
            None => menu.invalid.clone().map(|t| (t, true)),
        }
    };
    let agents = |line: &Line| line.agents.clone().map(Target::Group);
    // A closed part's menu replaces the line's; its agents come before the
    // line's menu, so "after hours, ring the night desk" holds whatever the
    // caller pressed in the line's Gather.
    let line_menu = closed.is_none_or(|c| c.menu.is_none());
    let menu_rule = |(t, invalid): (Target, bool), ok: &'static str, other: &'static str| {
        (if invalid { other } else { ok }, t)
    };
    let chosen = (if s.facts.vip {
        s.line
            .vip_agents
            .clone()
            .map(|t| ("vip_agents", Target::Group(t)))
    } else {
        None
    })
    .or_else(|| {
        closed
            .and_then(menu_choice)
            .map(|c| menu_rule(c, "closed.menu", "closed.menu.invalid"))
    })
    .or_else(|| closed.and_then(agents).map(|t| ("closed.agents", t)))
    .or_else(|| {
        if line_menu {
            menu_choice(s.line).map(|c| menu_rule(c, "menu", "menu.invalid"))
        } else {
            None
        }
    })
    .or_else(|| agents(s.line).map(|t| ("agents", t)));
    let static_rule = if closed.is_some_and(|c| c.connect.is_some()) {
        "closed.connect"
    } else {
        "connect"
    };
    match chosen {
        None => (ConnectPlan::Answer(Cow::Borrowed(base)), static_rule),
        Some((rule, Target::Numbers(n))) => (
            ConnectPlan::Answer(made(ConnectAnswer {
                destination: DestinationList { numbers: n },
                ..ConnectAnswer::clone(base)
            })),
            rule,
        ),
        Some((rule, Target::Group(name))) => match cfg.groups.get_key_value(&name) {
            Some((name, group)) => (
                ConnectPlan::Group(GroupPlan {
                    name,
                    group,
                    base: ConnectAnswer::clone(base),
                }),
                rule,
            ),
            // Validated at load; kept total so a bug cannot drop a call.
            None => (ConnectPlan::Answer(Cow::Borrowed(base)), static_rule),
        },
    }
}

/// An answer made for one call (not the config's own): its reply is made
/// when it is answered.
fn made<'a, T: Clone>(a: T) -> Cow<'a, Static<T>> {
    Cow::Owned(Static::new(a))
}

/// Which decision [`explain`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explain {
    /// Connect's plan.
    Connect,
    /// Dial-whom's plan.
    DialWhom,
    /// Gather, greeting, playback, passthru, popup: the part that applies.
    Other,
}

/// What the routing decision knew about a call, for the trace
/// (docs/console.md). Computed from the same plan the answer was made
/// with, after the answer left, so it costs the caller nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    /// The line's configured `name`.
    pub line_name: Option<String>,
    /// Whether the call fell to `default_line`.
    pub default_line: bool,
    /// In hours.
    pub open: bool,
    /// VIP caller.
    pub vip: bool,
    /// Blocked caller.
    pub blocked: bool,
    /// The rule: `blocked`, `closed`, `vip_agents`, `closed.menu`,
    /// `closed.menu.invalid`, `closed.agents`, `menu`, `menu.invalid`,
    /// `agents`, `dialwhom`, `closed.dialwhom`, `connect`, `closed.connect`;
    /// for other callbacks `line` or `closed` (the closed part applies).
    pub rule: &'static str,
    /// The group dialled.
    pub group: Option<String>,
    /// Why nobody is dialled, when that is the plan.
    pub no_dial: Option<&'static str>,
}

/// Explains the decision for a call at `now_ms`.
pub fn explain(cfg: &Config, call: Call<'_>, now_ms: i64, kind: Explain) -> Why {
    let s = situation(cfg, call, now_ms);
    let (plan, rule) = match kind {
        Explain::Connect => plan_with_rule(cfg, &s, call),
        Explain::DialWhom => dialwhom_with_rule(cfg, &s, call),
        Explain::Other => (
            ConnectPlan::NoDial(""),
            if closed_part(cfg, &s).is_some() {
                "closed"
            } else {
                "line"
            },
        ),
    };
    let (group, no_dial) = match (&plan, kind) {
        (_, Explain::Other) => (None, None),
        (ConnectPlan::Group(g), _) => (Some(g.name.to_owned()), None),
        (ConnectPlan::NoDial(why), _) => (None, Some(*why)),
        (ConnectPlan::Answer(_), _) => (None, None),
    };
    Why {
        line_name: s.line.name.clone(),
        default_line: std::ptr::eq(s.line, &cfg.default_line),
        open: s.facts.open,
        vip: s.facts.vip,
        blocked: s.facts.blocked,
        rule,
        group,
        no_dial,
    }
}

/// Plans the dial-whom answer: the same checks as Connect (blocked callers
/// and closed lines dial nobody), then the static `dialwhom` numbers of the
/// part that applies, else Connect's routing. Out of hours, a closed part
/// that names whom to dial (`dialwhom`, `menu`, `agents` or `connect`)
/// decides; one that names none of them leaves the line's `dialwhom`.
pub fn plan_dialwhom<'a>(cfg: &'a Config, call: Call<'_>, now_ms: i64) -> ConnectPlan<'a> {
    let s = situation(cfg, call, now_ms);
    dialwhom_with_rule(cfg, &s, call).0
}

fn dialwhom_with_rule<'a>(
    cfg: &'a Config,
    s: &Situation<'a>,
    call: Call<'_>,
) -> (ConnectPlan<'a>, &'static str) {
    if s.facts.blocked || is_closed_without_alternative(cfg, s) {
        return plan_with_rule(cfg, s, call);
    }
    let numbers = match closed_part(cfg, s) {
        Some(c) if c.dialwhom.is_some() => c.dialwhom.as_ref().map(|n| (n, "closed.dialwhom")),
        Some(c) if c.menu.is_some() || c.agents.is_some() || c.connect.is_some() => None,
        _ => s
            .line
            .dialwhom
            .as_ref()
            .or(cfg.default_line.dialwhom.as_ref())
            .map(|n| (n, "dialwhom")),
    };
    match numbers {
        Some((n, rule)) => (
            ConnectPlan::Answer(made(ConnectAnswer::dial(n.clone()))),
            rule,
        ),
        None => plan_with_rule(cfg, s, call),
    }
}

/// The state the worker found for a group plan. Every field may be empty
/// when its lookup failed or ran out of time.
#[derive(Debug, Clone, Default)]
pub struct GroupState {
    /// The group's rotation counter before this call.
    pub rotation: u64,
    /// The agent who last answered this caller, within the sticky window.
    pub sticky: Option<Destination>,
    /// Agents this call was already offered (from the call's state, and
    /// from the `Legs` Exotel sends back on a re-fetch).
    pub offered: Vec<Destination>,
}

/// Result of [`group_answer`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupOutcome {
    /// The answer.
    pub answer: ConnectAnswer,
    /// The agents this answer offers (to record in the call's state).
    pub offering: Vec<Destination>,
    /// Whether these are the overflow numbers (every agent was tried).
    pub overflow: bool,
}

/// The agents in `legs` of a re-fetch: what Exotel already tried.
pub fn tried_in_legs(p: &CallParams) -> Vec<Destination> {
    p.legs
        .iter()
        .filter_map(|l| l.number.as_deref())
        .filter_map(|n| Destination::try_from(n).ok())
        .collect()
}

/// What the call's state keeper needs to pick the next agents: everything
/// is computed from config before, so the keeper only adds its memory of
/// what this call was already offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRequest {
    /// The group's agents in this call's order.
    pub ordered: Vec<Destination>,
    /// How many one answer offers.
    pub batch: usize,
    /// The line's own numbers, offered once every agent was.
    pub overflow: Vec<Destination>,
    /// Agents Exotel reports as tried (`Legs` of a re-fetch).
    pub tried: Vec<Destination>,
}

/// The next agents for a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// Destinations of this answer.
    pub offering: Vec<Destination>,
    /// Whether these are the overflow numbers.
    pub overflow: bool,
}

impl GroupPlan<'_> {
    /// The request for the call's state keeper.
    pub fn offer_request(&self, state: &GroupState) -> OfferRequest {
        OfferRequest {
            ordered: self.group.order(state.rotation, state.sticky.as_ref()),
            batch: self.group.batch(),
            overflow: self.base.destination.numbers.as_slice().to_vec(),
            tried: state.offered.clone(),
        }
    }

    /// Exotel's answer offering `offer`.
    pub fn answer_for(&self, offer: &Offer) -> Option<ConnectAnswer> {
        let g = self.group;
        let numbers = Numbers::try_from(offer.offering.clone()).ok()?;
        let mut a = ConnectAnswer {
            destination: DestinationList { numbers },
            ..self.base.clone()
        };
        if let Some(r) = g.ring_seconds {
            a.max_ringing_duration = Some(r);
        }
        if offer.overflow {
            a.fetch_after_attempt = false;
            a.parallel_ringing = None;
        } else {
            a.fetch_after_attempt = g.fetch_after_attempt;
            if g.strategy == Strategy::Parallel {
                a.parallel_ringing = Some(ParallelRinging {
                    activate: true,
                    max_parallel_attempts: g.per_attempt,
                });
            }
        }
        Some(a)
    }
}

/// Picks the next offer given what was already offered (the keeper's memory
/// plus the request's `tried`). `None` when every agent and the overflow were
/// offered: the caller gets Exotel's "nobody answered" path, never a repeat.
pub fn next_offer(req: &OfferRequest, offered: &[Destination]) -> Option<Offer> {
    let seen = |d: &Destination| offered.contains(d) || req.tried.contains(d);
    let fresh: Vec<Destination> = req.ordered.iter().filter(|d| !seen(d)).cloned().collect();
    if let Some(batch) = next_batch(&fresh, &[], req.batch) {
        return Some(Offer {
            offering: batch,
            overflow: false,
        });
    }
    if req.overflow.is_empty() || req.overflow.iter().all(seen) {
        return None;
    }
    Some(Offer {
        offering: req.overflow.clone(),
        overflow: true,
    })
}

/// Builds the answer from a group plan and its state without a keeper
/// (`state.offered` is all that was offered).
pub fn group_answer(plan: &GroupPlan<'_>, state: &GroupState) -> Option<GroupOutcome> {
    let offer = next_offer(&plan.offer_request(state), &[])?;
    Some(GroupOutcome {
        answer: plan.answer_for(&offer)?,
        offering: offer.offering,
        overflow: offer.overflow,
    })
}

/// The answer when no call state could be used: the group's first batch.
pub fn stateless_answer(plan: &GroupPlan<'_>) -> ConnectAnswer {
    group_answer(plan, &GroupState::default())
        .map(|o| o.answer)
        .unwrap_or_else(|| plan.base.clone())
}

/// Reply for a "don't dial" plan: a non-200 makes Exotel take "we didn't
/// dial anyone" (after its Fallback URL, which answers the same).
pub fn no_dial_reply(reason: &str) -> Reply {
    Reply::error(403, reason)
}

/// The Gather answer: the closed variant out of hours.
pub fn gather<'a>(cfg: &'a Config, call: Call<'_>, now_ms: i64) -> &'a Static<GatherAnswer> {
    let s = situation(cfg, call, now_ms);
    part(cfg, &s, |l| l.gather.as_ref()).unwrap_or(&cfg.fallback.gather)
}

/// The static greeting (closed variant out of hours).
pub fn greeting<'a>(cfg: &'a Config, call: Call<'_>, now_ms: i64) -> &'a Static<GreetingAnswer> {
    let s = situation(cfg, call, now_ms);
    part(cfg, &s, |l| l.greeting.as_ref()).unwrap_or(&cfg.fallback.greeting)
}

/// The static playback (closed variant out of hours).
pub fn playback<'a>(cfg: &'a Config, call: Call<'_>, now_ms: i64) -> &'a Static<PlaybackAnswer> {
    let s = situation(cfg, call, now_ms);
    part(cfg, &s, |l| l.playback.as_ref()).unwrap_or(&cfg.fallback.playback)
}

/// The personalisation that applies. Out of hours a closed part's own
/// `personalize` applies; a closed part that names its own `greeting` or
/// `playback` but no `personalize` gets none, so open-hours templates never
/// replace the closed message; a closed part naming none of the three
/// leaves the line's.
pub fn personalize<'a>(cfg: &'a Config, call: Call<'_>, now_ms: i64) -> Option<&'a Personalize> {
    let s = situation(cfg, call, now_ms);
    match closed_part(cfg, &s) {
        Some(c) if c.personalize.is_some() => c.personalize.as_ref(),
        Some(c) if c.greeting.is_some() || c.playback.is_some() => None,
        _ => s
            .line
            .personalize
            .as_ref()
            .or(cfg.default_line.personalize.as_ref()),
    }
}

/// A personalised greeting, or the static one when a variable is missing.
pub fn personal_greeting<'a>(
    cfg: &'a Config,
    call: Call<'_>,
    now_ms: i64,
    vars: &BTreeMap<String, String>,
) -> Cow<'a, Static<GreetingAnswer>> {
    personalize(cfg, call, now_ms)
        .and_then(|pz| pz.greeting.as_ref())
        .and_then(|t| t.render(vars))
        .map(|text| made(GreetingAnswer::Text(text)))
        .unwrap_or_else(|| Cow::Borrowed(greeting(cfg, call, now_ms)))
}

/// A personalised start-of-call playback, or the static playback.
pub fn personal_playback<'a>(
    cfg: &'a Config,
    call: Call<'_>,
    now_ms: i64,
    vars: &BTreeMap<String, String>,
) -> Cow<'a, Static<PlaybackAnswer>> {
    let base = playback(cfg, call, now_ms);
    match personalize(cfg, call, now_ms)
        .and_then(|pz| pz.playback.as_ref())
        .and_then(|t| t.render(vars))
    {
        Some(text) => made(PlaybackAnswer {
            start_call_playback: Some(StartCallPlayback {
                playback_to: PlaybackTo::Callee,
                media: Media::Text(text),
            }),
            ..PlaybackAnswer::clone(base)
        }),
        None => Cow::Borrowed(base),
    }
}

/// The passthru branch: blocked callers take the failure branch; rules may
/// test `open` and `vip`.
pub fn passthru(cfg: &Config, p: &CallParams, now_ms: i64) -> (Mode, Branch) {
    let mode = Mode::of(p);
    if mode == Mode::Async {
        return (mode, Branch::Ok);
    }
    let s = situation(cfg, Call::from(p), now_ms);
    if s.facts.blocked {
        return (mode, Branch::Else);
    }
    let branch = part(cfg, &s, |l| l.passthru.as_ref())
        .map_or(cfg.fallback.passthru, |r| r.decide(p, &s.facts));
    (mode, branch)
}

/// What sticky routing learns: this caller spoke to this agent.
///
/// Only callbacks whose real payloads name the agent who answered teach
/// it: a popup with `EventType=Answered` (`DialWhomNumber`, `From`), and a
/// passthru after Connect with `DialCallStatus=completed` (the leg with
/// talk time in `Legs`, else `DialWhomNumber`, "the agent who was dialed
/// to last"). A StatusCallback does not: its terminal payload (seed
/// 195-240) has no `Number` per leg, and its `From`/`To` do not say which
/// side is the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickyFact {
    /// Caller, E.164 or sip:.
    pub caller: String,
    /// Agent who answered.
    pub agent: Destination,
}

/// From a popup: the agent answered.
pub fn learn_from_popup(p: &Popup) -> Option<StickyFact> {
    if !p.is_answer() {
        return None;
    }
    Some(StickyFact {
        caller: p.caller.clone()?,
        agent: Destination::try_from(p.agent.as_deref()?).ok()?,
    })
}

/// From a passthru after Connect: the last agent dialled and the call completed.
pub fn learn_from_passthru(p: &CallParams) -> Option<StickyFact> {
    use crate::params::DialCallStatus;
    if p.dial_call_status != Some(DialCallStatus::Completed) {
        return None;
    }
    let agent = p
        .legs
        .iter()
        .rev()
        .find(|l| l.on_call_duration.unwrap_or(0) > 0)
        .and_then(|l| l.number.as_deref())
        .or(p.dial_whom_number.as_deref())?;
    Some(StickyFact {
        caller: phone::normalize(p.caller()?)?,
        agent: Destination::try_from(agent).ok()?,
    })
}

/// A stored sticky record: the agent and when (Unix ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickyRecord {
    /// Agent who answered.
    pub agent: Destination,
    /// When, in Unix ms.
    pub at_ms: i64,
}

impl StickyRecord {
    /// The agent, if the record is within the group's window.
    pub fn agent_within(&self, group: &AgentGroup, now_ms: i64) -> Option<&Destination> {
        let window = i64::from(group.sticky_minutes) * 60_000;
        (now_ms - self.at_ms <= window && now_ms >= self.at_ms).then_some(&self.agent)
    }
}

/// The longest sticky window of any group, in seconds (KV record TTL).
pub fn sticky_ttl_seconds(cfg: &Config) -> u64 {
    cfg.groups
        .values()
        .map(|g| u64::from(g.sticky_minutes) * 60)
        .max()
        .unwrap_or(0)
        .max(60)
}

#[cfg(test)]
mod tests;
