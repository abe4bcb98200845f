//! Seed ranges and thread counts from the command line and from suite expectations. A range is
//! never materialised: [`Seeds`] computes its `i`-th seed with checked arithmetic, so
//! `0..18446744073709551615` costs nothing until seeds actually run.

use std::path::Path;

/// More seeds than this in one command (about three days of a 2-core machine) need explicit
/// intent (`sweep --allow-huge-range`); a suite expectation may not ask for more.
pub const MAX_SEEDS: u64 = 100_000_000;

/// Most worker threads a command accepts.
pub const MAX_JOBS: usize = 1024;

/// The seeds `first, first + step, ...` up to `last` (inclusive), lazily.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeds {
    pub first: u64,
    pub last: u64,
    pub step: u64,
}

impl Seeds {
    /// How many seeds (up to 2^64, hence `u128`).
    pub fn len(&self) -> u128 {
        ((self.last - self.first) / self.step) as u128 + 1
    }

    pub fn is_empty(&self) -> bool {
        false // a `Seeds` always holds `first`
    }

    /// The `i`-th seed, if the range has one.
    pub fn nth(&self, i: u64) -> Option<u64> {
        let s = self.first.checked_add(i.checked_mul(self.step)?)?;
        (s <= self.last).then_some(s)
    }

    /// Shard `k` of `n` (1-based): the seeds `s` with `(s - first) % n == k - 1`; `None` when
    /// that shard holds no seed.
    pub fn shard(&self, k: u64, n: u64) -> Option<Seeds> {
        let first = self.first.checked_add(k - 1)?;
        (first <= self.last).then_some(Seeds {
            first,
            last: self.last,
            step: self.step.checked_mul(n)?,
        })
    }

    /// Refuses more than [`MAX_SEEDS`] unless `allow_huge`.
    pub fn check_size(&self, allow_huge: bool, what: &str) -> Result<(), String> {
        if allow_huge || self.len() <= MAX_SEEDS as u128 {
            return Ok(());
        }
        Err(format!(
            "{what} holds {} seeds, more than the {} a command runs without being asked \
             (about three days on two cores); narrow the range, split it with --shard K/N, \
             or pass --allow-huge-range (Ctrl-C then stops it and keeps every finished seed)",
            self.len(),
            MAX_SEEDS
        ))
    }
}

impl std::fmt::Display for Seeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.first == self.last, self.last.checked_add(1)) {
            (true, _) => write!(f, "{}", self.first),
            (false, Some(end)) => write!(f, "{}..{end}", self.first),
            (false, None) => write!(f, "{}..={}", self.first, self.last),
        }
    }
}

/// `A..B` (B excluded), `A..=B` (B included) or a single seed `A`; any u64, no wrapping.
pub fn parse_seeds(s: &str) -> Result<Seeds, String> {
    let bad = || {
        format!(
            "`{s}` is not a seed range (expected A..B with B excluded, A..=B, or one seed; \
             seeds are 0 to 18446744073709551615)"
        )
    };
    let num = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
    let (first, last) = match s.split_once("..") {
        None => (num(s)?, num(s)?),
        Some((a, b)) => match b.strip_prefix('=') {
            Some(b) => (num(a)?, num(b)?),
            None => {
                let (a, b) = (num(a)?, num(b)?);
                if a >= b {
                    return Err(format!("seed range `{s}` is empty (B is excluded)"));
                }
                (a, b - 1)
            }
        },
    };
    if first > last {
        return Err(format!("seed range `{s}` is empty"));
    }
    Ok(Seeds {
        first,
        last,
        step: 1,
    })
}

/// A suite expectation's `(start, end)` (end excluded), refused with the file's location when
/// it is empty or larger than [`MAX_SEEDS`].
pub fn expectation_seeds(file: &Path, src: &str, range: (u64, u64)) -> Result<Seeds, String> {
    let at = locate_expect(file, src);
    if range.0 >= range.1 {
        return Err(format!(
            "{at}: the expectation's seed range ({}, {}) is empty (the end is excluded): \
             it would pass without running anything",
            range.0, range.1
        ));
    }
    let seeds = Seeds {
        first: range.0,
        last: range.1 - 1,
        step: 1,
    };
    if seeds.len() > MAX_SEEDS as u128 {
        return Err(format!(
            "{at}: the expectation's seed range ({}, {}) holds {} seeds; a suite runs at most \
             {MAX_SEEDS} per scenario",
            range.0,
            range.1,
            seeds.len()
        ));
    }
    Ok(seeds)
}

/// `file:line:column` of the `expect` field in a scenario's text (the file alone if absent).
fn locate_expect(file: &Path, src: &str) -> String {
    for (i, line) in src.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        if let Some(col) = code.find("expect") {
            return format!("{}:{}:{}", file.display(), i + 1, col + 1);
        }
    }
    file.display().to_string()
}

/// A thread count: 1 to [`MAX_JOBS`].
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1 (omit --jobs to use every core)".into()),
        Ok(n) if n <= MAX_JOBS => Ok(n),
        Ok(_) => Err(format!("at most {MAX_JOBS} threads")),
        Err(_) => Err(format!("`{s}` is not a thread count (1 to {MAX_JOBS})")),
    }
}

/// `jobs`, or every core.
pub fn jobs_or_all(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `K/N` with 1 <= K <= N.
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("`{s}` is not a shard (expected K/N with 1 <= K <= N, e.g. 2/3)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_never_wrap() {
        let max = u64::MAX;
        let s = parse_seeds(&max.to_string()).unwrap();
        assert_eq!((s.first, s.last, s.len()), (max, max, 1));
        assert_eq!(s.nth(0), Some(max));
        assert_eq!(s.nth(1), None);
        let all = parse_seeds(&format!("0..={max}")).unwrap();
        assert_eq!(all.len(), 1u128 << 64);
        assert_eq!(all.nth(max), Some(max));
        let most = parse_seeds(&format!("0..{max}")).unwrap();
        assert_eq!(most.len(), max as u128);
        assert!(most.check_size(false, "x").is_err());
        assert!(most.check_size(true, "x").is_ok());
        for bad in [
            "9..3",
            "3..3",
            "5..=4",
            "x",
            "1..",
            "-1",
            "18446744073709551616",
        ] {
            assert!(parse_seeds(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_seeds("0..10").unwrap().to_string(), "0..10");
        assert_eq!(all.to_string(), format!("0..={max}"));
    }

    #[test]
    fn shards_partition_the_range() {
        let s = parse_seeds("0..10").unwrap();
        let mut seen = vec![];
        for k in 1..=3 {
            let sh = s.shard(k, 3).unwrap();
            seen.extend((0..).map_while(|i| sh.nth(i)));
        }
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert!(parse_seeds("0..2").unwrap().shard(3, 3).is_none());
        let top = parse_seeds(&format!("{}..={}", u64::MAX - 1, u64::MAX)).unwrap();
        assert_eq!(top.shard(2, 5).unwrap().nth(0), Some(u64::MAX));
        assert_eq!(top.shard(2, 5).unwrap().nth(1), None);
    }

    #[test]
    fn jobs_are_bounded() {
        assert!(parse_jobs("0").is_err());
        assert!(parse_jobs("100000").is_err());
        assert_eq!(parse_jobs("2"), Ok(2));
    }
}
