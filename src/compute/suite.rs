//! The kernel suite: every GPU kernel against its CPU oracle ([`super::kernels`]) on random and
//! real inputs, timed on both backends. `Check` runs small shapes chosen to need several tiles and
//! to be no multiple of the workgroup tile (the browser tests assert every row passed); `Bench`
//! runs larger shapes and reports GFLOP/s (the benchmark panel, and `sae-geometry bench kernels`).

use super::gpu::{CooccurrenceMethod, GpuContext, GpuError};
use super::backend::{KernelRow, SuiteMode};
use super::kernels;
use crate::matrix::Matrix;

/// A seeded LCG in `[-1, 1)`: the suite's random inputs (the same on every backend and run).
pub fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

/// A seeded random `n x d` matrix with entries in `[-1, 1)` (the suite's decoder-shaped input).
pub fn random_matrix(n: usize, d: usize, seed: u64) -> Matrix {
    Matrix::new(n, d, random(n * d, seed)).expect("n x d values")
}

/// Random CSR firings: `chunks` chunks of about `per_chunk` distinct ascending features.
fn random_firings(chunks: usize, n_features: usize, per_chunk: usize, seed: u64) -> (Vec<u32>, Vec<u32>) {
    let u = random(chunks * per_chunk, seed);
    let mut indptr = vec![0u32];
    let mut indices = Vec::with_capacity(chunks * per_chunk);
    for c in 0..chunks {
        let mut f: Vec<u32> = u[c * per_chunk..(c + 1) * per_chunk]
            .iter()
            .map(|&v| (((v as f64 + 1.0) / 2.0 * n_features as f64) as usize).min(n_features - 1) as u32)
            .collect();
        f.sort_unstable();
        f.dedup();
        indices.extend_from_slice(&f);
        indptr.push(indices.len() as u32);
    }
    (indptr, indices)
}

/// Milliseconds from an arbitrary origin (the worker's `performance.now()`, natively `Instant`).
pub fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        js_sys::global()
            .dyn_into::<web_sys::WorkerGlobalScope>()
            .ok()
            .and_then(|s| s.performance())
            .map_or_else(js_sys::Date::now, |p| p.now())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1e3
    }
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0f64, |m, x| m.max(x.abs()))
}

/// `max |gpu - cpu| / max |cpu|`.
fn relative_error(gpu: &[f32], cpu: &[f64]) -> f64 {
    let scale = max_abs(cpu).max(f64::MIN_POSITIVE);
    gpu.iter().zip(cpu).fold(0f64, |m, (&g, &c)| m.max((g as f64 - c).abs())) / scale
}

fn shape2(a: usize, b: usize) -> String {
    format!("{a} x {b}")
}

/// Runs `f` on the GPU, timing it; the error becomes the row's `gpu_error`.
async fn timed<T, F: std::future::Future<Output = Result<T, GpuError>>>(f: F) -> (f64, Result<T, GpuError>) {
    let t0 = now_ms();
    let r = f.await;
    (now_ms() - t0, r)
}

fn timed_cpu<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t0 = now_ms();
    let r = f();
    (now_ms() - t0, r)
}

/// A row from both runs; `error` compares the GPU result with the CPU one.
#[allow(clippy::too_many_arguments)]
fn row<T>(
    kernel: &str,
    shape: String,
    input: &str,
    work: f64,
    unit: &str,
    cpu_ms: f64,
    gpu: Option<(f64, Result<T, GpuError>)>,
    tolerance: f64,
    error: impl FnOnce(&T) -> (f64, bool),
) -> KernelRow {
    let (gpu_ms, max_error, passed, gpu_error) = match gpu {
        None => (None, None, None, None),
        Some((ms, Ok(v))) => {
            let (e, extra_ok) = error(&v);
            (Some(ms), Some(e), Some(e <= tolerance && extra_ok), None)
        }
        Some((_, Err(e))) => (None, None, Some(false), Some(e.to_string())),
    };
    KernelRow {
        kernel: kernel.into(),
        shape,
        input: input.into(),
        work,
        unit: unit.into(),
        cpu_ms,
        gpu_ms,
        max_error,
        tolerance,
        passed,
        gpu_error,
    }
}

