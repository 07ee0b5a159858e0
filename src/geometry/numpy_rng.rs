//! numpy's legacy `np.random.RandomState` (MT19937), bit for bit, for the draws scikit-learn's
//! k-means and spectral clustering make with `random_state=<int>`.
//!
//! scikit-learn turns an integer `random_state` into `np.random.RandomState(seed)`
//! (`sklearn.utils.check_random_state`), and every later draw (ARPACK's start vector, k-means++
//! seeds) comes from that one generator. Reproducing its labels on weakly clustered data, where
//! several k-means optima have nearly the same inertia, needs the same stream of numbers, so this
//! module mirrors numpy's C code (`numpy/random/src/mt19937/mt19937.c`,
//! `numpy/random/src/legacy/legacy-distributions.c`, `numpy/random/mtrand.pyx`,
//! `numpy/random/src/distributions/distributions.c`), which the legacy `RandomState` has frozen
//! since numpy 1.17.

/// Length of the MT19937 state in 32-bit words.
const STATE_LEN: usize = 624;
/// MT19937's middle word offset.
const SHIFT: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// numpy's legacy `np.random.RandomState` with an integer seed: the MT19937 generator of
/// Matsumoto & Nishimura (1998), seeded by `init_genrand`, with numpy's conversions to doubles,
/// bounded integers and weighted choices.
///
/// `NumpyRandomState::new(42)` gives the same numbers as `np.random.RandomState(42)`:
/// [`random_sample`](Self::random_sample) as `random_sample()`, [`uniform`](Self::uniform) as
/// `uniform(low, high)`, [`randint`](Self::randint) as `randint(low, high)`,
/// [`choice_weighted`](Self::choice_weighted) as `choice(len(p), p=p)`, one draw per call (an
/// array-valued draw of size `m` in numpy is the same as `m` calls here, in order).
#[derive(Clone)]
pub struct NumpyRandomState {
    key: [u32; STATE_LEN],
    pos: usize,
}

impl std::fmt::Debug for NumpyRandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumpyRandomState").field("pos", &self.pos).finish_non_exhaustive()
    }
}

