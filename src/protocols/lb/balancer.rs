//! The balancer: takes each client request, picks a backend with its strategy among the
//! candidates (in the pool, marked up by the health checker), forwards it, and relays the
//! answer. A try that is rejected (backend queue full) or not answered within `try_timeout`
//! is retried on another backend while attempts remain, else answered with an error (a 502 or
//! 504). Active health checks probe every backend each `interval`; `fall` failed rounds in a
//! row mark it down, `rise` good rounds mark it up again.

use std::collections::VecDeque;
use std::sync::Arc;

use super::strategies::{Picker, View};
use super::{LbNode, Msg, Obs, Plan, Timer};
use crate::sim::{Context, NodeId, Time};
use crate::workload::open_loop::{Reply, Request};

#[derive(Clone, Debug)]
struct Ticket {
    client: NodeId,
    req: Request,
    backend: u32,
    tries: u32,
    deadline: Time,
    live: bool,
}

#[derive(Clone, Debug)]
pub struct Balancer {
    spec: Arc<Plan>,
    picker: Picker,
    members: Vec<bool>,
    /// The health checker's view.
    pub up: Vec<bool>,
    /// Tries in flight per backend (the load that least-connections and P2C compare).
    pub inflight: Vec<u32>,
    /// Tries in order; `tickets[0]` is ticket `base`.
    tickets: VecDeque<Ticket>,
    base: u64,
    expire_armed: bool,
    round: u64,
    acked: Vec<u64>,
    ok_streak: Vec<u32>,
    fail_streak: Vec<u32>,
    cands: Vec<u32>,
}

