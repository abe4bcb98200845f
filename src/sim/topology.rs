//! Who can reach whom. Partitions name servers only (clients keep reaching everybody), so
//! the topology is a matrix of the links between servers, allocated at the first cut, plus
//! the list of links cut now: a partition costs what it cuts, a heal what it restores, and
//! neither ever touches a client's links. Asymmetric cuts are plain directed links.

use super::network::Partition;
use super::node::NodeId;

/// Who reaches whom now, and which action of the fault schedule cut each cut link.
#[derive(Clone, Debug)]
pub struct Topology {
    n: u32,
    /// The side of `cut` (the servers), 0 until the first cut.
    side: u32,
    /// Per link `a * side + b` between servers: 0 when up, else 1 + the index of the
    /// schedule's action that cut it (`u32::MAX` when no action is named).
    cut: Vec<u32>,
    /// The links cut now, in the order they were cut.
    down: Vec<(u32, u32)>,
}

impl Topology {
    /// Everybody reaches everybody, among `n` nodes.
    pub fn full(n: u32) -> Self {
        Topology {
            n,
            side: 0,
            cut: Vec::new(),
            down: Vec::new(),
        }
    }

    /// Whether a message from `a` is delivered to `b` right now.
    #[inline]
    pub fn reaches(&self, a: NodeId, b: NodeId) -> bool {
        self.down.is_empty()
            || a.0 >= self.side
            || b.0 >= self.side
            || self.cut[(a.0 * self.side + b.0) as usize] == 0
    }

    /// The index of the schedule's action that cut the link from `a` to `b`, if it is cut by
    /// one.
    pub fn cut_by(&self, a: NodeId, b: NodeId) -> Option<u32> {
        if self.reaches(a, b) {
            return None;
        }
        match self.cut[(a.0 * self.side + b.0) as usize] {
            u32::MAX => None,
            c => Some(c - 1),
        }
    }

    /// Cuts the links of `p` among `servers` servers, on top of cuts already in force;
    /// `by` is the index of the schedule's action (None for a fault injected by hand).
    /// Returns how many links it cut that were up.
    pub fn apply(&mut self, p: &Partition, servers: u32, by: Option<u32>) -> u64 {
        let servers = servers.min(self.n);
        if self.side < servers {
            // Grows once (the first cut): links between servers only.
            let mut cut = vec![0; (servers * servers) as usize];
            for &(a, b) in &self.down {
                cut[(a * servers + b) as usize] = self.cut[(a * self.side + b) as usize];
            }
            (self.side, self.cut) = (servers, cut);
        }
        let mark = by.map_or(u32::MAX, |i| i.saturating_add(1).min(u32::MAX - 1));
        let mut newly = 0;
        for (a, b) in p.cuts(servers) {
            if a >= self.side || b >= self.side {
                continue;
            }
            let c = &mut self.cut[(a * self.side + b) as usize];
            if *c == 0 {
                *c = mark;
                self.down.push((a, b));
                newly += 1;
            }
        }
        newly
    }

    /// Restores every link; returns how many were cut.
    pub fn heal(&mut self) -> u64 {
        for &(a, b) in &self.down {
            self.cut[(a * self.side + b) as usize] = 0;
        }
        let n = self.down.len() as u64;
        self.down.clear();
        n
    }

    /// Whether any link is cut.
    pub fn is_partitioned(&self) -> bool {
        !self.down.is_empty()
    }

    /// The servers that can reach each other both ways, as groups (strongly connected
    /// components of the server graph), sorted. Useful to explain a partition to a human.
    pub fn server_groups(&self, servers: u32) -> Vec<Vec<u32>> {
        let servers = servers.min(self.n);
        let mut g = petgraph::graphmap::DiGraphMap::<
            u32,
            (),
            std::hash::BuildHasherDefault<super::trace::StableHasher>,
        >::with_capacity_and_hasher(servers as usize, 0, Default::default());
        for a in 0..servers {
            g.add_node(a);
            for b in 0..servers {
                if self.reaches(NodeId(a), NodeId(b)) {
                    g.add_edge(a, b, ());
                }
            }
        }
        let mut groups: Vec<Vec<u32>> = petgraph::algo::tarjan_scc(&g)
            .into_iter()
            .map(|mut c| {
                c.sort_unstable();
                c
            })
            .collect();
        groups.sort();
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_heals_and_groups() {
        let mut t = Topology::full(8); // 5 servers, 3 clients
        assert!(!t.is_partitioned());
        assert_eq!(t.apply(&Partition::Isolate(1), 5, Some(3)), 8);
        assert!(!t.reaches(NodeId(1), NodeId(0)) && !t.reaches(NodeId(4), NodeId(1)));
        assert!(t.reaches(NodeId(1), NodeId(6)) && t.reaches(NodeId(0), NodeId(2)));
        assert_eq!(t.cut_by(NodeId(0), NodeId(1)), Some(3));
        // Already cut links are not cut again.
        let one_way = Partition::OneWay {
            from: vec![0, 2],
            to: vec![1, 3],
        };
        assert_eq!(t.apply(&one_way, 5, None), 2);
        assert_eq!(t.cut_by(NodeId(0), NodeId(3)), None);
        assert!(!t.reaches(NodeId(2), NodeId(3)) && t.reaches(NodeId(3), NodeId(2)));
        // 0 no longer reaches 3 directly, but still does through 4.
        assert_eq!(t.server_groups(5), vec![vec![0, 2, 3, 4], vec![1]]);
        assert_eq!(t.heal(), 10);
        assert!(!t.is_partitioned() && t.reaches(NodeId(1), NodeId(0)));
        assert_eq!(t.server_groups(5), vec![vec![0, 1, 2, 3, 4]]);
    }
}
