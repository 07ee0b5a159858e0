//! The GPU kernels (src/compute/gpu) against f64 references, natively through wgpu on whatever
//! Vulkan/Metal adapter there is (Mesa's lavapipe on a machine without a GPU). Only with
//! `--features gpu` (`cargo test --release --features gpu --test gpu_kernels`); the browser test
//! (tests/e2e, step 11) checks the same kernels on WebGPU in every run of the test command.
#![cfg(feature = "gpu")]

#[path = "gpu/reference.rs"]
mod reference;

use reference as r;
use reference::Lcg;
use sae_geometry::compute::gpu::{CooccurrenceMethod, GpuContext, GpuError};
use pollster::block_on;

fn ctx() -> GpuContext {
    let c = block_on(GpuContext::new()).expect("a GPU adapter");
    eprintln!(
        "adapter: {} (max binding {} bytes)",
        c.adapter_name(),
        c.max_binding_bytes()
    );
    c
}

fn capped(bytes: u64) -> GpuContext {
    let c = ctx();
    c.limit_tiles_for_tests(Some(bytes));
    c
}

/// max abs error / max |reference|
fn rel_err(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    assert!(
        got.iter().all(|v| v.is_finite()),
        "NaN or inf in the GPU result"
    );
    let scale = want.iter().fold(0.0f64, |a, &b| a.max(b.abs())).max(1e-30);
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |a, (&g, &w)| a.max((g as f64 - w).abs()));
    err / scale
}

fn check_gram_columns(c: &GpuContext, n: usize, d: usize, seed: u64) {
    let x = Lcg(seed).vec(n * d);
    let got = block_on(c.gram_columns(&x, n, d)).unwrap();
    let e = rel_err(&got, &r::gram_columns(&x, n, d));
    eprintln!("gram_columns n={n} d={d}: rel err {e:.3e}");
    assert!(e <= 1e-4, "gram_columns n={n} d={d}: {e}");
}

fn check_gram_rows(c: &GpuContext, n: usize, d: usize, seed: u64) {
    let x = Lcg(seed).vec(n * d);
    let got = block_on(c.gram_rows(&x, n, d)).unwrap();
    let e = rel_err(&got, &r::gram_rows(&x, n, d));
    eprintln!("gram_rows n={n} d={d}: rel err {e:.3e}");
    assert!(e <= 1e-4, "gram_rows n={n} d={d}: {e}");
}

fn check_matmul(c: &GpuContext, m: usize, k: usize, n: usize, seed: u64) {
    let mut g = Lcg(seed);
    let a = g.vec(m * k);
    let b = g.vec(k * n);
    let got = block_on(c.matmul(&a, &b, m, k, n)).unwrap();
    let e = rel_err(&got, &r::matmul(&a, &b, m, k, n));
    eprintln!("matmul m={m} k={k} n={n}: rel err {e:.3e}");
    assert!(e <= 1e-4, "matmul {m} {k} {n}: {e}");
}

fn sqdist(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum()
}

#[allow(clippy::too_many_arguments)]
fn check_nearest(c: &GpuContext, m: usize, n: usize, d: usize, k: usize, excl: bool, seed: u64) {
    let mut g = Lcg(seed);
    let p = g.vec(n * d);
    let q = if excl { p.clone() } else { g.vec(m * d) };
    let (gi, gd) = block_on(c.nearest(&q, m, &p, n, d, k, excl)).unwrap();
    let (ri, rd) = r::nearest(&q, m, &p, n, d, k, excl);
    assert_eq!(gi.len(), m * k);
    assert_eq!(gd.len(), m * k);
    let mut worst = 0.0f64;
    let mut swaps = 0;
    for i in 0..m {
        let mut seen = std::collections::HashSet::new();
        for t in 0..k {
            let at = i * k + t;
            let (gj, gdv) = (gi[at] as usize, gd[at] as f64);
            assert!(gdv.is_finite());
            assert!(gj < n, "index out of range");
            assert!(!(excl && gj == i), "self returned");
            assert!(seen.insert(gj), "duplicate index");
            let tol = 1e-4 * rd[at].abs().max(1e-3);
            let err = (gdv - rd[at]).abs();
            worst = worst.max(err / rd[at].abs().max(1e-3));
            assert!(err <= tol, "row {i} pos {t}: distance {gdv} vs {}", rd[at]);
            if gj != ri[at] as usize {
                swaps += 1;
                let true_d = sqdist(&q[i * d..(i + 1) * d], &p[gj * d..(gj + 1) * d]);
                assert!(
                    (true_d - rd[at]).abs() <= tol,
                    "row {i} pos {t}: index {gj} (true dist {true_d}) vs {} ({})",
                    ri[at],
                    rd[at]
                );
            }
        }
    }
    eprintln!("nearest m={m} n={n} d={d} k={k} excl={excl}: worst rel dist err {worst:.3e}, near-tie swaps {swaps}");
}