/// Tolerance of the `f32`-accumulated products against the `f64` oracle, relative to the largest
/// entry (sums of up to a few thousand terms of random sign: ~1e-6 seen).
pub const PRODUCT_TOLERANCE: f64 = 1e-4;
/// Tolerance of the GPU neighbour distances, relative to each row's k-th distance.
pub const NEAREST_TOLERANCE: f64 = 1e-3;

async fn gram_columns_row(gpu: Option<&GpuContext>, x: &[f32], n: usize, d: usize, input: &str) -> KernelRow {
    let (cpu_ms, reference) = timed_cpu(|| kernels::gram_columns(x, n, d));
    let g = match gpu {
        Some(g) => Some(timed(g.gram_columns(x, n, d)).await),
        None => None,
    };
    let work = 2.0 * n as f64 * (d * d) as f64;
    row("gram_columns", shape2(n, d), input, work, "GFLOP/s", cpu_ms, g, PRODUCT_TOLERANCE, |v: &Vec<f32>| {
        (relative_error(v, &reference), true)
    })
}

/// The Gram kernel alone on a resident matrix (no upload, no readback: ten dispatches in one
/// submission), beside the CPU time of the same product scaled from `full` (the row of the whole
/// `gram_columns` call). `work` counts the full `2 n d^2`; the kernel computes only the tiles on
/// and above the diagonal (about half).
async fn gram_kernel_row(gpu: Option<&GpuContext>, x: &[f32], n: usize, d: usize, full: &KernelRow) -> KernelRow {
    let work = 2.0 * n as f64 * (d * d) as f64;
    let cpu_ms = full.cpu_ms * work / full.work;
    let g = match gpu {
        Some(g) => Some(g.gram_columns_kernel_ms(&x[..n * d], n, d, 10, now_ms).await.map(|ms| (ms, ()))),
        None => None,
    };
    let (gpu_ms, passed, gpu_error) = match g {
        None => (None, None, None),
        Some(Ok((ms, ()))) => (Some(ms), None, None),
        Some(Err(e)) => (None, Some(false), Some(e.to_string())),
    };
    KernelRow {
        kernel: "gram_kernel".into(),
        shape: format!("{n} x {d}, resident, kernel only"),
        input: full.input.clone(),
        work,
        unit: "GFLOP/s".into(),
        cpu_ms,
        gpu_ms,
        max_error: None,
        tolerance: 0.0,
        passed,
        gpu_error,
    }
}

async fn gram_rows_row(gpu: Option<&GpuContext>, x: &[f32], n: usize, d: usize, input: &str) -> KernelRow {
    let (cpu_ms, reference) = timed_cpu(|| kernels::gram_rows(x, n, d));
    let g = match gpu {
        Some(g) => Some(timed(g.gram_rows(x, n, d)).await),
        None => None,
    };
    let work = 2.0 * (n * n) as f64 * d as f64;
    row("gram_rows", shape2(n, d), input, work, "GFLOP/s", cpu_ms, g, PRODUCT_TOLERANCE, |v: &Vec<f32>| {
        (relative_error(v, &reference), true)
    })
}

async fn matmul_row(gpu: Option<&GpuContext>, (m, k, n): (usize, usize, usize), seed: u64) -> KernelRow {
    let (a, b) = (random(m * k, seed), random(k * n, seed + 1));
    let (cpu_ms, reference) = timed_cpu(|| kernels::matmul(&a, &b, m, k, n));
    let g = match gpu {
        Some(g) => Some(timed(g.matmul(&a, &b, m, k, n)).await),
        None => None,
    };
    let work = 2.0 * (m * k) as f64 * n as f64;
    let shape = format!("{m} x {k} x {n}");
    let input = format!("random (seed {seed})");
    row("matmul", shape, &input, work, "GFLOP/s", cpu_ms, g, PRODUCT_TOLERANCE, |v: &Vec<f32>| {
        (relative_error(v, &reference), true)
    })
}

