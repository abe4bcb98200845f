//! A small built-in protocol for benchmarks and demos, and the bare event loop it is measured
//! against.
//!
//! `Relay`: every node starts `fanout` messages; each delivery forwards one new message to a
//! random node after the network's random latency. A message-heavy workload with a fixed
//! number of messages in flight.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::node::{Context, Node, NodeId, Protocol};
use super::rng::{Stream, range_u64, stream};

/// A relay node: counts what it received.
#[derive(Debug, Default)]
pub struct Relay {
    pub received: u64,
    fanout: u32,
}

/// The relay protocol: `fanout` messages started per node.
pub struct RelayProtocol {
    pub fanout: u32,
}

impl Node for Relay {
    type Msg = u64;
    type Timer = ();
    type Durable = ();
    type Obs = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        for k in 0..self.fanout {
            let to = ctx.random_range(0, ctx.servers() as u64 - 1) as u32;
            ctx.send(NodeId(to), k as u64);
        }
    }

    #[inline]
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, hops: u64) {
        self.received += 1;
        let to = ctx.random_range(0, ctx.servers() as u64 - 1) as u32;
        ctx.send(NodeId(to), hops + 1);
    }

    fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _t: ()) {}
}

impl Protocol for RelayProtocol {
    type Node = Relay;
    fn node(&self, _id: NodeId, _durable: &()) -> Relay {
        Relay {
            received: 0,
            fanout: self.fanout,
        }
    }
}

/// The floor we measure the engine against: a bare BinaryHeap of (time, seq, slot) with a
/// payload slab, the same random destinations and uniform latencies from ChaCha8, and nothing
/// else (no trace, no faults, no per-node state). Returns a checksum so nothing is optimised
/// away.
pub fn bare_loop(
    seed: u64,
    nodes: u32,
    in_flight: u32,
    events: u64,
    lat_min: u64,
    lat_max: u64,
) -> u64 {
    let mut rng = stream(seed, Stream::User, 0);
    let mut net = stream(seed, Stream::User, 1);
    let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::new();
    let mut slab: Vec<(u32, u32, u64)> = Vec::new();
    let mut free: Vec<u32> = Vec::new();
    let mut received = vec![0u64; nodes as usize];
    let mut seq = 0u64;
    for k in 0..in_flight {
        let to = range_u64(&mut rng, 0, nodes as u64 - 1) as u32;
        slab.push((k % nodes, to, 0));
        seq += 1;
        heap.push(Reverse((range_u64(&mut net, lat_min, lat_max), seq, k)));
    }
    let mut done = 0;
    while let Some(Reverse((t, _, slot))) = heap.pop() {
        let (_, to, hops) = slab[slot as usize];
        free.push(slot);
        received[to as usize] += 1;
        done += 1;
        if done >= events {
            break;
        }
        let next = range_u64(&mut rng, 0, nodes as u64 - 1) as u32;
        let at = t + range_u64(&mut net, lat_min, lat_max);
        let s = match free.pop() {
            Some(s) => {
                slab[s as usize] = (to, next, hops + 1);
                s
            }
            None => {
                slab.push((to, next, hops + 1));
                (slab.len() - 1) as u32
            }
        };
        seq += 1;
        heap.push(Reverse((at, seq, s)));
    }
    received
        .iter()
        .enumerate()
        .fold(done, |acc, (i, r)| acc ^ (r << (i % 32)))
}
