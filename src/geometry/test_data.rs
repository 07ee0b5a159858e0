//! Deterministic pseudo-random test inputs shared by the unit tests (no RNG crate, so that the
//! values never change with a dependency): Knuth's MMIX linear congruential generator.

const A: u64 = 6364136223846793005;
const C: u64 = 1442695040888963407;

/// An MMIX LCG; each draw steps the state, then maps its top 53 bits to `[-0.5, 0.5)`.
pub struct Lcg(u64);

impl Lcg {
    /// Starts from `state` as given.
    pub fn new(state: u64) -> Lcg {
        Lcg(state)
    }

    /// Starts from `seed` stepped once (small seeds then give unrelated streams).
    pub fn scrambled(seed: u64) -> Lcg {
        Lcg(seed.wrapping_mul(A).wrapping_add(C))
    }

    /// The next value, uniform in `[-0.5, 0.5)`.
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(A).wrapping_add(C);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    /// `len` values of [`Lcg::uniform`].
    pub fn take(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.uniform()).collect()
    }
}