/// A resident `n x n` matrix times a block of `b` vectors, `repeats` times (a Lanczos / block
/// power iteration's pattern): the upload is paid once.
async fn matrix_product_row(gpu: Option<&GpuContext>, n: usize, b: usize, repeats: usize, seed: u64) -> KernelRow {
    let (a, x) = (random(n * n, seed), random(n * b, seed + 1));
    let (cpu_ms, reference) = timed_cpu(|| {
        let mut r = Vec::new();
        for _ in 0..repeats {
            r = kernels::matmul(&a, &x, n, n, b);
        }
        r
    });
    let g = match gpu {
        Some(g) => Some(
            timed(async {
                let resident = g.upload_matrix(&a, n, n)?;
                let mut r = Vec::new();
                for _ in 0..repeats {
                    r = g.matrix_product(&resident, &x, b).await?;
                }
                Ok(r)
            })
            .await,
        ),
        None => None,
    };
    let work = 2.0 * (n * n) as f64 * (b * repeats) as f64;
    let shape = format!("{n} x {n} times {n} x {b}, {repeats} times");
    let input = format!("random (seed {seed})");
    row("matrix_product", shape, &input, work, "GFLOP/s", cpu_ms, g, PRODUCT_TOLERANCE, |v: &Vec<f32>| {
        (relative_error(v, &reference), true)
    })
}

/// A resident `n x n` matrix times one vector, `repeats` times, each product read back (the
/// pattern of the spectral embedding's Lanczos): the CPU's is the f64-accumulating product the
/// CPU Lanczos uses ([`crate::geometry::spectral::symmetric_matvec`], threaded).
async fn matvec_row(gpu: Option<&GpuContext>, n: usize, repeats: usize, seed: u64, input_note: &str) -> KernelRow {
    let a = random(n * n, seed);
    let v: Vec<f64> = random(n, seed + 1).into_iter().map(f64::from).collect();
    let (cpu_ms, reference) = timed_cpu(|| {
        let mut out = vec![0f64; n];
        for _ in 0..repeats {
            crate::geometry::spectral::symmetric_matvec(&a, n, &v, &mut out);
        }
        out
    });
    let g = match gpu {
        Some(g) => Some(
            timed(async {
                let resident = g.upload_matrix(&a, n, n)?;
                let mut r = Vec::new();
                for _ in 0..repeats {
                    r = g.matvec(&resident, &v).await?;
                }
                Ok(r)
            })
            .await,
        ),
        None => None,
    };
    let work = 2.0 * (n * n) as f64 * repeats as f64;
    let shape = format!("{n} x {n} times a vector, {repeats} times");
    let input = format!("random (seed {seed}){input_note}");
    row("matvec", shape, &input, work, "GFLOP/s", cpu_ms, g, PRODUCT_TOLERANCE, |y: &Vec<f64>| {
        let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect();
        (relative_error(&y32, &reference), true)
    })
}

async fn nearest_row(gpu: Option<&GpuContext>, x: &[f32], n: usize, d: usize, k: usize, input: &str) -> KernelRow {
    let (cpu_ms, (index, distance)) = timed_cpu(|| kernels::nearest_neighbours(x, n, d, k));
    let g = match gpu {
        Some(g) => Some(timed(g.nearest(x, n, x, n, d, k, true)).await),
        None => None,
    };
    // Distance computations (3 flops per coordinate, as the Gram trick's 2 plus the norms).
    let work = 2.0 * (n * n) as f64 * d as f64;
    row("nearest", format!("{n} x {d}, k = {k}"), input, work, "GFLOP/s", cpu_ms, g, NEAREST_TOLERANCE, |(gi, gd): &(Vec<u32>, Vec<f32>)| {
        let mut worst = 0f64;
        let mut sets_ok = true;
        for i in 0..n {
            let cpu_d = &distance[i * k..(i + 1) * k];
            let kth = cpu_d[k - 1].max(f64::MIN_POSITIVE);
            for t in 0..k {
                let gpu_dist = (gd[i * k + t].max(0.0) as f64).sqrt();
                worst = worst.max((gpu_dist - cpu_d[t]).abs() / kth);
            }
            let mut a: Vec<u32> = index[i * k..(i + 1) * k].to_vec();
            let mut b: Vec<u32> = gi[i * k..(i + 1) * k].to_vec();
            a.sort_unstable();
            b.sort_unstable();
            // Different neighbours are fine only at a near-tie with the k-th distance.
            if a != b {
                let gkth = (gd[i * k + k - 1].max(0.0) as f64).sqrt();
                if (gkth - cpu_d[k - 1]).abs() > NEAREST_TOLERANCE * kth {
                    sets_ok = false;
                }
            }
        }
        (worst, sets_ok)
    })
}

