//! Fault actions as the engine applies them: partitions and heals through the topology,
//! crashes and restarts (timers and backlog lost, durable state kept), pauses, and clock
//! changes; each action's measured effect is kept for the report.

use super::*;

impl<P: Protocol> Sim<P> {
    /// Applies action `i` of the schedule (`NO_FAULT`: injected by hand, not counted).
    pub(super) fn apply_fault(&mut self, i: u32, fault: &Fault) {
        let now = self.now;
        let servers = self.cfg.servers;
        let mut effect = FaultEffect::default();
        match fault {
            Fault::Partition(p) => {
                self.counters.partitions += 1;
                let by = (i != NO_FAULT).then_some(i);
                effect.links_cut = self.topology.apply(p, servers, by);
                effect.applied = effect.links_cut > 0;
            }
            Fault::Heal => {
                self.counters.heals += 1;
                effect.links_restored = self.topology.heal();
                effect.applied = effect.links_restored > 0;
            }
            Fault::Crash(c) => {
                let s = &mut self.nodes[*c as usize];
                if s.alive {
                    self.counters.crashes += 1;
                    effect.applied = true;
                    effect.timers_lost =
                        s.timers.iter().filter(|t| t.armed.is_some()).count() as u64;
                    effect.messages_lost = s.backlog.len() as u64;
                    s.crashed_by = i;
                    s.alive = false;
                    s.node = None;
                    s.incarnation += 1;
                    s.timers.clear();
                    s.paused_until = 0;
                    let backlog = std::mem::take(&mut s.backlog);
                    for b in backlog {
                        self.slab[b as usize] = None;
                        self.free.push(b);
                    }
                }
            }
            Fault::Restart(r) => {
                let s = &mut self.nodes[*r as usize];
                if !s.alive {
                    self.counters.restarts += 1;
                    s.node = Some(self.protocol.node(NodeId(*r), &s.durable));
                    s.alive = true;
                    if let Some(e) = self.effects.get_mut(i as usize) {
                        e.applied = true;
                    }
                    let label = fault.to_string();
                    self.note(EventKind::Fault, *r, *r, now, fault_code(fault), || {
                        Label::Text(label)
                    });
                    self.note(EventKind::Restart, *r, *r, now, 0, Label::none);
                    self.call(*r, |node, ctx| node.on_restart(ctx));
                    return;
                }
            }
            Fault::Pause { node, duration } => {
                let s = &mut self.nodes[*node as usize];
                if s.alive {
                    self.counters.pauses += 1;
                    effect.applied = true;
                    s.paused_by = i;
                    let until = now.saturating_add(*duration);
                    if until > s.paused_until {
                        s.paused_until = until;
                        let inc = s.incarnation;
                        self.push(until, Ev::Resume { node: *node, inc });
                    }
                }
            }
            Fault::ClockSkew {
                node,
                offset,
                drift_ppm,
            } => {
                self.counters.clock_changes += 1;
                let s = &mut self.nodes[*node as usize];
                let drift = (*drift_ppm).clamp(-500_000, 500_000);
                effect.applied = (s.clock_offset, s.drift_ppm) != (*offset, drift);
                s.clock_offset = *offset;
                s.drift_ppm = drift;
                s.drift_since = now;
                s.skewed_by = i;
            }
            Fault::Slow { node, factor } => {
                let s = &mut self.nodes[*node as usize];
                effect.applied = s.slow != (*factor).max(1);
                s.slow = (*factor).max(1);
            }
        }
        let applied = effect.applied;
        if let Some(e) = self.effects.get_mut(i as usize) {
            *e = FaultEffect {
                // Effects counted since (a crash's lost messages) add to these.
                messages_lost: e.messages_lost + effect.messages_lost,
                ..effect
            };
        }
        // A crash, pause or restart that found nothing to do leaves no trace.
        let idle = matches!(
            fault,
            Fault::Crash(_) | Fault::Pause { .. } | Fault::Restart(_)
        );
        if !idle || applied {
            let code = fault_code(fault);
            let named = fault.named().first().copied().unwrap_or(0);
            self.note(EventKind::Fault, named, named, now, code, || {
                Label::Text(fault.to_string())
            });
        }
    }
}