impl Balancer {
    pub fn new(spec: Arc<Plan>, picker: Picker) -> Self {
        let n = spec.backend_count as usize;
        let members = spec.initial_members();
        let mut picker = picker;
        picker.set_members(&members);
        Balancer {
            spec,
            picker,
            members,
            up: vec![true; n],
            inflight: vec![0; n],
            tickets: VecDeque::new(),
            base: 0,
            expire_armed: false,
            round: 0,
            acked: vec![0; n],
            ok_streak: vec![0; n],
            fail_streak: vec![0; n],
            cands: Vec::with_capacity(n),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Context<'_, LbNode>) {
        let now = ctx.now();
        let spec = self.spec.clone();
        for (i, m) in spec.membership.iter().enumerate() {
            if m.at <= now {
                self.apply_member(ctx, i);
            } else {
                ctx.set_timer(Timer::Member(i as u32), m.at - now);
            }
        }
        if let Some(h) = &spec.health {
            ctx.set_timer(Timer::HealthTick, h.interval);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Context<'_, LbNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request(r) => self.route(ctx, from, r, None, 1),
            Msg::Served { ticket, ok } => self.served(ctx, from, ticket, ok),
            Msg::ProbeAck { round } => {
                if round == self.round
                    && let Some(a) = self.acked.get_mut(from.idx())
                {
                    *a = round;
                }
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Context<'_, LbNode>, t: Timer) {
        match t {
            Timer::Expire => self.expire(ctx),
            Timer::HealthTick => self.probe(ctx),
            Timer::HealthJudge => self.judge(ctx),
            Timer::Member(i) => self.apply_member(ctx, i as usize),
            _ => {}
        }
    }

    fn apply_member(&mut self, ctx: &mut Context<'_, LbNode>, i: usize) {
        let Some(m) = self.spec.membership.get(i) else {
            return;
        };
        let (b, join) = m.change.backend_join();
        self.members[b as usize] = join;
        self.picker.set_members(&self.members);
        ctx.observe(Obs::Member { backend: b, join });
    }

    /// Sends `r` (try number `tries`) to a backend other than `exclude` if one is a candidate.
    fn route(
        &mut self,
        ctx: &mut Context<'_, LbNode>,
        client: NodeId,
        r: Request,
        exclude: Option<u32>,
        tries: u32,
    ) {
        self.fill_cands(exclude);
        if self.cands.is_empty() && exclude.is_some() {
            self.fill_cands(None);
        }
        if self.cands.is_empty() {
            ctx.send(
                client,
                Msg::Reply(Reply {
                    idx: r.idx,
                    ok: false,
                    server: exclude,
                    tries: tries - 1,
                }),
            );
            return;
        }
        let view = View {
            cands: &self.cands,
            inflight: &self.inflight,
            key: r.key,
        };
        let (b, cap) = self.picker.pick(&view, ctx.rng());
        debug_assert!(self.cands.contains(&b));
        self.inflight[b as usize] += 1;
        let ticket = self.base + self.tickets.len() as u64;
        let deadline = ctx.now() + self.spec.try_timeout;
        self.tickets.push_back(Ticket {
            client,
            req: r,
            backend: b,
            tries,
            deadline,
            live: true,
        });
        ctx.send(
            NodeId(b),
            Msg::Serve {
                ticket,
                work: r.work,
            },
        );
        ctx.observe(Obs::Route {
            backend: b,
            load: self.inflight[b as usize],
            candidates: self.cands.len() as u32,
            in_flight: self.cands.iter().map(|&c| self.inflight[c as usize]).sum(),
            cap: cap.map_or(0, |c| c as u32),
        });
        if !self.expire_armed {
            self.expire_armed = true;
            ctx.set_timer(Timer::Expire, self.spec.try_timeout);
        }
    }

    fn fill_cands(&mut self, exclude: Option<u32>) {
        self.cands.clear();
        for b in 0..self.members.len() as u32 {
            if self.members[b as usize] && self.up[b as usize] && Some(b) != exclude {
                self.cands.push(b);
            }
        }
    }

    fn served(&mut self, ctx: &mut Context<'_, LbNode>, from: NodeId, ticket: u64, ok: bool) {
        let Some(i) = ticket.checked_sub(self.base) else {
            return; // expired long ago
        };
        let Some(t) = self.tickets.get_mut(i as usize) else {
            return;
        };
        if !t.live || t.backend != from.0 {
            return; // expired and retried already: a late answer
        }
        t.live = false;
        let t = t.clone();
        self.inflight[t.backend as usize] -= 1;
        if ok {
            ctx.send(
                t.client,
                Msg::Reply(Reply {
                    idx: t.req.idx,
                    ok: true,
                    server: Some(t.backend),
                    tries: t.tries,
                }),
            );
        } else {
            self.retry_or_fail(ctx, &t);
        }
    }

    fn retry_or_fail(&mut self, ctx: &mut Context<'_, LbNode>, t: &Ticket) {
        if t.tries < self.spec.attempts {
            self.route(ctx, t.client, t.req, Some(t.backend), t.tries + 1);
        } else {
            ctx.send(
                t.client,
                Msg::Reply(Reply {
                    idx: t.req.idx,
                    ok: false,
                    server: Some(t.backend),
                    tries: t.tries,
                }),
            );
        }
    }

    fn expire(&mut self, ctx: &mut Context<'_, LbNode>) {
        self.expire_armed = false;
        let now = ctx.now();
        while let Some(f) = self.tickets.front() {
            if f.live && f.deadline > now {
                break;
            }
            let t = self.tickets.pop_front().expect("front exists");
            self.base += 1;
            if t.live {
                self.inflight[t.backend as usize] -= 1;
                self.retry_or_fail(ctx, &t);
            }
        }
        if let Some(f) = self.tickets.front() {
            self.expire_armed = true;
            ctx.set_timer(Timer::Expire, f.deadline.saturating_sub(now));
        }
    }

    fn probe(&mut self, ctx: &mut Context<'_, LbNode>) {
        let Some(h) = self.spec.health.clone() else {
            return;
        };
        self.round += 1;
        for b in 0..self.members.len() as u32 {
            if self.members[b as usize] {
                ctx.send(NodeId(b), Msg::Probe { round: self.round });
            }
        }
        ctx.set_timer(Timer::HealthJudge, h.timeout);
        ctx.set_timer(Timer::HealthTick, h.interval);
    }

    fn judge(&mut self, ctx: &mut Context<'_, LbNode>) {
        let Some(h) = self.spec.health.clone() else {
            return;
        };
        for b in 0..self.members.len() {
            if !self.members[b] {
                continue;
            }
            if self.acked[b] == self.round {
                self.ok_streak[b] += 1;
                self.fail_streak[b] = 0;
                if !self.up[b] && self.ok_streak[b] >= h.rise {
                    self.up[b] = true;
                    ctx.observe(Obs::Health {
                        backend: b as u32,
                        up: true,
                    });
                }
            } else {
                self.fail_streak[b] += 1;
                self.ok_streak[b] = 0;
                if self.up[b] && self.fail_streak[b] >= h.fall {
                    self.up[b] = false;
                    ctx.observe(Obs::Health {
                        backend: b as u32,
                        up: false,
                    });
                }
            }
        }
    }
}
