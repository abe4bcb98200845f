//! The engine's hot path does not allocate per event: a counting allocator sees the same
//! number of allocations whether a message-heavy run handles 100,000 or 1,100,000 events
//! (beyond a few amortised buffer growths). Its own test binary, so the counting allocator
//! sees nothing else.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use faultline::sim::demo::RelayProtocol;
use faultline::sim::{Latency, LinkConfig, MILLIS, SECS, Sim, SimConfig};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn allocations_for(events: u64, drop: f64, duplicate: f64) -> u64 {
    let mut cfg = SimConfig::new(7, 5, 0);
    cfg.network.default = LinkConfig {
        latency: Latency::Uniform {
            min: MILLIS,
            max: 10 * MILLIS,
        },
        drop,
        duplicate,
    };
    cfg.limits.time = 1_000_000 * SECS;
    cfg.limits.events = events;
    let before = ALLOCS.load(Ordering::Relaxed);
    let stats = Sim::new(RelayProtocol { fanout: 200 }, cfg).run();
    assert_eq!(stats.events, events);
    ALLOCS.load(Ordering::Relaxed) - before
}

#[test]
fn a_million_more_events_cost_no_allocations() {
    for (drop, duplicate) in [(0.0, 0.0), (0.0, 0.05)] {
        let short = allocations_for(100_000, drop, duplicate);
        let long = allocations_for(1_100_000, drop, duplicate);
        assert!(
            long <= short + 16,
            "drop {drop} duplicate {duplicate}: {short} allocations for 100k events, {long} for 1.1M"
        );
    }
}
