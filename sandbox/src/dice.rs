//! Value-stable randomness: every draw of the dataset and of the fault injector comes from a PCG stream
//! seeded by (seed, stream, index), and is turned into numbers by our own arithmetic rather than by
//! `rand`'s distributions, whose outputs may change between versions. The same seed therefore gives the
//! same bytes across builds.

use rand::Rng;
use rand_pcg::Pcg64Mcg;

/// Streams keep the draws of unrelated things (people, companies, faults) independent.
#[derive(Clone, Copy)]
pub enum Stream {
    Person = 1,
    Company = 2,
    Fault = 3,
}

pub struct Dice(Pcg64Mcg);

impl Dice {
    pub fn new(seed: u64, stream: Stream, index: u64) -> Self {
        let high = mix(seed ^ mix(stream as u64));
        let low = mix(index ^ high.rotate_left(23));
        Dice(Pcg64Mcg::new((u128::from(high) << 64) | u128::from(low)))
    }

    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-32 for our n).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)` with 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// An index drawn with the given relative weights (at least one must be non-zero).
    pub fn weighted(&mut self, weights: impl Iterator<Item = u32> + Clone) -> usize {
        let total: u64 = weights.clone().map(u64::from).sum();
        let mut left = self.below(total);
        for (i, w) in weights.enumerate() {
            if left < u64::from(w) {
                return i;
            }
            left -= u64::from(w);
        }
        unreachable!("below(total) is less than the sum of the weights")
    }
}

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
pub const fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
