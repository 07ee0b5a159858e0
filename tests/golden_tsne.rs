//! Golden test of Barnes-Hut t-SNE (src/geometry/tsne.rs) against scikit-learn 1.9
//! (tests/golden/make_tsne_golden.py), on the first 1500 rows of the bundled layer-3 MiniLM
//! decoder (tests/golden/tsne/x.npy, f32).
//!
//! Tolerances:
//! - joint P (`_joint_probabilities_nn` over sklearn's `NearestNeighbors` distances, squared):
//!   the first 5 rows' column indices exactly, their values and those of the conditional P to
//!   1e-6 relative (the bound; with sklearn's f32 distance rounding reproduced, the
//!   observed error is rounding only, printed with `--nocapture`); sum of P to 1e-12; the number
//!   of stored entries exactly.
//! - final KL divergence within 10% of sklearn's `kl_divergence_` (the layouts differ: other
//!   float precision and summation order, so only the optimum's quality is comparable).
//! - trustworthiness (sklearn's definition, n_neighbors = 10, computed here) at least sklearn's
//!   minus 0.02.

use std::path::PathBuf;
use std::time::Instant;

use sae_geometry::geometry::knn::neighbour_lists;
use sae_geometry::geometry::tsne::{
    binary_search_perplexity, input_similarities, neighbour_count, sklearn_squared_distance, tsne, TsneParams,
};
use serde_json::Value;

/// The bound on the P entries (relative).
const P_REL: f64 = 1e-6;
/// Final KL: relative to sklearn's.
const KL_REL: f64 = 0.10;
/// Trustworthiness: allowed shortfall below sklearn's.
const TRUST_SLACK: f64 = 0.02;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
        .join("tsne")
}

/// A minimal `.npy` reader (version 1/2/3, little-endian `<f4` or `<f8`, C order, 2-D): returns
/// the shape and the values as `f64`.
fn read_npy(path: &PathBuf) -> (usize, usize, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "not an .npy file");
    let major = bytes[6];
    let (header_len, start) = if major == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).unwrap();
    assert!(header.contains("'fortran_order': False"), "{header}");
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap();
    let dims: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(dims.len(), 2, "{header}");
    let data = &bytes[start + header_len..];
    let values: Vec<f64> = if header.contains("'descr': '<f4'") {
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect()
    } else if header.contains("'descr': '<f8'") {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    } else {
        panic!("unsupported dtype: {header}");
    };
    assert_eq!(values.len(), dims[0] * dims[1]);
    (dims[0], dims[1], values)
}