impl NumpyRandomState {
    /// `np.random.RandomState(seed)` for an integer seed in `0..2^32`: numpy's `mt19937_seed`
    /// (Matsumoto & Nishimura's `init_genrand`), `key[0] = seed`,
    /// `key[i] = 1812433253 * (key[i-1] ^ (key[i-1] >> 30)) + i` (mod 2^32); the first draw
    /// regenerates the whole state.
    pub fn new(seed: u32) -> NumpyRandomState {
        let mut key = [0u32; STATE_LEN];
        let mut s = seed;
        for (pos, k) in key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32.wrapping_mul(s ^ (s >> 30)).wrapping_add(pos as u32 + 1);
        }
        NumpyRandomState { key, pos: STATE_LEN }
    }

    /// numpy's `mt19937_gen`: the next 624 words of the state.
    fn generate(&mut self) {
        let key = &mut self.key;
        let twist = |y: u32| (y >> 1) ^ (0u32.wrapping_sub(y & 1) & MATRIX_A);
        for i in 0..STATE_LEN - SHIFT {
            let y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
            key[i] = key[i + SHIFT] ^ twist(y);
        }
        for i in STATE_LEN - SHIFT..STATE_LEN - 1 {
            let y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
            key[i] = key[i + SHIFT - STATE_LEN] ^ twist(y);
        }
        let y = (key[STATE_LEN - 1] & UPPER_MASK) | (key[0] & LOWER_MASK);
        key[STATE_LEN - 1] = key[SHIFT - 1] ^ twist(y);
        self.pos = 0;
    }

    /// The next 32-bit output (numpy's `mt19937_next32`: a state word, tempered).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == STATE_LEN {
            self.generate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// The next 64-bit output (numpy's `mt19937_next64`: two 32-bit outputs, the first the high
    /// half).
    pub fn next_u64(&mut self) -> u64 {
        let hi = self.next_u32() as u64;
        (hi << 32) | self.next_u32() as u64
    }

    /// `RandomState.random_sample()`: a double in `[0, 1)` with 53 random bits made from two
    /// 32-bit outputs `a` and `b` as `((a >> 5) * 2^26 + (b >> 6)) / 2^53` (numpy's
    /// `mt19937_next_double`, the `genrand_res53` of the reference implementation).
    pub fn random_sample(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `RandomState.uniform(low, high)`: `low + (high - low) * random_sample()` (numpy's
    /// `random_uniform(bitgen, lower, range)` with `range = high - low`).
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        let range = high - low;
        low + range * self.random_sample()
    }

    /// `RandomState.randint(low, high)` (default `dtype=int`, i.e. int64): uniform on
    /// `low..high` by numpy's masked rejection sampling (`random_bounded_uint64_fill` with
    /// `use_masked=True`): with `rng = high - 1 - low` and `mask` the smallest `2^j - 1 >= rng`,
    /// draw `next & mask` until it is at most `rng`, using 32-bit outputs when `rng < 2^32`
    /// (one output when `rng = 2^32 - 1`) and 64-bit outputs otherwise.
    ///
    /// # Panics
    /// If `low >= high` (numpy raises `ValueError: low >= high`).
    pub fn randint(&mut self, low: i64, high: i64) -> i64 {
        assert!(low < high, "randint: low >= high");
        let rng = (high as i128 - 1 - low as i128) as u64;
        let value = if rng == 0 {
            0
        } else if rng <= 0xffff_ffff {
            if rng == 0xffff_ffff {
                self.next_u32() as u64
            } else {
                let mask = mask_for(rng) as u32;
                loop {
                    let v = self.next_u32() & mask;
                    if v as u64 <= rng {
                        break v as u64;
                    }
                }
            }
        } else if rng == u64::MAX {
            self.next_u64()
        } else {
            let mask = mask_for(rng);
            loop {
                let v = self.next_u64() & mask;
                if v <= rng {
                    break v;
                }
            }
        };
        (low as i128 + value as i128) as i64
    }

    /// `RandomState.permutation(n)`: `arange(n)` shuffled by numpy's legacy Fisher-Yates
    /// (`mtrand.pyx` `_shuffle_raw`): for `i = n-1, ..., 1`, swap `x[i]` with `x[j]`,
    /// `j = random_interval(i)`, numpy's masked rejection draw on `0..=i` (the same draws as
    /// [`randint`](Self::randint)`(0, i + 1)`).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut x: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.randint(0, i as i64 + 1) as usize;
            x.swap(i, j);
        }
        x
    }

    /// `sorted(RandomState.choice(n, m, replace=False))`: a uniform random subset of `m` of
    /// `0..n` in increasing order; numpy's legacy `choice` without replacement is
    /// `permutation(n)[:m]`. `m >= n` gives all of `0..n` (and draws nothing).
    pub fn sample_without_replacement(&mut self, n: usize, m: usize) -> Vec<usize> {
        if m >= n {
            return (0..n).collect();
        }
        let mut kept = self.permutation(n);
        kept.truncate(m);
        kept.sort_unstable();
        kept
    }

    /// `RandomState.choice(len(p), p=p)`, one draw: `cdf = cumsum(p)` (left to right),
    /// `cdf /= cdf[-1]`, `u = random_sample()`, the index `searchsorted(cdf, u, side='right')`,
    /// i.e. the number of `cdf` entries `<= u` (numpy's `mtrand.pyx`, replacement branch).
    ///
    /// numpy first checks that `p` is non-negative and sums to 1 within `sqrt(eps)`; here `p`
    /// only has to be non-negative with a positive sum (the normalisation by `cdf[-1]` is the
    /// same either way). The result is clipped to `p.len() - 1` (numpy cannot exceed it, since
    /// `cdf[-1] = 1 > u`).
    ///
    /// # Panics
    /// If `p` is empty.
    pub fn choice_weighted(&mut self, p: &[f64]) -> usize {
        assert!(!p.is_empty(), "choice_weighted: empty p");
        let mut cdf = Vec::with_capacity(p.len());
        let mut acc = 0.0;
        for &v in p {
            acc += v;
            cdf.push(acc);
        }
        let last = acc;
        cdf.iter_mut().for_each(|c| *c /= last);
        let u = self.random_sample();
        cdf.partition_point(|&c| c <= u).min(p.len() - 1)
    }
}

/// numpy's `gen_mask`: the smallest `2^j - 1` that is at least `max`.
fn mask_for(max: u64) -> u64 {
    let mut mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    mask
}