fn random_chunks(nf: usize, chunks: usize, max_len: usize, seed: u64) -> (Vec<u32>, Vec<u32>) {
    let mut g = Lcg(seed);
    let mut indptr = vec![0u32];
    let mut indices = Vec::new();
    for _ in 0..chunks {
        let len = (g.next_u32() as usize) % (max_len + 1);
        let mut f: Vec<u32> = (0..len).map(|_| g.next_u32() % nf as u32).collect();
        f.sort_unstable();
        f.dedup();
        indices.extend_from_slice(&f);
        indptr.push(indices.len() as u32);
    }
    (indptr, indices)
}

fn check_cooc(c: &GpuContext, nf: usize, chunks: usize, max_len: usize, seed: u64) {
    let (ip, ix) = random_chunks(nf, chunks, max_len, seed);
    let want = r::cooccurrence(&ip, &ix, nf);
    for method in [CooccurrenceMethod::Pairs, CooccurrenceMethod::Bitsets, CooccurrenceMethod::Auto] {
        let got = block_on(c.cooccurrence_by(method, &ip, &ix, nf)).unwrap();
        assert!(got == want, "cooccurrence {method:?} nf={nf} chunks={chunks} differs");
    }
    eprintln!(
        "cooccurrence nf={nf} chunks={chunks}: exact by pairs and bitsets ({} firings, auto: {:?})",
        ix.len(),
        CooccurrenceMethod::choose(&ip, nf)
    );
}

#[test]
fn gram_columns_odd_sizes() {
    let c = ctx();
    check_gram_columns(&c, 1000, 77, 1);
    check_gram_columns(&c, 130, 300, 2);
    check_gram_columns(&c, 1, 1, 3);
    check_gram_columns(&c, 65, 64, 4);
}

#[test]
fn gram_columns_tiled() {
    // rows of 77 floats, about 100 rows per tile -> 10 tiles accumulated on the GPU
    let c = capped(77 * 4 * 100);
    check_gram_columns(&c, 1000, 77, 5);
    let c = capped(300 * 300 * 4);
    check_gram_columns(&c, 130, 300, 6); // 75 rows per tile
}

#[test]
fn gram_rows_odd_sizes_and_tiled() {
    let c = ctx();
    check_gram_rows(&c, 130, 300, 7);
    check_gram_rows(&c, 200, 20, 8);
    let c = capped(200 * 4 * 64); // 64-row blocks (symmetric skip)
    check_gram_rows(&c, 200, 20, 9);
    let c = capped(200 * 4 * 50); // 50-row blocks (no skip)
    check_gram_rows(&c, 200, 20, 10);
}

#[test]
fn matmul_odd_sizes_and_tiled() {
    let c = ctx();
    check_matmul(&c, 37, 129, 65, 11);
    check_matmul(&c, 64, 64, 64, 12);
    check_matmul(&c, 1, 300, 1, 13);
    let c = capped(4000); // A in 50-row blocks, output in 30-row blocks
    check_matmul(&c, 300, 20, 33, 14);
}

#[test]
fn matrix_product_repeated() {
    for cap in [0u64, 4000] {
        let c = capped(cap);
        let (rows, cols) = (300, 20);
        let mut g = Lcg(15);
        let a = g.vec(rows * cols);
        let m = c.upload_matrix(&a, rows, cols).unwrap();
        for it in 0..3 {
            let xc = 7 + it;
            let x = g.vec(cols * xc);
            let got = block_on(c.matrix_product(&m, &x, xc)).unwrap();
            let e = rel_err(&got, &r::matmul(&a, &x, rows, cols, xc));
            eprintln!("matrix_product cap={cap} it={it}: rel err {e:.3e}");
            assert!(e <= 1e-4);
        }
    }
}

