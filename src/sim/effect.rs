//! What each action of a fault schedule did: the counts the engine keeps as the run goes, and
//! the one line the summary prints for it (flagging an action that had no effect).

use serde::Serialize;

use super::fault::Fault;

/// What one action of the fault schedule did, counted by the engine as the run goes: the
/// proof that a fault fired and changed something, or the sign that it did nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FaultEffect {
    /// The action changed the cluster when it fired (false: a crash of a node already down,
    /// a restart of a live one, a pause of a crashed one, a clock set to what it was).
    pub applied: bool,
    /// Partition: links it cut that were not cut already.
    pub links_cut: u64,
    /// Partition: messages lost because these links were cut (in flight or sent meanwhile).
    pub messages_cut: u64,
    /// Heal: links it restored.
    pub links_restored: u64,
    /// Crash: messages to the node lost (sent while it was down, or in flight when it
    /// crashed), including the backlog of a paused node.
    pub messages_lost: u64,
    /// Crash: armed timers the node lost.
    pub timers_lost: u64,
    /// Pause: events (messages, timers) the node handled late, when it woke.
    pub events_delayed: u64,
    /// Clock skew: reads of the node's clock that differed from true time.
    pub clock_reads_changed: u64,
    /// Clock skew: timers set while the clock drifted, so lasting longer or shorter.
    pub timers_stretched: u64,
}

impl FaultEffect {
    /// One line on what `fault` did, and whether it had any effect.
    pub fn describe(&self, fault: &Fault) -> (String, bool) {
        let e = self;
        match fault {
            Fault::Partition(_) if e.messages_cut > 0 => (
                format!(
                    "cut {} links, {} messages lost to them",
                    e.links_cut, e.messages_cut
                ),
                true,
            ),
            Fault::Partition(_) if e.links_cut > 0 => (
                format!("cut {} links, but no message crossed them", e.links_cut),
                false,
            ),
            Fault::Partition(_) => ("cut no link that was not cut already".into(), false),
            Fault::Heal if e.links_restored > 0 => {
                (format!("restored {} links", e.links_restored), true)
            }
            Fault::Heal => ("nothing was cut".into(), false),
            Fault::Crash(_) if e.applied => (
                format!(
                    "volatile state and {} timers lost, {} messages to it lost",
                    e.timers_lost, e.messages_lost
                ),
                true,
            ),
            Fault::Crash(_) => ("the node was already down".into(), false),
            Fault::Restart(_) if e.applied => ("restarted from durable state".into(), true),
            Fault::Restart(_) => ("the node was already up".into(), false),
            Fault::Pause { .. } if !e.applied => ("the node was down".into(), false),
            Fault::Pause { .. } if e.events_delayed > 0 => {
                (format!("{} events handled late", e.events_delayed), true)
            }
            Fault::Pause { .. } => ("no event arrived while paused".into(), false),
            Fault::ClockSkew {
                offset: 0,
                drift_ppm: 0,
                ..
            } if e.applied => ("clock set back to true time".into(), true),
            Fault::ClockSkew {
                offset: 0,
                drift_ppm: 0,
                ..
            } => ("the clock was already true".into(), false),
            Fault::ClockSkew { .. } if e.clock_reads_changed + e.timers_stretched > 0 => (
                format!(
                    "{} clock reads changed, {} timers stretched",
                    e.clock_reads_changed, e.timers_stretched
                ),
                true,
            ),
            Fault::ClockSkew { .. } => (
                "nothing read the clock and no timer was set while it was off".into(),
                false,
            ),
            Fault::Slow { factor: 1, .. } if e.applied => ("back to full speed".into(), true),
            Fault::Slow { .. } if e.applied => ("the node's timers now run slower".into(), true),
            Fault::Slow { .. } => ("the node already ran at that speed".into(), false),
        }
    }
}