fn golden() -> Value {
    let text = std::fs::read_to_string(golden_dir().join("golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ints(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// sklearn.manifold.trustworthiness(x, y, n_neighbors = k): with `r(i, j)` the rank of `j` among
/// the input-space neighbours of `i` (1 = nearest, `i` itself excluded) and `N_i` the `k` nearest
/// neighbours of `i` in the layout,
/// `T = 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in N_i} max(0, r(i, j) - k)`.
fn trustworthiness(x: &[f64], n: usize, d: usize, y: &[[f64; 2]], k: usize) -> f64 {
    let mut penalty = 0.0;
    let mut dist = vec![0f64; n];
    let mut emb: Vec<(f64, usize)> = Vec::with_capacity(n);
    for i in 0..n {
        let xi = &x[i * d..(i + 1) * d];
        for (j, dj) in dist.iter_mut().enumerate() {
            *dj = xi
                .iter()
                .zip(&x[j * d..(j + 1) * d])
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
        }
        emb.clear();
        emb.extend((0..n).filter(|&j| j != i).map(|j| {
            let (dx, dy) = (y[i][0] - y[j][0], y[i][1] - y[j][1]);
            (dx * dx + dy * dy, j)
        }));
        emb.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(_, j) in &emb[..k] {
            let rank = 1
                + (0..n)
                    .filter(|&l| l != i && (dist[l] < dist[j] || (dist[l] == dist[j] && l < j)))
                    .count();
            if rank > k {
                penalty += (rank - k) as f64;
            }
        }
    }
    let (nf, kf) = (n as f64, k as f64);
    1.0 - penalty * (2.0 / (nf * kf * (2.0 * nf - 3.0 * kf - 1.0)))
}

#[test]
fn tsne_matches_sklearn() {
    let g = golden();
    let (n, d, x) = read_npy(&golden_dir().join("x.npy"));
    assert_eq!(
        (n, d),
        (
            g["n"].as_u64().unwrap() as usize,
            g["d"].as_u64().unwrap() as usize
        )
    );
    let perplexity = g["perplexity"].as_f64().unwrap();
    let k = neighbour_count(n, perplexity);
    assert_eq!(k as u64, g["n_neighbors"].as_u64().unwrap());

    // Conditional P of the first rows (neighbours in index order, as sklearn's CSR rows).
    let t0 = Instant::now();
    let lists = neighbour_lists(&x, n, d, k, &mut |_| {});
    let t_knn = t0.elapsed().as_secs_f64();
    let mut worst_cond = 0f64;
    for (i, row) in g["conditional"].as_array().unwrap().iter().enumerate() {
        let mut pairs: Vec<(u32, f32)> = lists
            .indices(i)
            .iter()
            .zip(lists.distances(i))
            .map(|(&j, &dist)| (j, sklearn_squared_distance(dist)))
            .collect();
        pairs.sort_by_key(|p| p.0);
        let cols: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        assert_eq!(cols, ints(&row["indices"]), "conditional row {i}: neighbours");
        let sq: Vec<f32> = pairs.iter().map(|p| p.1).collect();
        let got = binary_search_perplexity(&sq, 1, k, perplexity).unwrap();
        for (a, b) in got.iter().zip(floats(&row["values"])) {
            let rel = (a - b).abs() / b.abs();
            worst_cond = worst_cond.max(rel);
            assert!(rel <= P_REL, "conditional row {i}: {a} vs {b}");
        }
    }

    // Joint P.
    let t0 = Instant::now();
    let p = input_similarities(&x, n, d, perplexity, &mut |_| {}).unwrap();
    let t_p = t0.elapsed().as_secs_f64();
    assert!((p.sum() - g["p_sum"].as_f64().unwrap()).abs() < 1e-12);
    assert_eq!(p.values.len() as u64, g["p_nnz"].as_u64().unwrap());
    let mut worst_joint = 0f64;
    for (i, row) in g["joint"].as_array().unwrap().iter().enumerate() {
        let (cols, vals) = p.row(i);
        assert_eq!(cols, &ints(&row["indices"])[..], "joint row {i}: pattern");
        for (a, b) in vals.iter().zip(floats(&row["values"])) {
            let rel = (a - b).abs() / b.abs();
            worst_joint = worst_joint.max(rel);
            assert!(rel <= P_REL, "joint row {i}: {a} vs {b}");
        }
    }
    println!("P: worst relative error conditional {worst_cond:.2e}, joint {worst_joint:.2e}");

    // The whole run with sklearn's defaults.
    let t0 = Instant::now();
    let mut calls = 0usize;
    let r = tsne(&x, n, d, &TsneParams::default(), &mut |_| {
        calls += 1;
        true
    })
    .unwrap();
    let t_all = t0.elapsed().as_secs_f64();
    assert!(!r.stopped_early);
    assert_eq!(r.iterations, 1000);
    assert_eq!(r.learning_rate, g["learning_rate"].as_f64().unwrap());
    assert!(calls >= 100);
    let kl_sk = g["kl_divergence"].as_f64().unwrap();
    let t0 = Instant::now();
    let tw = trustworthiness(&x, n, d, &r.embedding, 10);
    let t_tw = t0.elapsed().as_secs_f64();
    let tw_sk = g["trustworthiness"].as_f64().unwrap();
    println!(
        "KL {:.6} (sklearn {kl_sk:.6}, {:+.2}%), trustworthiness {tw:.6} (sklearn {tw_sk:.6}); \
         neighbours {t_knn:.2}s, P {t_p:.2}s, tsne {t_all:.2}s, trustworthiness {t_tw:.2}s",
        r.kl_divergence,
        100.0 * (r.kl_divergence / kl_sk - 1.0)
    );
    assert!(
        (r.kl_divergence - kl_sk).abs() <= KL_REL * kl_sk,
        "KL {} vs sklearn {kl_sk}",
        r.kl_divergence
    );
    assert!(
        tw >= tw_sk - TRUST_SLACK,
        "trustworthiness {tw} vs sklearn {tw_sk}"
    );
}