#[test]
fn nearest_cases() {
    let c = ctx();
    check_nearest(&c, 300, 300, 17, 10, true, 16);
    check_nearest(&c, 37, 500, 33, 64, false, 17);
    check_nearest(&c, 5, 70, 3, 1, false, 18);
    check_nearest(&c, 65, 65, 129, 64, true, 19); // k == candidates
    let c = capped(500 * 4 * 16); // 16 query rows per block
    check_nearest(&c, 37, 500, 5, 20, false, 20);
    check_nearest(&c, 300, 300, 17, 10, true, 21);
}

#[test]
fn nearest_duplicates_tie_order() {
    // all points equal: ties everywhere, the lower index must come first
    let c = ctx();
    let p = vec![0.5f32; 50 * 4];
    let (idx, dist) = block_on(c.nearest(&p, 50, &p, 50, 4, 5, true)).unwrap();
    for i in 0..50 {
        let want: Vec<u32> = (0..50u32).filter(|&j| j != i as u32).take(5).collect();
        assert_eq!(&idx[i * 5..i * 5 + 5], &want[..]);
    }
    assert!(dist.iter().all(|&d| d == 0.0));
}

#[test]
fn cooccurrence_cases() {
    let c = ctx();
    check_cooc(&c, 150, 500, 40, 22);
    check_cooc(&c, 1000, 3000, 60, 23);
    check_cooc(&c, 1, 10, 3, 24);
    let c = capped(1000 * 4 * 30); // 30-row tiles
    check_cooc(&c, 1000, 1000, 40, 25);
    // Dense chunks (Auto picks bitsets); 50-row blocks of H (no multiple of the 64-row tile)
    // and word blocks of 50 words (4 of them for 5000 chunks).
    let c = ctx();
    check_cooc(&c, 300, 2000, 400, 26);
    let c = capped(300 * 4 * 50);
    check_cooc(&c, 300, 5000, 400, 27);
    check_cooc(&c, 65, 33, 60, 28);
}

#[test]
fn zero_sizes() {
    let c = ctx();
    assert_eq!(block_on(c.gram_columns(&[], 0, 5)).unwrap(), vec![0.0; 25]);
    assert!(block_on(c.gram_columns(&[], 5, 0)).unwrap().is_empty());
    assert!(block_on(c.gram_rows(&[], 0, 5)).unwrap().is_empty());
    assert_eq!(block_on(c.gram_rows(&[], 3, 0)).unwrap(), vec![0.0; 9]);
    assert_eq!(block_on(c.matmul(&[], &[], 2, 0, 3)).unwrap(), vec![0.0; 6]);
    assert!(block_on(c.matmul(&[], &[1.0; 4], 0, 2, 2))
        .unwrap()
        .is_empty());
    let (i, d) = block_on(c.nearest(&[], 0, &[1.0; 4], 2, 2, 1, false)).unwrap();
    assert!(i.is_empty() && d.is_empty());
    let (i, d) = block_on(c.nearest(&[], 3, &[], 3, 0, 2, true)).unwrap();
    assert_eq!(i, vec![1, 2, 0, 2, 0, 1]);
    assert_eq!(d, vec![0.0; 6]);
    assert!(block_on(c.cooccurrence(&[0], &[], 0)).unwrap().is_empty());
    assert_eq!(block_on(c.cooccurrence(&[0], &[], 3)).unwrap(), vec![0; 9]);
    assert_eq!(
        block_on(c.cooccurrence(&[0, 0, 0], &[], 2)).unwrap(),
        vec![0; 4]
    );
    let m = c.upload_matrix(&[], 0, 4).unwrap();
    assert!(block_on(c.matrix_product(&m, &[0.0; 8], 2))
        .unwrap()
        .is_empty());
}

