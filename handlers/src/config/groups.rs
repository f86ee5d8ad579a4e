//! Agent groups and how they ring: sequential, round-robin, parallel and
//! sticky. The order of candidates is computed here; the state it needs (a
//! group's rotation counter, the caller's last agent, the agents a call has
//! already been offered) is read by the worker and passed in.

use serde::{Deserialize, Serialize};

use crate::bounded::{ParallelAttempts, RingingSeconds};
use crate::destination::Destination;

/// How a group's agents are offered.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// In the listed order, every call the same.
    Sequential,
    /// Starting one further along for each call, so load spreads fairly
    /// across concurrent calls.
    RoundRobin,
    /// Ring up to `max_parallel` agents at once (Exotel's parallel ringing).
    Parallel,
    /// The agent who last spoke to this caller first (within the window),
    /// then the rest in order.
    Sticky,
}

/// A named group of agents.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentGroup {
    /// How agents are offered.
    pub strategy: Strategy,
    /// Agents' numbers (or sip: users), in priority order.
    pub agents: Vec<Destination>,
    /// Agents offered per Connect fetch when Exotel re-fetches after each
    /// failed attempt (`fetch_after_attempt`); for parallel, how many ring
    /// together.
    #[serde(default = "one")]
    pub per_attempt: ParallelAttempts,
    /// Seconds each attempt rings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_seconds: Option<RingingSeconds>,
    /// Ask Exotel to fetch again after each failed attempt, so every fetch
    /// offers agents not yet tried.
    #[serde(default = "yes")]
    pub fetch_after_attempt: bool,
    /// Minutes a caller stays with their last agent (sticky).
    #[serde(default = "day")]
    pub sticky_minutes: u32,
}

fn one() -> ParallelAttempts {
    ParallelAttempts::try_from(1).unwrap_or_else(|_| unreachable!("1 is in range"))
}
fn yes() -> bool {
    true
}
fn day() -> u32 {
    24 * 60
}

/// Largest group the config accepts; a Connect answer offers at most 50.
pub const MAX_AGENTS: usize = 1000;

impl AgentGroup {
    /// Agents in the order this call should try them.
    ///
    /// `rotation` is the group's call counter (round-robin); `sticky` the
    /// agent who last answered this caller, if still within the window.
    pub fn order(&self, rotation: u64, sticky: Option<&Destination>) -> Vec<Destination> {
        let n = self.agents.len();
        if n == 0 {
            return Vec::new();
        }
        let mut out: Vec<Destination> = match self.strategy {
            Strategy::RoundRobin => {
                let start = (rotation % n as u64) as usize;
                self.agents[start..]
                    .iter()
                    .chain(&self.agents[..start])
                    .cloned()
                    .collect()
            }
            _ => self.agents.clone(),
        };
        if self.strategy == Strategy::Sticky {
            if let Some(s) = sticky {
                if let Some(i) = out.iter().position(|a| a == s) {
                    let a = out.remove(i);
                    out.insert(0, a);
                }
            }
        }
        out
    }

    /// How many agents one answer offers.
    pub fn batch(&self) -> usize {
        if self.strategy == Strategy::Parallel || self.fetch_after_attempt {
            usize::from(self.per_attempt.get())
        } else {
            crate::destination::Numbers::MAX
        }
    }
}

/// The next agents for a call: the first `batch` of `ordered` not yet
/// offered. `None` when every agent has been offered once, so the same set
/// is never returned twice (Exotel would stop dialling on a repeat anyway).
pub fn next_batch(
    ordered: &[Destination],
    offered: &[Destination],
    batch: usize,
) -> Option<Vec<Destination>> {
    let next: Vec<Destination> = ordered
        .iter()
        .filter(|a| !offered.contains(a))
        .take(batch.max(1))
        .cloned()
        .collect();
    (!next.is_empty()).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Destination {
        Destination::try_from(s).unwrap()
    }

    fn group(strategy: &str) -> AgentGroup {
        serde_json::from_str(&format!(
            r#"{{"strategy": "{strategy}", "agents": ["+919800000001", "+919800000002", "+919800000003"]}}"#
        ))
        .unwrap()
    }

    fn nums(v: &[Destination]) -> Vec<&str> {
        v.iter().map(|d| &d.as_str()[10..]).collect()
    }

    #[test]
    fn every_strategy_orders_as_documented() {
        // (strategy, rotation, sticky agent, expected order by last 3 digits)
        let cases: &[(&str, u64, Option<&str>, &[&str])] = &[
            ("sequential", 0, None, &["001", "002", "003"]),
            (
                "sequential",
                7,
                Some("+919800000003"),
                &["001", "002", "003"],
            ),
            ("round_robin", 0, None, &["001", "002", "003"]),
            ("round_robin", 1, None, &["002", "003", "001"]),
            ("round_robin", 5, None, &["003", "001", "002"]),
            ("sticky", 0, Some("+919800000003"), &["003", "001", "002"]),
            ("sticky", 0, Some("+919899999999"), &["001", "002", "003"]),
            ("sticky", 0, None, &["001", "002", "003"]),
            ("parallel", 3, None, &["001", "002", "003"]),
        ];
        for (s, rot, sticky, want) in cases {
            let g = group(s);
            let got = g.order(*rot, sticky.map(d).as_ref());
            let got: Vec<String> = got.iter().map(|x| x.as_str()[10..].to_string()).collect();
            assert_eq!(got, *want, "{s} rot={rot} sticky={sticky:?}");
        }
    }

    #[test]
    fn round_robin_is_fair_across_calls() {
        let g = group("round_robin");
        let mut first = [0usize; 3];
        for call in 0..300u64 {
            let o = g.order(call, None);
            let i = g.agents.iter().position(|a| *a == o[0]).unwrap();
            first[i] += 1;
        }
        assert_eq!(first, [100, 100, 100]);
    }

    #[test]
    fn refetches_never_repeat_a_set() {
        let g = group("sequential");
        let ordered = g.order(0, None);
        let mut offered = Vec::new();
        let mut sets = Vec::new();
        while let Some(b) = next_batch(&ordered, &offered, g.batch()) {
            offered.extend(b.iter().cloned());
            sets.push(nums(&b).join(","));
        }
        assert_eq!(sets, ["001", "002", "003"]);
        assert_eq!(next_batch(&ordered, &offered, 1), None);
    }

    #[test]
    fn parallel_batches_ring_together() {
        let mut g = group("parallel");
        g.per_attempt = ParallelAttempts::try_from(2).unwrap();
        let ordered = g.order(0, None);
        let b1 = next_batch(&ordered, &[], g.batch()).unwrap();
        assert_eq!(nums(&b1), ["001", "002"]);
        let b2 = next_batch(&ordered, &b1, g.batch()).unwrap();
        assert_eq!(nums(&b2), ["003"]);
    }

    #[test]
    fn without_refetch_the_whole_list_is_offered_once() {
        let mut g = group("sequential");
        g.fetch_after_attempt = false;
        let ordered = g.order(0, None);
        assert_eq!(next_batch(&ordered, &[], g.batch()).unwrap().len(), 3);
    }
}
