//! Benchmark of the TopK SAE trainer on a realistic stand-in for MiniLM residuals (or on a real
//! `.npy` of activations).
//!
//! ```text
//! cargo run --release --example sae_train -- [--npy FILE] [--rows N] [--epochs E] [--batch B]
//!     [--lr LR] [--k K] [--features F] [--threads T] [--seed S] [--dead TOKENS] [--aux-k A]
//! ```
//!
//! Without `--npy` the data are synthetic (seeded): d = 384, a mean with a few outlier
//! dimensions, a sparse part (on average ~40 of 16384 random unit atoms per token, Zipf-like
//! frequencies, exponential coefficients) and a dense Gaussian part with a power-law spectrum.
//! Prints the time per epoch and the final FVU / L0 / dead latents (on the training rows and on
//! 20k held-out rows).

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};
use sae_geometry::sae::{train_topk, TopKConfig};
use sae_geometry::Matrix;

fn unit(rng: &mut ChaCha8Rng, d: usize) -> Vec<f32> {
    let v: Vec<f32> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
    let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.into_iter().map(|a| a / n).collect()
}

fn stand_in(n: usize, seed: u64) -> Matrix {
    let d = 384;
    let atoms_n = 16384;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut mean: Vec<f32> = (0..d)
        .map(|_| 0.3 * rng.sample::<f32, _>(StandardNormal))
        .collect();
    for (p, big) in [(17usize, 8.0f32), (101, -6.0), (290, 5.0)] {
        mean[p] = big;
    }
    let atoms: Vec<Vec<f32>> = (0..atoms_n).map(|_| unit(&mut rng, d)).collect();
    let scale: Vec<f32> = (0..atoms_n).map(|_| 0.5 + rng.random::<f32>() * 1.5).collect();
    // Zipf-like frequencies, ~40 active atoms per token on average.
    let w: Vec<f64> = (0..atoms_n).map(|i| 1.0 / (i as f64 + 10.0).powf(0.8)).collect();
    let total: f64 = w.iter().sum();
    let mut cdf = Vec::with_capacity(atoms_n);
    let mut acc = 0.0;
    for v in &w {
        acc += v / total;
        cdf.push(acc);
    }
    // Dense part: g * diag(sqrt(lambda)) * Q, lambda_i ~ 1/i, Q a random (non-orthogonal) basis.
    let basis: Vec<f32> = (0..d)
        .flat_map(|i| {
            let s = (0.15 / (i as f32 + 1.0)).sqrt();
            unit(&mut rng, d).into_iter().map(move |v| v * s)
        })
        .collect();
    let mut data = vec![0f32; n * d];
    let mut g = vec![0f32; 1024 * d];
    for (b, chunk) in data.chunks_mut(1024 * d).enumerate() {
        let rows = chunk.len() / d;
        let mut brng = ChaCha8Rng::seed_from_u64(seed ^ (b as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for v in g[..rows * d].iter_mut() {
            *v = StandardNormal.sample(&mut brng);
        }
        unsafe {
            matrixmultiply::sgemm(
                rows,
                d,
                d,
                1.0,
                g.as_ptr(),
                d as isize,
                1,
                basis.as_ptr(),
                d as isize,
                1,
                0.0,
                chunk.as_mut_ptr(),
                d as isize,
                1,
            );
        }
        for row in chunk.chunks_exact_mut(d) {
            for (o, m) in row.iter_mut().zip(&mean) {
                *o += m;
            }
            let active = 20 + (brng.random::<f32>() * 40.0) as usize;
            for _ in 0..active {
                let u: f64 = brng.random();
                let a = cdf.partition_point(|&c| c < u).min(atoms_n - 1);
                let c = scale[a] * brng.sample::<f32, _>(Exp1);
                for (o, v) in row.iter_mut().zip(&atoms[a]) {
                    *o += c * v;
                }
            }
        }
    }
    Matrix::new(n, d, data).unwrap()
}

/// CPU seconds (user + system) used by this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    if f.len() < 13 {
        return 0.0;
    }
    (f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| args.iter().position(|a| a == name).map(|i| args[i + 1].clone());
    let mut config = TopKConfig::default();
    let rows: usize = get("--rows").map_or(700_000, |v| v.parse().unwrap());
    let holdout = 20_000usize;
    if let Some(v) = get("--epochs") {
        config.epochs = v.parse().unwrap();
    }
    if let Some(v) = get("--batch") {
        config.batch_size = v.parse().unwrap();
    }
    if let Some(v) = get("--lr") {
        config.learning_rate = v.parse().unwrap();
    }
    if let Some(v) = get("--k") {
        config.k = v.parse().unwrap();
    }
    if let Some(v) = get("--features") {
        config.n_features = v.parse().unwrap();
    }
    if let Some(v) = get("--threads") {
        config.threads = v.parse().unwrap();
    }
    if let Some(v) = get("--seed") {
        config.seed = v.parse().unwrap();
    }
    if let Some(v) = get("--dead") {
        config.dead_after_tokens = v.parse().unwrap();
    }
    if let Some(v) = get("--aux-k") {
        config.aux_k = v.parse().unwrap();
    }

    let t0 = Instant::now();
    let all = if let Some(path) = get("--npy") {
        let bytes = std::fs::read(&path).unwrap();
        let array = sae_geometry::formats::npy::read(&bytes).unwrap();
        let (n, d) = (array.shape[0], array.shape[1]);
        let v = array.into_f32_vec();
        let n = n.min(rows + holdout);
        Matrix::new(n, d, v[..n * d].to_vec()).unwrap()
    } else {
        stand_in(rows + holdout, 42)
    };
    let d = all.cols();
    let n_train = all.rows() - holdout.min(all.rows() / 10);
    let train = Matrix::new(n_train, d, all.as_slice()[..n_train * d].to_vec()).unwrap();
    let test = Matrix::new(all.rows() - n_train, d, all.as_slice()[n_train * d..].to_vec()).unwrap();
    drop(all);
    eprintln!(
        "data: {} train + {} held-out rows x {d} ({:.1} s); config {config:?}",
        train.rows(),
        test.rows(),
        t0.elapsed().as_secs_f64()
    );

    let t1 = Instant::now();
    let c1 = cpu_seconds();
    let mut last_epoch_end = Instant::now();
    let mut epoch_times = Vec::new();
    let mut last_msg = String::new();
    let sae = train_topk(&train, &config, &mut |msg, _| {
        // "epoch e/E step s/S: ..." -> an epoch ends when s == S.
        if let Some(rest) = msg.split("step ").nth(1) {
            let s: Vec<&str> = rest.split(':').next().unwrap().split('/').collect();
            if s.len() == 2 && s[0] == s[1] {
                let dt = last_epoch_end.elapsed().as_secs_f64();
                last_epoch_end = Instant::now();
                epoch_times.push(dt);
                eprintln!("{msg}  [{dt:.1} s]");
            }
        }
        last_msg = msg.to_string();
    })
    .unwrap();
    let train_s = t1.elapsed().as_secs_f64();
    let train_cpu = cpu_seconds() - c1;
    let t2 = Instant::now();
    let m_train = sae.metrics(&train);
    let m_test = sae.metrics(&test);
    let metrics_cpu = cpu_seconds() - c1 - train_cpu;
    eprintln!(
        "trained in {train_s:.1} s wall, {train_cpu:.1} s CPU ({:.1} s wall/epoch); metrics in {:.1} s wall, \
         {metrics_cpu:.1} s CPU\ntrain: {m_train:?}\nheld-out: {m_test:?}\ninput_scale {}",
        train_s / config.epochs as f64,
        t2.elapsed().as_secs_f64(),
        sae.input_scale
    );
}