#[test]
fn invalid_inputs() {
    let c = ctx();
    let v = |r: Result<_, GpuError>| matches!(r, Err(GpuError::Validation(_)));
    assert!(v(block_on(c.gram_columns(&[1.0; 5], 2, 3)).map(|_| ())));
    assert!(v(block_on(c.gram_rows(&[1.0; 5], 2, 3)).map(|_| ())));
    assert!(v(
        block_on(c.matmul(&[1.0; 6], &[1.0; 5], 2, 3, 2)).map(|_| ())
    ));
    let p = Lcg(1).vec(100 * 3);
    assert!(
        v(block_on(c.nearest(&p, 100, &p, 100, 3, 65, true)).map(|_| ())),
        "k > 64"
    );
    assert!(
        v(block_on(c.nearest(&p[..30], 10, &p[..30], 10, 3, 10, true)).map(|_| ())),
        "fewer candidates"
    );
    assert!(v(block_on(c.nearest(
        &p[..30],
        10,
        &p[..30],
        10,
        3,
        11,
        false
    ))
    .map(|_| ())));
    assert!(
        v(block_on(c.nearest(&p[..30], 10, &p, 100, 3, 5, true)).map(|_| ())),
        "excl m != n"
    );
    assert!(
        v(block_on(c.cooccurrence(&[0, 2], &[1, 5], 3)).map(|_| ())),
        "feature out of range"
    );
    assert!(
        v(block_on(c.cooccurrence(&[0, 2], &[2, 1], 3)).map(|_| ())),
        "not ascending"
    );
    assert!(
        v(block_on(c.cooccurrence(&[0, 3], &[0, 1], 3)).map(|_| ())),
        "bad indptr"
    );
    assert!(v(block_on(c.cooccurrence(&[], &[], 3)).map(|_| ())));
    assert!(v(c.upload_matrix(&[1.0; 3], 2, 2).map(|_| ())));
    let m = c.upload_matrix(&[1.0; 4], 2, 2).unwrap();
    assert!(v(block_on(c.matrix_product(&m, &[1.0; 3], 2)).map(|_| ())));
    // too large for the (capped) binding limit
    let c = capped(1024);
    assert!(matches!(
        block_on(c.gram_columns(&[0.0; 17 * 17], 17, 17)),
        Err(GpuError::TooLarge { .. })
    ));
    assert!(!c.is_lost());
}

/// Per-cluster distance sums against the CPU's (f64), clusters of sizes 1, 2, 3, ... units.
fn check_cluster_sums(c: &GpuContext, n: usize, d: usize, k: usize, seed: u64) {
    let x = Lcg(seed).vec(n * d);
    let unit = (2 * n / (k * (k + 1))).max(1);
    let mut starts: Vec<u32> = (0..k).map(|i| (unit * i * (i + 1) / 2).min(n) as u32).collect();
    starts.push(n as u32);
    let got = block_on(c.cluster_distance_sums(&x, n, d, &starts)).unwrap();
    let want = sae_geometry::compute::kernels::cluster_distance_sums(&x, n, d, &starts).unwrap();
    let e = rel_err(&got, &want);
    assert!(e < 1e-5, "cluster_distance_sums n={n} d={d} k={k}: rel err {e:.3e}");
    eprintln!("cluster_distance_sums n={n} d={d} k={k}: rel err {e:.3e}");
}

#[test]
fn cluster_sums_odd_sizes_and_tiled() {
    let c = ctx();
    check_cluster_sums(&c, 300, 17, 4, 41);
    check_cluster_sums(&c, 1000, 129, 9, 42);
    check_cluster_sums(&c, 65, 1, 2, 43);
    let c = capped(777 * 4 * 50); // 50-row blocks of distances
    check_cluster_sums(&c, 777, 33, 6, 44);
    // Bad offsets are refused, not read out of bounds.
    assert!(block_on(c.cluster_distance_sums(&[0.0; 6], 3, 2, &[0, 2])).is_err());
    assert!(block_on(c.cluster_distance_sums(&[0.0; 6], 3, 2, &[0, 2, 1, 3])).is_err());
}