/// The `RandomState` as scikit-learn's k-means step of
/// `SpectralClustering(affinity='precomputed', assign_labels='kmeans', random_state=seed)` finds
/// it on `n` points.
///
/// `SpectralClustering.fit` makes one `check_random_state(seed)` = `RandomState(seed)` and passes
/// it first to `_spectral_embedding` and then to `k_means`. With the default
/// `eigen_solver=None` (ARPACK; a dense precomputed affinity stays on that path, the AMG and
/// LOBPCG branches are not taken) the embedding draws exactly one thing from it: ARPACK's start
/// vector `_init_arpack_v0(n, random_state)` = `random_state.uniform(-1, 1, n)`, `n` doubles, i.e.
/// `2 n` 32-bit outputs (checked for scikit-learn 1.9.1, numpy 2.4). `k_means` then draws from the
/// same generator (`kmeans` of this crate's `geometry::kmeans` takes it as is).
pub fn sklearn_spectral_rng(seed: u32, n: usize) -> NumpyRandomState {
    let mut rng = NumpyRandomState::new(seed);
    for _ in 0..n {
        rng.uniform(-1.0, 1.0);
    }
    rng
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values printed by numpy 2.4.6 (legacy RandomState, unchanged since 1.17).

    #[test]
    fn raw_outputs_match_numpy() {
        // np.random.RandomState(42).randint(0, 2**32, size=5, dtype=np.uint64)
        let mut r = NumpyRandomState::new(42);
        let got: Vec<u32> = (0..5).map(|_| r.next_u32()).collect();
        assert_eq!(got, [1608637542, 3421126067, 4083286876, 787846414, 3143890026]);
    }

    #[test]
    fn random_sample_matches_numpy() {
        // np.random.RandomState(42).random_sample(5)
        let mut r = NumpyRandomState::new(42);
        let want = [0.3745401188473625, 0.9507143064099162, 0.7319939418114051, 0.5986584841970366, 0.15601864044243652];
        for w in want {
            assert_eq!(r.random_sample(), w);
        }
        // RandomState(0).random_sample(2), RandomState(2**32 - 1).random_sample(2)
        let mut r = NumpyRandomState::new(0);
        assert_eq!([r.random_sample(), r.random_sample()], [0.5488135039273248, 0.7151893663724195]);
        let mut r = NumpyRandomState::new(u32::MAX);
        assert_eq!([r.random_sample(), r.random_sample()], [0.0976320289940138, 0.9123828453026218]);
    }

    #[test]
    fn uniform_matches_numpy() {
        // rs = RandomState(42); rs.uniform(-1, 1, 3); rs.uniform()
        let mut r = NumpyRandomState::new(42);
        assert_eq!(r.uniform(-1.0, 1.0), -0.250919762305275);
        assert_eq!(r.uniform(-1.0, 1.0), 0.9014286128198323);
        assert_eq!(r.uniform(-1.0, 1.0), 0.4639878836228102);
        assert_eq!(r.uniform(0.0, 1.0), 0.5986584841970366);
    }

    #[test]
    fn randint_matches_numpy() {
        // rs = RandomState(42); rs.randint(0, 10, 5); rs.randint(-5, 1000000, 3);
        // rs.randint(0, 2**40, 2); rs.randint(7, 8, 2); rs.random_sample()
        let mut r = NumpyRandomState::new(42);
        let a: Vec<i64> = (0..5).map(|_| r.randint(0, 10)).collect();
        assert_eq!(a, [6, 3, 7, 4, 6]);
        let b: Vec<i64> = (0..3).map(|_| r.randint(-5, 1_000_000)).collect();
        assert_eq!(b, [137332, 999885, 521425]);
        let c: Vec<i64> = (0..2).map(|_| r.randint(0, 1 << 40)).collect();
        assert_eq!(c, [319800038858, 375095422324]);
        assert_eq!([r.randint(7, 8), r.randint(7, 8)], [7, 7]);
        assert_eq!(r.random_sample(), 0.6011150117432088);
    }

    #[test]
    fn choice_matches_numpy() {
        // rs = RandomState(42); [rs.choice(4, p=[.1, .2, .3, .4]) for _ in range(10)]; rs.random_sample()
        let mut r = NumpyRandomState::new(42);
        let p = [0.1, 0.2, 0.3, 0.4];
        let got: Vec<usize> = (0..10).map(|_| r.choice_weighted(&p)).collect();
        assert_eq!(got, [2, 3, 3, 2, 1, 1, 0, 3, 3, 3]);
        assert_eq!(r.random_sample(), 0.020584494295802447);
        // rs = RandomState(42); [rs.choice(7, p=np.ones(7) / 7) for _ in range(10)]
        let mut r = NumpyRandomState::new(42);
        let p = [1.0 / 7.0; 7];
        let got: Vec<usize> = (0..10).map(|_| r.choice_weighted(&p)).collect();
        assert_eq!(got, [2, 6, 5, 4, 1, 1, 0, 6, 4, 4]);
    }

    #[test]
    fn permutation_and_choice_match_numpy() {
        // RandomState(0).permutation(10); RandomState(42).permutation(7)
        assert_eq!(NumpyRandomState::new(0).permutation(10), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
        assert_eq!(NumpyRandomState::new(42).permutation(7), [0, 1, 5, 2, 4, 3, 6]);
        // sorted(RandomState(0).choice(100000, 8, replace=False))
        assert_eq!(
            NumpyRandomState::new(0).sample_without_replacement(100_000, 8),
            [3582, 3885, 10685, 21333, 51521, 53227, 60498, 84261]
        );
        // r = RandomState(3); r.choice(5, 5, replace=False); r.random_sample()
        let mut r = NumpyRandomState::new(3);
        assert_eq!(r.permutation(5), [3, 4, 1, 0, 2]);
        assert_eq!(r.random_sample(), 0.2909047389129443);
        assert_eq!(NumpyRandomState::new(3).sample_without_replacement(5, 9), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn spectral_rng_skips_the_arpack_start_vector() {
        // rs = RandomState(42); rs.uniform(-1, 1, 1000); rs.random_sample()
        let mut r = sklearn_spectral_rng(42, 1000);
        assert_eq!(r.random_sample(), 0.18513292883861965);
    }
}