/// The co-occurrence histogram of random firings (`per_chunk` draws per chunk) by `method`
/// (the kernel column names it: `cooccurrence` by pairs, `cooccurrence_bitsets` by bitsets).
/// Work: the pair increments, sum over chunks of len^2, whichever kernel counts them.
async fn cooccurrence_row(
    gpu: Option<&GpuContext>,
    method: CooccurrenceMethod,
    (chunks, n_features, per_chunk): (usize, usize, usize),
    seed: u64,
) -> KernelRow {
    let (indptr, indices) = random_firings(chunks, n_features, per_chunk, seed);
    let (cpu_ms, reference) = timed_cpu(|| kernels::cooccurrence(&indptr, &indices, n_features));
    let reference = reference.expect("the suite's firings are valid CSR");
    let g = match gpu {
        Some(g) => Some(timed(g.cooccurrence_by(method, &indptr, &indices, n_features)).await),
        None => None,
    };
    let work: f64 = indptr.windows(2).map(|w| ((w[1] - w[0]) as f64).powi(2)).sum();
    let shape = format!("{n_features} features, {chunks} chunks, {} firings", indices.len());
    let input = format!("random (seed {seed})");
    let kernel = if method == CooccurrenceMethod::Bitsets { "cooccurrence_bitsets" } else { "cooccurrence" };
    row(kernel, shape, &input, work, "G increments/s", cpu_ms, g, 0.0, |v: &Vec<u32>| {
        (v.iter().zip(&reference).filter(|(a, b)| a != b).count() as f64, v.len() == reference.len())
    })
}

/// The silhouette's per-cluster distance sums of `x` (`n x d`) in `clusters` runs of sizes
/// rising 1, 2, ... times a unit (the last takes the rest): clusters of unequal sizes, boundaries
/// off the workgroup tiles. Work: `n^2 (3 d + 1)` (a difference, a multiply-add, a square root).
async fn cluster_sums_row(gpu: Option<&GpuContext>, x: &[f32], n: usize, d: usize, clusters: usize, input: &str) -> KernelRow {
    let unit = (2 * n / (clusters * (clusters + 1))).max(1);
    let mut starts: Vec<u32> = (0..clusters).map(|c| (unit * c * (c + 1) / 2).min(n) as u32).collect();
    starts.push(n as u32);
    let (cpu_ms, reference) = timed_cpu(|| kernels::cluster_distance_sums(x, n, d, &starts));
    let reference = reference.expect("the suite's clusters number 2 to n - 1");
    let g = match gpu {
        Some(g) => Some(timed(g.cluster_distance_sums(x, n, d, &starts)).await),
        None => None,
    };
    let work = (n * n) as f64 * (3 * d + 1) as f64;
    let shape = format!("{n} x {d}, {clusters} clusters");
    row("cluster_sums", shape, input, work, "GFLOP/s", cpu_ms, g, PRODUCT_TOLERANCE, |v: &Vec<f32>| {
        let scale = max_abs(&reference).max(f64::MIN_POSITIVE);
        (v.iter().zip(&reference).fold(0f64, |m, (&a, b)| m.max((a as f64 - b).abs())) / scale, v.len() == reference.len())
    })
}

async fn covariance_row(gpu: Option<&GpuContext>, m: &Matrix, input: &str) -> KernelRow {
    let (n, d) = (m.rows(), m.cols());
    let (cpu_ms, reference) = timed_cpu(|| super::cpu::covariance(m, &mut |_| {}));
    let g = match gpu {
        Some(g) => {
            let t0 = now_ms();
            let r = super::offload::covariance(g, m, &mut |_| {}).await;
            Some((now_ms() - t0, r))
        }
        None => None,
    };
    let work = 2.0 * n as f64 * (d * d) as f64;
    row("covariance", shape2(n, d), input, work, "GFLOP/s", cpu_ms, g, PRODUCT_TOLERANCE, |v: &Vec<f64>| {
        let scale = max_abs(&reference).max(f64::MIN_POSITIVE);
        (v.iter().zip(&reference).fold(0f64, |m, (a, b)| m.max((a - b).abs())) / scale, true)
    })
}