/// The silhouette score with its sums on the GPU equals the CPU's (sklearn's golden files check
/// the CPU's) to 1e-5, on clustered data, whole and sampled.
#[test]
fn silhouette_score_on_the_gpu() {
    use sae_geometry::compute::offload;
    use sae_geometry::geometry::silhouette::{silhouette_score, silhouette_score_sampled};
    let c = ctx();
    let (n, d, k) = (1500, 48, 7);
    let mut g = Lcg(45);
    let centres: Vec<f64> = (0..k * d).map(|_| 3.0 * g.uniform() as f64).collect();
    let labels: Vec<usize> = (0..n).map(|i| (i * 7919) % k * 10).collect();
    let x: Vec<f64> = (0..n * d).map(|t| centres[labels[t / d] / 10 * d + t % d] + g.uniform() as f64).collect();
    let cpu = silhouette_score(&x, n, d, &labels, &mut |_| {}).unwrap();
    let gpu = block_on(offload::silhouette_score(&c, &x, n, d, &labels, None, 0)).unwrap();
    assert!((cpu - gpu).abs() < 1e-5, "silhouette {gpu} vs CPU {cpu}");
    let cpu_s = silhouette_score_sampled(&x, n, d, &labels, 400, 3, &mut |_| {}).unwrap();
    let gpu_s = block_on(offload::silhouette_score(&c, &x, n, d, &labels, Some(400), 3)).unwrap();
    assert!((cpu_s - gpu_s).abs() < 1e-5, "sampled silhouette {gpu_s} vs CPU {cpu_s}");
    eprintln!("silhouette: CPU {cpu} GPU {gpu}; sampled CPU {cpu_s} GPU {gpu_s}");
    // One label only: the same error as the CPU's.
    assert!(block_on(offload::silhouette_score(&c, &x, n, d, &vec![0; n], None, 0)).is_err());
}

/// A lost device (destroyed here, as a driver reset would) makes every kernel fail with
/// `DeviceLost`, never return numbers; the offloaded steps pass the error on for the CPU fallback.
#[test]
fn device_loss_is_an_error_not_a_number() {
    use sae_geometry::compute::offload::{self, OffloadError};
    let c = ctx();
    let x = Lcg(51).vec(64 * 8);
    assert!(block_on(c.gram_columns(&x, 64, 8)).is_ok());
    c.lose_device_for_tests();
    assert!(c.is_lost(), "the device-lost callback has run");
    let lost = |r: Result<(), GpuError>| matches!(r, Err(GpuError::DeviceLost(_)));
    assert!(lost(block_on(c.gram_columns(&x, 64, 8)).map(|_| ())));
    assert!(lost(block_on(c.gram_rows(&x, 64, 8)).map(|_| ())));
    assert!(lost(block_on(c.matmul(&x, &x, 64, 8, 64)).map(|_| ())));
    assert!(lost(block_on(c.nearest(&x, 64, &x, 64, 8, 3, true)).map(|_| ())));
    assert!(lost(block_on(c.cooccurrence(&[0, 2], &[0, 1], 2)).map(|_| ())));
    assert!(lost(block_on(c.cluster_distance_sums(&x, 64, 8, &[0, 30, 64])).map(|_| ())));
    assert!(lost(c.upload_matrix(&x, 64, 8).map(|_| ())));
    let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let labels: Vec<usize> = (0..64).map(|i| i % 3).collect();
    assert!(matches!(
        block_on(offload::silhouette_score(&c, &xd, 64, 8, &labels, None, 0)),
        Err(OffloadError::Gpu(GpuError::DeviceLost(_)))
    ));
}

