//! The run's tree of random streams, and float helpers that give the same bits everywhere.
//!
//! One master seed expands into independent ChaCha8 streams, one per purpose (each network
//! link, each node, the nemesis). A stream is `splitmix64(seed, purpose, index)`-seeded, so
//! adding a client or a link does not shift the draws of any other stream.
//!
//! Transcendental functions from the platform libm (`powf`, `ln`, `exp`) may differ in the
//! last bit between platforms; the latency model uses [`det_ln`] and [`det_exp`], built from
//! IEEE-exact `+ - * /` only, so a trace is byte-identical on every machine.

pub use rand::{Rng, RngExt, SeedableRng};
pub use rand_chacha::ChaCha8Rng;

/// What a random stream is for. The discriminant is part of the stream's seed: never reorder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// One stream per directed link (index = from * n + to): delay, loss, duplication.
    Link = 1,
    /// One stream per node: the protocol's and the client's own random choices.
    Node = 2,
    /// The random nemesis: which faults, when, for how long.
    Nemesis = 3,
    /// Free for tools built on top (workload generators, shrinking) to derive their own.
    User = 4,
    /// One stream per client (index = client index): what it asks and how long it thinks.
    /// Kept apart from the node's stream, whose draws (back-offs) depend on how the protocol
    /// answered, so two protocols run on one seed see the same operations in the same order.
    Workload = 5,
}

/// SplitMix64 finaliser: a fixed, well-mixed 64-bit permutation.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of stream `(purpose, index)` under master `seed`.
pub fn stream_seed(seed: u64, purpose: Stream, index: u64) -> u64 {
    splitmix64(
        splitmix64(seed ^ splitmix64(purpose as u64)) ^ splitmix64(index.wrapping_add(0x5851_f42d)),
    )
}

/// A fresh ChaCha8 stream for `(purpose, index)` under master `seed`.
pub fn stream(seed: u64, purpose: Stream, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(stream_seed(seed, purpose, index))
}

/// A uniform float in [0, 1) from 53 random bits (exact, platform independent).
#[inline]
pub fn unit_f64<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in `[lo, hi]` (inclusive). Uses a 128-bit multiply (Lemire) without
/// rejection, so each call draws exactly one `u64` and streams stay aligned.
#[inline]
pub fn range_u64<R: Rng + ?Sized>(rng: &mut R, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        rng.next_u64();
        return lo;
    }
    let span = (hi - lo).wrapping_add(1);
    if span == 0 {
        return rng.next_u64();
    }
    lo + ((rng.next_u64() as u128 * span as u128) >> 64) as u64
}

/// Natural logarithm from `+ - * /` only (relative error < 1e-15), for x > 0.
pub fn det_ln(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    // x = m * 2^e with m in [1, 2), normalising subnormals first.
    let (mut x, mut e_adj) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        x *= (1u64 << 54) as f64;
        e_adj = -54;
    }
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023 + e_adj;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let mut e = e as f64;
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1.0;
    }
    // ln(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..14 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    2.0 * sum + e * std::f64::consts::LN_2
}

/// e^x from `+ - * /` only (relative error < 1e-15), saturating outside the f64 range.
pub fn det_exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    if x < -745.0 {
        return 0.0;
    }
    // x = k ln2 + r, |r| <= ln2/2
    let k = (x / std::f64::consts::LN_2 + if x >= 0.0 { 0.5 } else { -0.5 }) as i64;
    let r = x - k as f64 * std::f64::consts::LN_2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..24 {
        term *= r / i as f64;
        sum += term;
    }
    // scale by 2^k in two steps so that intermediate powers stay normal
    let half = k / 2;
    sum * pow2(half) * pow2(k - half)
}

fn pow2(k: i64) -> f64 {
    f64::from_bits(((k + 1023).clamp(1, 2046) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn det_math_matches_libm_closely() {
        for &x in &[
            1e-300, 1e-5, 0.1, 0.5, 0.999, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300,
        ] {
            let (a, b) = (det_ln(x), x.ln());
            assert!(
                (a - b).abs() <= 1e-13 * b.abs().max(1.0),
                "ln {x}: {a} vs {b}"
            );
        }
        for &x in &[-700.0, -10.0, -1.0, -0.3, 0.0, 0.3, 1.0, 5.5, 100.0, 700.0] {
            let (a, b) = (det_exp(x), f64::exp(x));
            assert!((a - b).abs() <= 1e-13 * b.abs(), "exp {x}: {a} vs {b}");
        }
    }

    #[test]
    fn streams_are_independent_and_pinned() {
        let mut a = stream(42, Stream::Node, 0);
        let mut b = stream(42, Stream::Node, 1);
        assert_ne!(a.next_u64(), b.next_u64());
        // Golden value: a change here shifts every trace; bump it only on purpose.
        let mut g = stream(42, Stream::Link, 3);
        assert_eq!(g.next_u64(), GOLDEN_LINK3);
        let mut c = ChaCha8Rng::seed_from_u64(42);
        assert_eq!(c.next_u64(), 0xae90_bfb5_395d_5ba1);
    }

    const GOLDEN_LINK3: u64 = 9271237398912941795;

    #[test]
    fn range_is_inclusive_and_bounded() {
        let mut r = stream(1, Stream::User, 0);
        for _ in 0..10_000 {
            let v = range_u64(&mut r, 5, 9);
            assert!((5..=9).contains(&v));
        }
        assert_eq!(range_u64(&mut r, 7, 7), 7);
    }
}
