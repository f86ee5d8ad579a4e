//! The routing lookups, each within its time budget: the call's offered
//! agents and group counters (Durable Object), the caller's sticky agent
//! and record (KV), and the customer's caller API (origin, cached per
//! isolate). Every function returns `None` on failure or timeout, and the
//! caller of it answers without.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use handlers::config::personalize::Lookup;
use handlers::config::template;
use handlers::routing::{Offer, OfferRequest, StickyFact, StickyRecord};
use serde::de::DeserializeOwned;
use worker::{console_warn, Context, Env, Fetch};

use crate::bindings;
use crate::routing_state::{Answer, Op};
use crate::runtime::budget::within;
use crate::runtime::clock::now_ms;
use crate::runtime::env::var_u64;
use crate::runtime::object;

fn kv_ms(env: &Env) -> u64 {
    var_u64(env, bindings::KV_BUDGET_MS, bindings::DEFAULT_KV_BUDGET_MS)
}

fn do_ms(env: &Env) -> u64 {
    var_u64(env, bindings::DO_BUDGET_MS, bindings::DEFAULT_DO_BUDGET_MS)
}

async fn call_state(env: &Env, name: &str, op: &Op) -> Option<Answer> {
    let work = object::call_bound(
        env,
        bindings::ROUTING_STATE,
        name,
        "https://routing-state/",
        op,
    );
    let out = within(do_ms(env), work).await.and_then(|r| r.ok());
    if out.is_none() {
        console_warn!(
            "routing state {} unavailable or slow; answering without it",
            name.split(':').next().unwrap_or("")
        );
    }
    out
}

/// Whether a lookup may change routing state (GET) or only read it (HEAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Take a turn, record an offer.
    Take,
    /// Report what taking would give, changing nothing.
    Peek,
}

/// This call's round-robin turn in the group: the counter is taken on the
/// call's first fetch and the same turn answers every re-fetch.
pub async fn rotation(env: &Env, group: &str, call_sid: &str, access: Access) -> Option<u64> {
    let op = Op::Turn {
        call: call_sid.to_owned(),
        peek: access == Access::Peek,
    };
    match call_state(env, &format!("group:{group}"), &op).await? {
        Answer::Rotation { rotation } => Some(rotation),
        Answer::Offer { .. } => None,
    }
}

/// The next offer for this call, recorded atomically (or only reported,
/// with [`Access::Peek`]). Outer `None`: the state keeper could not be
/// asked; inner `None`: everything was offered.
pub async fn offer(
    env: &Env,
    call_sid: &str,
    req: OfferRequest,
    access: Access,
) -> Option<Option<Offer>> {
    let op = Op::Offer {
        request: req,
        peek: access == Access::Peek,
    };
    match call_state(env, &format!("call:{call_sid}"), &op).await? {
        Answer::Offer { offer } => Some(offer),
        Answer::Rotation { .. } => None,
    }
}

async fn kv_json<T: DeserializeOwned>(env: &Env, key: &str) -> Option<T> {
    let kv = env.kv(bindings::STATE_KV).ok()?;
    within(kv_ms(env), async move {
        kv.get(key).json::<T>().await.ok().flatten()
    })
    .await
    .flatten()
}

/// The caller's last agent, as stored.
pub async fn sticky(env: &Env, caller: &str) -> Option<StickyRecord> {
    kv_json(env, &format!("sticky:{caller}")).await
}

/// Stores what sticky routing learnt, after the answer is sent.
pub fn remember_sticky(env: &Env, ctx: &Context, fact: StickyFact, ttl_seconds: u64, now_ms: i64) {
    let Ok(kv) = env.kv(bindings::STATE_KV) else {
        return;
    };
    ctx.wait_until(async move {
        let rec = StickyRecord {
            agent: fact.agent,
            at_ms: now_ms,
        };
        let put = kv
            .put(&format!("sticky:{}", fact.caller), &rec)
            .map(|p| p.expiration_ttl(ttl_seconds));
        if let Ok(p) = put {
            if let Err(e) = p.execute().await {
                console_warn!("sticky: could not store: {e}");
            }
        }
    });
}

/// One origin answer: its expiry (Unix ms) and the caller's variables.
type OriginEntry = (i64, BTreeMap<String, String>);

thread_local! {
    /// Origin answers per caller.
    static ORIGIN_CACHE: RefCell<HashMap<String, OriginEntry>> = RefCell::new(HashMap::new());
}

/// Most callers remembered per isolate; a full cache is emptied (the
/// isolate is short-lived and the origin is the source of truth).
const ORIGIN_CACHE_MAX: usize = 10_000;

/// Template variables for a caller: the KV record, then the origin (within
/// its budget, cached), merged with the KV record winning. Empty on failure.
pub async fn caller_vars(env: &Env, lookup: &Lookup, caller: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    if let Some(origin) = &lookup.origin {
        vars = origin_vars(origin.as_str(), lookup, caller)
            .await
            .unwrap_or_default();
    }
    if lookup.kv {
        if let Some(rec) = kv_json::<serde_json::Value>(env, &format!("caller:{caller}")).await {
            vars.extend(template::record_vars(&rec));
        }
    }
    vars
}

async fn origin_vars(
    url_template: &str,
    lookup: &Lookup,
    caller: &str,
) -> Option<BTreeMap<String, String>> {
    let now = now_ms();
    if let Some(v) = ORIGIN_CACHE.with(|c| {
        c.borrow()
            .get(caller)
            .filter(|(exp, _)| *exp > now)
            .map(|(_, v)| v.clone())
    }) {
        return Some(v);
    }
    let encoded: String = url::form_urlencoded::byte_serialize(caller.as_bytes()).collect();
    // `{caller}` is the only substitution; the rest of the URL is the customer's.
    let url = url_template
        .replace("%7Bcaller%7D", &encoded)
        .replace("{caller}", &encoded);
    let work = async {
        let mut resp = Fetch::Url(url::Url::parse(&url).ok()?).send().await.ok()?;
        if resp.status_code() != 200 {
            return None;
        }
        let v: serde_json::Value = resp.json().await.ok()?;
        Some(template::record_vars(&v))
    };
    let vars = within(u64::from(lookup.timeout_ms), work).await.flatten();
    match &vars {
        Some(v) => ORIGIN_CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= ORIGIN_CACHE_MAX {
                c.clear();
            }
            c.insert(
                caller.to_owned(),
                (now + i64::from(lookup.cache_seconds) * 1000, v.clone()),
            );
        }),
        None => console_warn!(
            "caller lookup failed or exceeded {} ms; static text serves",
            lookup.timeout_ms
        ),
    }
    vars
}