/// The galaxy scale with its covariances, its entropy samples' covariances and their k-NN on the
/// GPU: the entropies within 1e-6 relative of the CPU's (f32 covariance: the principal axes move by
/// ~1e-6 over the eigenvalue gaps; the lists are recomputed exactly in f64 from the GPU's
/// candidates), the slope within 1e-6 relative.
#[test]
fn galaxy_with_entropy_neighbours_on_the_gpu() {
    use sae_geometry::compute::{offload, suite::random_matrix};
    use sae_geometry::geometry::entropy::EntropyParams;
    use sae_geometry::geometry::galaxy::{galaxy_spectrum, galaxy_spectrum_with_covariances, GalaxyParams, RankRange};
    let c = ctx();
    let m = random_matrix(2500, 48, 61);
    let params = GalaxyParams {
        ranks: RankRange::new(3, 40),
        isotropic: true,
        entropy: Some(EntropyParams { samples: 2000, pcs: 16, bootstrap: 6, ..EntropyParams::default() }),
        ..GalaxyParams::default()
    };
    let given = block_on(offload::galaxy_covariances(&c, &m, &params, &mut |_, _| {})).unwrap();
    assert!(given.entropy.is_some() && given.isotropic_entropy.is_some());
    let gpu = galaxy_spectrum_with_covariances(&m, &params, Some(given), &mut |_, _| {}).unwrap();
    let cpu = galaxy_spectrum(&m, &params, &mut |_, _| {}).unwrap();
    let (ge, ce) = (gpu.entropy.unwrap(), cpu.entropy.unwrap());
    let (gi, ci) = (gpu.isotropic_entropy.unwrap(), cpu.isotropic_entropy.unwrap());
    eprintln!("entropy GPU {} CPU {}; isotropic GPU {} CPU {}", ge.clustering, ce.clustering, gi.clustering, ci.clustering);
    assert!((ge.clustering - ce.clustering).abs() <= 1e-6 * ce.clustering.abs().max(1.0));
    assert!((gi.clustering - ci.clustering).abs() <= 1e-6 * ci.clustering.abs().max(1.0));
    let (gs, cs) = (gpu.power_law.slope, cpu.power_law.slope);
    assert!((gs - cs).abs() <= 1e-6 * cs.abs(), "slope {gs} vs {cs}");
    let (gi, ci) = (gpu.isotropic_slope.unwrap(), cpu.isotropic_slope.unwrap());
    assert!((gi - ci).abs() <= 1e-5 * ci.abs().max(1e-3), "isotropic slope {gi} vs {ci}");
}

/// The isotropic reference's covariance drawn a tile at a time (64 KiB tiles: 8 of them here)
/// equals the covariance of the whole cloud (the same values, drawn in one go) to 1e-5.
#[test]
fn isotropic_covariance_by_tiles() {
    use sae_geometry::compute::{cpu, offload};
    use sae_geometry::geometry::galaxy::isotropic_cloud;
    let c = capped(64 * 1024);
    let (n, d) = (1000, 120); // 136-row tiles: 8 of them; the 120 x 120 Gram fits 64 KiB
    let got = block_on(offload::isotropic_covariance(&c, n, d, 2.5, 7, &mut |_| {})).unwrap();
    let want = cpu::covariance(&isotropic_cloud(n, d, 2.5, 7).unwrap(), &mut |_| {});
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    let err = got.iter().zip(&want).fold(0f64, |m, (a, b)| m.max((a - b).abs())) / scale;
    eprintln!("isotropic covariance by tiles: rel err {err:.3e}");
    assert!(err < 1e-5, "isotropic covariance rel err {err}");
    assert!(block_on(offload::isotropic_covariance(&c, 1, d, 2.5, 7, &mut |_| {})).is_err());
    assert!(block_on(offload::isotropic_covariance(&c, n, d, f64::NAN, 7, &mut |_| {})).is_err());
}

/// The mat-vec of the eigensolvers (f32 sums) against f64, on odd sizes and on a matrix split
/// into several row blocks: error below 1e-6 of `sum |a_ij v_j|`.
#[test]
fn matvec_odd_sizes_and_tiled() {
    for cap in [0u64, 4000] {
        let c = capped(cap);
        let (rows, cols) = (301, 517);
        let mut g = Lcg(71);
        let a = g.vec(rows * cols);
        let m = c.upload_matrix(&a, rows, cols).unwrap();
        for it in 0..3 {
            let v: Vec<f64> = g.vec(cols).into_iter().map(|x| x as f64 * (1.0 + it as f64)).collect();
            let got = block_on(c.matvec(&m, &v)).unwrap();
            let mut worst: f64 = 0.0;
            for i in 0..rows {
                let row = &a[i * cols..(i + 1) * cols];
                let exact: f64 = row.iter().zip(&v).map(|(&x, &y)| x as f64 * y).sum();
                let scale: f64 = row.iter().zip(&v).map(|(&x, &y)| (x as f64 * y).abs()).sum();
                worst = worst.max((got[i] - exact).abs() / scale);
            }
            eprintln!("matvec cap={cap} it={it}: error {worst:.3e} of sum |a v|");
            assert!(worst <= 1e-6, "{worst}");
        }
    }
}

