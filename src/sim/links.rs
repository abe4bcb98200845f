//! Each directed link's configuration and random stream, made when the link is first used:
//! a run of a thousand clients pays for the links its messages take, not for every pair of
//! nodes. The stream of link `from -> to` is `stream(seed, Link, from * n + to)` as it always
//! was, so draws (and traces) do not depend on when a link is first used.

use super::network::{LinkConfig, NetworkConfig};
use super::rng::{ChaCha8Rng, Stream, stream};

/// One link in use.
#[derive(Clone)]
pub(crate) struct Link {
    pub cfg: LinkConfig,
    pub rng: ChaCha8Rng,
}

#[derive(Clone)]
pub(crate) struct Links {
    n: u32,
    seed: u64,
    network: NetworkConfig,
    /// Per pair of nodes and direction, at [`Links::pos`]: 1 + the link's index in `used`, 0
    /// until first used (zeroed memory: pages never touched cost nothing).
    slot: Vec<u32>,
    used: Vec<Link>,
}

impl Links {
    pub fn new(network: &NetworkConfig, n: u32, seed: u64) -> Self {
        Links {
            n,
            seed,
            network: network.clone(),
            slot: vec![0; 2 * n as usize * n as usize],
            used: Vec::new(),
        }
    }

    /// Where the link from `from` to `to` is in `slot`: by the lower-numbered node first,
    /// then the other, then the direction. Servers are numbered before clients, so the links
    /// of every client with server `s` lie together in row `s` (a table ordered by sender
    /// spread a thousand clients' links over a thousand rows, a cache line and a page each).
    #[inline]
    fn pos(&self, from: u32, to: u32) -> usize {
        let (lo, hi) = (from.min(to) as usize, from.max(to) as usize);
        (lo * self.n as usize + hi) * 2 + (from > to) as usize
    }

    /// The link from `from` to `to` (both below `n`).
    #[inline]
    pub fn get(&mut self, from: u32, to: u32) -> &mut Link {
        let p = self.pos(from, to);
        match self.slot[p] {
            0 => self.first_use(p, from, to),
            s => &mut self.used[s as usize - 1],
        }
    }

    /// Makes the link: its stream is `from * n + to` wherever its slot is.
    #[cold]
    #[inline(never)]
    fn first_use(&mut self, p: usize, from: u32, to: u32) -> &mut Link {
        let l = from as u64 * self.n as u64 + to as u64;
        self.used.push(Link {
            cfg: self.network.link(from, to),
            rng: stream(self.seed, Stream::Link, l),
        });
        self.slot[p] = self.used.len() as u32;
        self.used.last_mut().expect("just pushed")
    }
}
