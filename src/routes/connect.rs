//! Connect and dial-whom: whom to dial, from the routing plan plus the state
//! it needs (this call's round-robin turn, sticky agent, what this call was
//! already offered). HEAD asks the same state read-only, so it reports the
//! status and headers GET would give without using up a turn or an offer.

use handlers::config::Config;
use handlers::params::CallParams;
use handlers::phone;
use handlers::reply::Reply;
use handlers::routing::{self, GroupPlan, GroupState};
use worker::Env;

use crate::lookup::{self, Access};

pub use handlers::routing::Form;

/// Answers Connect (JSON) or dial-whom (text), taking this call's turn and
/// recording the offer; for HEAD (`head`), what GET would answer now,
/// changing no state.
pub async fn handle_connect(
    p: &CallParams,
    cfg: &Config,
    env: &Env,
    now_ms: i64,
    form: Form,
    head: bool,
) -> Reply {
    let access = if head { Access::Peek } else { Access::Take };
    let plan = match form {
        Form::Json => handlers::decide::connect_plan(cfg, p, now_ms),
        Form::Text => handlers::decide::dialwhom_plan(cfg, p, now_ms),
    };
    let looked_up = match plan.group() {
        Some(g) => group(p, g, env, now_ms, access).await,
        None => None,
    };
    form.reply(plan.answer(|_| looked_up))
}

async fn group(
    p: &CallParams,
    plan: &GroupPlan<'_>,
    env: &Env,
    now_ms: i64,
    access: Access,
) -> Option<handlers::answer::connect::ConnectAnswer> {
    let mut state = GroupState {
        offered: routing::tried_in_legs(p),
        ..Default::default()
    };
    if plan.needs_rotation() {
        state.rotation = lookup::rotation(env, plan.name, &p.call_sid, access)
            .await
            .unwrap_or(0);
    }
    if plan.needs_sticky() {
        if let Some(caller) = p.caller().and_then(phone::normalize) {
            state.sticky = lookup::sticky(env, &caller)
                .await
                .and_then(|r| r.agent_within(plan.group, now_ms).cloned());
        }
    }
    let req = plan.offer_request(&state);
    if plan.needs_call_state() {
        match lookup::offer(env, &p.call_sid, req, access).await {
            Some(Some(offer)) => return plan.answer_for(&offer),
            Some(None) => return None,
            // The keeper could not be asked in time: decide from the legs alone.
            None => {}
        }
    }
    routing::group_answer(plan, &state).map(|o| o.answer)
}
