//! Each directed link's configuration and random stream, made when the link is first used:
//! a run of a thousand clients pays for the links its messages take, not for every pair of
//! nodes. The stream of link `from -> to` is `stream(seed, Link, from * n + to)` as it always
//! was, so draws (and traces) do not depend on when a link is first used.

use super::network::{LinkConfig, NetworkConfig};
use super::rng::{ChaCha8Rng, Stream, stream};

/// One link in use.
pub(crate) struct Link {
    pub cfg: LinkConfig,
    pub rng: ChaCha8Rng,
}

pub(crate) struct Links {
    n: u32,
    seed: u64,
    network: NetworkConfig,
    /// Per link `from * n + to`: 1 + its index in `used`, 0 until first used (zeroed memory:
    /// pages never touched cost nothing).
    slot: Vec<u32>,
    used: Vec<Link>,
}

impl Links {
    pub fn new(network: &NetworkConfig, n: u32, seed: u64) -> Self {
        Links {
            n,
            seed,
            network: network.clone(),
            slot: vec![0; n as usize * n as usize],
            used: Vec::new(),
        }
    }

    /// The link from `from` to `to` (both below `n`).
    #[inline]
    pub fn get(&mut self, from: u32, to: u32) -> &mut Link {
        let l = from as usize * self.n as usize + to as usize;
        match self.slot[l] {
            0 => self.first_use(l, from, to),
            s => &mut self.used[s as usize - 1],
        }
    }

    #[cold]
    #[inline(never)]
    fn first_use(&mut self, l: usize, from: u32, to: u32) -> &mut Link {
        self.used.push(Link {
            cfg: self.network.link(from, to),
            rng: stream(self.seed, Stream::Link, l as u64),
        });
        self.slot[l] = self.used.len() as u32;
        self.used.last_mut().expect("just pushed")
    }
}
