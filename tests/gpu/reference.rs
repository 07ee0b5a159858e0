//! CPU references with f64 accumulation (used by the tests).

// The products and the histogram are the CPU backend's own (src/compute/kernels.rs, f64
// accumulation); only the general q-vs-p neighbour search is written here.
pub use sae_geometry::compute::kernels::{gram_columns, gram_rows, matmul};

/// (indices, squared distances), m x k each, ascending (ties: lower index).
pub fn nearest(
    q: &[f32],
    m: usize,
    p: &[f32],
    n: usize,
    d: usize,
    k: usize,
    exclude_self: bool,
) -> (Vec<u32>, Vec<f64>) {
    let mut idx = Vec::with_capacity(m * k);
    let mut dist = Vec::with_capacity(m * k);
    for i in 0..m {
        let mut all: Vec<(f64, usize)> = (0..n)
            .filter(|&j| !(exclude_self && j == i))
            .map(|j| {
                let mut s = 0.0f64;
                for t in 0..d {
                    let diff = q[i * d + t] as f64 - p[j * d + t] as f64;
                    s += diff * diff;
                }
                (s, j)
            })
            .collect();
        all.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for &(s, j) in all.iter().take(k) {
            idx.push(j as u32);
            dist.push(s);
        }
    }
    (idx, dist)
}

pub fn cooccurrence(indptr: &[u32], indices: &[u32], nf: usize) -> Vec<u32> {
    sae_geometry::compute::kernels::cooccurrence(indptr, indices, nf).expect("valid CSR")
}

/// A seeded LCG with values in [-1, 1].
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    pub fn uniform(&mut self) -> f32 {
        (self.next_u32() as f64 / (1u64 << 31) as f64 * 2.0 - 1.0) as f32
    }
    pub fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.uniform()).collect()
    }
}
