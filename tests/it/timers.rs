//! Timers set again (to an earlier or a later deadline) and cancelled, as the engine queues
//! them lazily: each fires once, at the deadline of its last setting, never after a cancel,
//! timers due at one instant fire in the order they were last set (what one queue entry per
//! setting gave), and none due before the end is lost. Every node checks its own timers
//! against what it asked for, so the test needs no second engine.

use faultline::sim::*;

/// Timer tags per node.
const TAGS: usize = 4;

/// On every event, three random timer actions: set a tag (0 to 5 ms, so resets land both
/// before and after the pending deadline, and on it) or cancel one.
#[derive(Debug, Default)]
struct Juggler {
    /// Per tag: the deadline and the number of the setting it fires for, if set.
    due: [Option<(Time, u64)>; TAGS],
    settings: u64,
    cancels: u64,
    fired: u64,
    /// The last firing: (time, setting number).
    last: (Time, u64),
}

impl Juggler {
    fn juggle(&mut self, ctx: &mut Context<'_, Self>) {
        for _ in 0..3 {
            let tag = ctx.random_range(0, TAGS as u64 - 1) as u8;
            if ctx.random_range(0, 4) == 0 {
                ctx.cancel_timer(tag);
                self.due[tag as usize] = None;
                self.cancels += 1;
            } else {
                // Whole quarter-milliseconds: deadlines often coincide.
                let d = ctx.random_range(0, 20) * MILLIS / 4;
                ctx.set_timer(tag, d);
                self.settings += 1;
                self.due[tag as usize] = Some((ctx.now() + d, self.settings));
            }
        }
        // Something always pending, so that the run goes on to its time limit.
        if self.due.iter().all(Option::is_none) {
            ctx.set_timer(0, MILLIS);
            self.settings += 1;
            self.due[0] = Some((ctx.now() + MILLIS, self.settings));
        }
        // A message now and then, so that nodes' events interleave.
        if ctx.random_range(0, 3) == 0 {
            let to = NodeId(ctx.random_range(0, ctx.nodes() as u64 - 1) as u32);
            ctx.send(to, ());
        }
    }
}

impl Node for Juggler {
    type Msg = ();
    type Timer = u8;
    type Durable = ();
    type Obs = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.juggle(ctx);
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {
        self.juggle(ctx);
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, tag: u8) {
        let now = ctx.now();
        let Some((at, setting)) = self.due[tag as usize].take() else {
            panic!("n{}: timer {tag} fired at {now} but is not set", ctx.id().0);
        };
        assert_eq!(at, now, "timer {tag} fires at its last setting's deadline");
        assert!(
            (now, setting) > self.last,
            "timers due at one instant fire in the order they were set: {:?} then {:?}",
            self.last,
            (now, setting)
        );
        self.last = (now, setting);
        self.fired += 1;
        self.juggle(ctx);
    }
}

struct Jugglers;

impl Protocol for Jugglers {
    type Node = Juggler;
    fn node(&self, _id: NodeId, _d: &()) -> Juggler {
        Juggler::default()
    }
}

#[test]
fn timers_set_again_or_cancelled_fire_once_at_their_last_deadline_in_setting_order() {
    for seed in 0..5 {
        let mut cfg = SimConfig::new(seed, 3, 0);
        cfg.limits.time = 2 * SECS;
        let mut sim = Sim::new(Jugglers, cfg);
        let stats = sim.run();
        assert_eq!(stats.stop, StopReason::TimeLimit);
        let (mut settings, mut cancels, mut fired) = (0, 0, 0);
        for i in 0..3 {
            let n = sim.node(NodeId(i)).expect("no crashes");
            // Nothing due by the end was lost.
            for d in n.due.iter().flatten() {
                assert!(d.0 > stats.time, "n{i}: a timer due at {} never fired", d.0);
            }
            (settings, cancels, fired) =
                (settings + n.settings, cancels + n.cancels, fired + n.fired);
        }
        // The test exercises what it claims: most settings replace a pending one.
        assert!(
            fired > 1_000 && settings > 2 * fired && cancels > 500,
            "{settings} {cancels} {fired}"
        );
        // Events are what was handled: starts, deliveries and firings, no skipped entry.
        let c = &stats.counters;
        assert_eq!(stats.events, 3 + c.delivered + c.timers_fired, "{c:?}");
    }
}