/// The first `rows` rows of `m` (all when it has fewer).
fn head(m: &Matrix, rows: usize) -> (Vec<f32>, usize) {
    let rows = rows.min(m.rows());
    (m.as_slice()[..rows * m.cols()].to_vec(), rows)
}

/// Runs the suite: each kernel on the CPU and, when `gpu` is given, on the GPU. `real` (a decoder
/// matrix and its name) adds rows on real data. In `Check` mode the GPU's tile limit is lowered
/// for some rows so that several tiles are needed. `progress(fraction)` after each row.
pub async fn run_suite(
    gpu: Option<&GpuContext>,
    mode: SuiteMode,
    real: Option<(&Matrix, &str)>,
    progress: &mut dyn FnMut(f64),
) -> Vec<KernelRow> {
    // One tiny call per pipeline first, so that no row pays for the driver's first dispatch.
    if let Some(g) = gpu {
        let x = random(64 * 8, 99);
        let _ = g.gram_columns(&x, 64, 8).await;
        let _ = g.nearest(&x, 64, &x, 64, 8, 2, true).await;
        let _ = g.cooccurrence_by(CooccurrenceMethod::Pairs, &[0, 2], &[0, 1], 2).await;
        let _ = g.cooccurrence_by(CooccurrenceMethod::Bitsets, &[0, 2], &[0, 1], 2).await;
    }
    let mut rows = Vec::new();
    let total = match (mode, real.is_some()) {
        (SuiteMode::Check, with_real) => 17.0 + if with_real { 3.0 } else { 0.0 },
        (_, with_real) => 10.0 + if with_real { 2.0 } else { 1.0 },
    };
    let mut step = |rows: &mut Vec<KernelRow>, r: KernelRow| {
        rows.push(r);
        progress(rows.len() as f64 / total);
    };
    match mode {
        SuiteMode::Check => {
            let x = random(1000 * 77, 1);
            step(&mut rows, gram_columns_row(gpu, &x, 1000, 77, "random (seed 1)").await);
            step(&mut rows, gram_rows_row(gpu, &x[..130 * 77], 130, 77, "random (seed 1)").await);
            step(&mut rows, matmul_row(gpu, (37, 129, 65), 2).await);
            step(&mut rows, matrix_product_row(gpu, 300, 7, 3, 3).await);
            step(&mut rows, matvec_row(gpu, 517, 3, 8, "").await);
            let p = random(700 * 50, 4);
            step(&mut rows, nearest_row(gpu, &p, 700, 50, 10, "random (seed 4)").await);
            step(&mut rows, cooccurrence_row(gpu, CooccurrenceMethod::Pairs, (500, 301, 20), 5).await);
            step(&mut rows, cooccurrence_row(gpu, CooccurrenceMethod::Bitsets, (700, 201, 150), 5).await);
            step(&mut rows, cluster_sums_row(gpu, &p[..700 * 33], 700, 33, 7, "random (seed 4)").await);
            // The same kernels with a tile limit of 64 KiB, on shapes whose tiled operand needs
            // several tiles (rows of X; rows of X X^T; rows of A and C; query blocks; rows of H)
            // while the operands each kernel keeps whole (X^T X, X, B, the points) fit in one.
            if let Some(g) = gpu {
                g.limit_tiles_for_tests(Some(64 * 1024));
            }
            let tiled_input = "random (seed 6), 64 KiB tiles";
            let y = random(1000 * 100, 6);
            step(&mut rows, tiled(gram_columns_row(gpu, &y[..513 * 100], 513, 100, tiled_input).await));
            step(&mut rows, tiled(gram_rows_row(gpu, &y[..200 * 70], 200, 70, tiled_input).await));
            step(&mut rows, tiled(matmul_row(gpu, (1000, 20, 33), 8).await));
            // 31-row blocks of the matrix (517 x 4 bytes a row).
            step(&mut rows, tiled(matvec_row(gpu, 517, 2, 9, ", 64 KiB tiles").await));
            step(&mut rows, tiled(nearest_row(gpu, &y[..513 * 30], 513, 30, 5, tiled_input).await));
            step(&mut rows, tiled(cooccurrence_row(gpu, CooccurrenceMethod::Pairs, (400, 257, 30), 7).await));
            // 63-row blocks of H (not a multiple of the 64-row tile) and two word blocks.
            step(&mut rows, tiled(cooccurrence_row(gpu, CooccurrenceMethod::Bitsets, (2100, 257, 100), 7).await));
            // 27-row blocks of distances (600 x 4 bytes a row).
            step(&mut rows, tiled(cluster_sums_row(gpu, &y[..600 * 20], 600, 20, 5, tiled_input).await));
            if let Some(g) = gpu {
                g.limit_tiles_for_tests(None);
            }
            if let Some((m, name)) = real {
                let input = format!("real: {name}");
                step(&mut rows, covariance_row(gpu, m, &input).await);
                let (x, n) = head(m, 1500);
                step(&mut rows, nearest_row(gpu, &x, n, m.cols(), 5, &input).await);
                step(&mut rows, cluster_sums_row(gpu, &x, n, m.cols(), 9, &input).await);
            }
        }
        SuiteMode::Bench | SuiteMode::Paper => {
            let paper = mode == SuiteMode::Paper;
            let (n, d) = if paper { (16384, 2304) } else { (4096, 768) };
            let x = random(n * d, 11);
            let gram = gram_columns_row(gpu, &x, n, d, "random (seed 11)").await;
            let kernel = gram_kernel_row(gpu, &x, n.min(8192), d, &gram).await;
            step(&mut rows, gram);
            step(&mut rows, kernel);
            let gr = if paper { 4096 } else { 2048 };
            step(&mut rows, gram_rows_row(gpu, &x[..gr * d], gr, d, "random (seed 11)").await);
            drop(x);
            let mm = if paper { 4096 } else { 1024 };
            step(&mut rows, matmul_row(gpu, (mm, mm, mm), 12).await);
            let mp = if paper { 16384 } else { 2048 };
            step(&mut rows, matrix_product_row(gpu, mp, 8, 10, 13).await);
            step(&mut rows, matvec_row(gpu, mp, 10, 19, "").await);
            let p = random(5000 * 100, 14);
            step(&mut rows, nearest_row(gpu, &p, 5000, 100, 10, "random (seed 14)").await);
            let (f, c) = if paper { (16384, 20000) } else { (4096, 20000) };
            step(&mut rows, cooccurrence_row(gpu, CooccurrenceMethod::Pairs, (c, f, 50), 15).await);
            // The silhouette of the paper's crystal set: 18,941 difference vectors (MiniLM's d = 384
            // here; d = 2304 in the paper's Gemma), 18 tasks.
            let (sn, sd) = if paper { (18941, 2304) } else { (4000, 384) };
            let sx = random(sn * sd, 18);
            step(&mut rows, cluster_sums_row(gpu, &sx, sn, sd, 18, "random (seed 18)").await);
            drop(sx);
            // Dense firings, as in the bundled MiniLM chunks (about half the features per chunk).
            let dense = if paper { (20000, 16384, 1000) } else { (2702, 4096, 3000) };
            step(&mut rows, cooccurrence_row(gpu, CooccurrenceMethod::Bitsets, dense, 17).await);
            if let Some((m, name)) = real {
                let input = format!("real: {name}");
                step(&mut rows, covariance_row(gpu, m, &input).await);
                let (x, n) = head(m, 5000);
                step(&mut rows, nearest_row(gpu, &x, n, m.cols(), 10, &input).await);
            } else {
                let cloud = random_matrix(n, d, 16);
                step(&mut rows, covariance_row(gpu, &cloud, "random (seed 16)").await);
            }
        }
    }
    rows
}

fn tiled(mut r: KernelRow) -> KernelRow {
    r.shape.push_str(" (tiled)");
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_inputs_are_reproducible_and_in_range() {
        let a = random(1000, 3);
        assert_eq!(a, random(1000, 3));
        assert!(a.iter().all(|v| (-1.0..1.0).contains(v)));
        let (indptr, indices) = random_firings(50, 40, 10, 1);
        assert!(kernels::csr_chunks(&indptr, &indices).is_ok());
        assert!(indices.iter().all(|&f| f < 40));
    }
}