/// A spectral embedding with Lanczos's products on the GPU (f32) agrees with the CPU's (f64):
/// eigenvalues within 1e-8, coordinates within 1e-5 of the largest, the same k-means labels.
#[test]
fn spectral_embedding_on_the_gpu() {
    use sae_geometry::compute::offload;
    use sae_geometry::geometry::spectral::{cluster_embedding, spectral_embedding};
    let c = ctx();
    let (n, dims) = (300, 5);
    // Five noisy blocks of unequal sizes (not a multiple of the 256 threads of a row).
    let mut g = Lcg(72);
    let noise = g.vec(n * n);
    let block = |i: usize| (i * i / 97) % 5;
    let mut a = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..=i {
            let base = if block(i) == block(j) { 0.8 } else { 0.05 };
            let v = base + 0.1 * (noise[i * n + j].abs());
            a[i * n + j] = v;
            a[j * n + i] = v;
        }
    }
    let cpu = spectral_embedding(a.clone(), n, dims, 7, &mut |_| {}).unwrap();
    let gpu = block_on(offload::spectral_embedding(&c, a, n, dims, 7, &mut |_| {})).unwrap();
    eprintln!("steps CPU {} GPU {}; residual CPU {:.2e} GPU {:.2e}", cpu.lanczos_steps, gpu.lanczos_steps, cpu.max_residual, gpu.max_residual);
    assert!(gpu.max_residual <= 1e-9);
    for (x, y) in cpu.eigenvalues.iter().zip(&gpu.eigenvalues) {
        assert!((x - y).abs() <= 1e-8, "eigenvalue {x} vs {y}");
    }
    let scale = cpu.coordinates.iter().fold(0f64, |m, v| m.max(v.abs()));
    let diff = cpu.coordinates.iter().zip(&gpu.coordinates).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
    eprintln!("coordinates: largest difference {:.3e} of {scale:.3e}", diff);
    assert!(diff <= 1e-5 * scale);
    assert_eq!(cluster_embedding(&cpu, dims, 10, 0).unwrap(), cluster_embedding(&gpu, dims, 10, 0).unwrap());
}

/// The angular affinity with its cosines on the GPU (f32) against the CPU's (f64 products): within
/// 1e-5 on rows that are not nearly parallel, a zero row's similarities exactly 1/2.
#[test]
fn angular_affinity_on_the_gpu() {
    use sae_geometry::compute::offload;
    use sae_geometry::geometry::affinity::angular_affinity;
    let c = capped(64 * 1024);
    let (n, d) = (333, 47);
    let mut x: Vec<f64> = Lcg(81).vec(n * d).into_iter().map(f64::from).collect();
    x[5 * d..6 * d].iter_mut().for_each(|v| *v = 0.0);
    let cpu = angular_affinity(&x, n, d);
    let gpu = block_on(offload::angular_affinity(&c, &x, n, d)).unwrap();
    let worst = cpu.iter().zip(&gpu).enumerate().filter(|(i, _)| i / n != i % n).fold(0f32, |m, (_, (a, b))| m.max((a - b).abs()));
    eprintln!("angular affinity: largest difference off the diagonal {worst:.3e}");
    assert!(worst <= 1e-5);
    assert!((0..n).all(|j| gpu[5 * n + j] == 0.5 && gpu[j * n + 5] == 0.5));
}

