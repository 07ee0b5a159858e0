//! CPU references with f64 accumulation (used by the tests).

pub fn gram_columns(x: &[f32], n: usize, d: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; d * d];
    for r in 0..n {
        let row = &x[r * d..(r + 1) * d];
        for i in 0..d {
            let xi = row[i] as f64;
            if xi == 0.0 {
                continue;
            }
            let ci = &mut c[i * d..(i + 1) * d];
            for j in 0..d {
                ci[j] += xi * row[j] as f64;
            }
        }
    }
    c
}

pub fn gram_rows(x: &[f32], n: usize, d: usize) -> Vec<f64> {
    let mut g = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut s = 0.0f64;
            for t in 0..d {
                s += x[i * d + t] as f64 * x[j * d + t] as f64;
            }
            g[i * n + j] = s;
        }
    }
    g
}

pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; m * n];
    for i in 0..m {
        for t in 0..k {
            let av = a[i * k + t] as f64;
            for j in 0..n {
                c[i * n + j] += av * b[t * n + j] as f64;
            }
        }
    }
    c
}

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
    let mut h = vec![0u32; nf * nf];
    for c in 0..indptr.len().saturating_sub(1) {
        let ch = &indices[indptr[c] as usize..indptr[c + 1] as usize];
        for &i in ch {
            for &j in ch {
                h[i as usize * nf + j as usize] += 1;
            }
        }
    }
    h
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