/// The lobe scale of the bundled layer-3 decoder and its co-occurrence bundle with the angular
/// affinity's product and the spectral embeddings' products on the GPU: the same labels, AMI and
/// nearest features as the CPU run, eigenvalues within 1e-8.
#[test]
fn lobes_with_embeddings_on_the_gpu() {
    use sae_geometry::analysis::lobes::{lobes_from_bytes, lobes_from_embeddings, read_lobes_inputs};
    use sae_geometry::compute::offload;
    use sae_geometry::geometry::affinity::Affinity;
    use sae_geometry::geometry::lobes::LobeParams;
    let c = ctx();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("public/data");
    let decoder = std::fs::read(data.join("minilm-l6-topk4096-layer3.safetensors")).unwrap();
    let bundle = std::fs::read(data.join("minilm-l6-topk4096-layer3-cooccurrence.safetensors")).unwrap();
    let params = LobeParams { k: 3, null_trials: 0, ..LobeParams::default() };
    let affinities = [Affinity::Phi, Affinity::Jaccard];
    let names = ("decoder.safetensors", "bundle.safetensors");
    let cpu = lobes_from_bytes((&decoder, names.0, None), (&bundle, names.1), &affinities, &[2, 3], &params, true, &mut |_, _| {}).unwrap();
    let inputs = read_lobes_inputs((&decoder, names.0, None), (&bundle, names.1), None, true, &mut |_, _| {}).unwrap();
    let embedded = block_on(offload::lobe_embeddings(&c, &inputs, &affinities, 3, params.seed, &mut |_, _| {})).unwrap();
    let gpu = lobes_from_embeddings(inputs, embedded, &affinities, &[2, 3], &params, names, &mut |_, _| {}).unwrap();
    assert_eq!(cpu.reports.len(), gpu.reports.len());
    for (x, y) in cpu.reports.iter().zip(&gpu.reports) {
        eprintln!("{:?} k={}: AMI CPU {} GPU {}", x.params.affinity, x.params.k, x.agreement.ami, y.agreement.ami);
        assert_eq!(x.agreement.labels_cooccurrence, y.agreement.labels_cooccurrence);
        assert_eq!(x.agreement.labels_geometry, y.agreement.labels_geometry);
        assert_eq!(x.agreement.ami, y.agreement.ami);
        for (p, q) in x.eigenvalues_cooccurrence.iter().chain(&x.eigenvalues_geometry).zip(y.eigenvalues_cooccurrence.iter().chain(&y.eigenvalues_geometry)) {
            assert!((p - q).abs() <= 1e-8, "{p} vs {q}");
        }
    }
    assert_eq!(cpu.map.unwrap().nearest, gpu.map.unwrap().nearest);
}


/// The crystals of the bundled GloVe set (7,297 pairs, 10 tasks) with every silhouette on the GPU
/// (the raw differences and each LDA prefix): each within 1e-5 of the CPU's, the LDA and the
/// quads equal; the sampled silhouettes use the same subset.
#[test]
fn crystal_silhouettes_on_the_gpu() {
    use sae_geometry::analysis::crystals::{crystal_analysis, crystal_analysis_from_fit, crystal_fit, read_crystal_set, CrystalParams};
    use sae_geometry::compute::offload;
    let c = ctx();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("public/data");
    let bytes = std::fs::read(data.join("crystals-glove-6b-50d.safetensors")).unwrap();
    let words = std::fs::read_to_string(data.join("crystals-glove-6b-50d-words.json")).unwrap();
    let set = read_crystal_set(&bytes, "crystals-glove-6b-50d.safetensors", &words).unwrap();
    for sample in [None, Some(2000)] {
        let params = CrystalParams { silhouette_sample: sample, ..CrystalParams::default() };
        let cpu = crystal_analysis(&set, "glove", &params, false, &mut |_, _| {}).unwrap();
        let fit = crystal_fit(&set, &params, &mut |_, _| {}).unwrap();
        let given = block_on(offload::crystal_silhouettes(&c, &fit, &params, &mut |_| {})).unwrap();
        let (gpu, _) = crystal_analysis_from_fit(&set, fit, "glove", &params, false, None, Some(given), &mut |_, _| {}).unwrap();
        eprintln!("sample {sample:?}: raw CPU {} GPU {}", cpu.silhouette_raw, gpu.silhouette_raw);
        assert!((cpu.silhouette_raw - gpu.silhouette_raw).abs() <= 1e-5);
        assert_eq!(cpu.silhouette_lda.keys().collect::<Vec<_>>(), gpu.silhouette_lda.keys().collect::<Vec<_>>());
        for (m, v) in &cpu.silhouette_lda {
            assert!((v - gpu.silhouette_lda[m]).abs() <= 1e-5, "LDA {m}: {v} vs {}", gpu.silhouette_lda[m]);
        }
        assert_eq!(cpu.lda, gpu.lda);
        assert_eq!(cpu.parallelogram, gpu.parallelogram);
    }
}
