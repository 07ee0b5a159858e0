//! Brain scale against numpy / scikit-learn (tests/golden/make_lobes_golden.py), on the bundled
//! MiniLM layer-3 firings and decoder (public/data), first 1500 features, histogram over the chunks
//! of documents that are not held out.
//!
//! Tolerances: histogram exact; affinities 1e-6 absolute per sampled entry and 1e-6 relative per
//! row sum (our matrices are stored in f32); embedding eigenvalues 1e-6; spectral labels AMI >= 0.95
//! against `SpectralClustering(affinity='precomputed', assign_labels='kmeans', random_state=42)`
//! (the floor; 0.99 is asserted, and every case gives scikit-learn's labels exactly).

use std::path::PathBuf;

use sae_geometry::formats::{self, bundle::Firings};
use sae_geometry::geometry::affinity::{angular_affinity, cooccurrence_affinity, Affinity};
use sae_geometry::geometry::ami::adjusted_mutual_info_score;
use sae_geometry::geometry::cooccurrence::{cooccurrence_histogram, Cooccurrence};
use sae_geometry::geometry::spectral::{spectral_clustering, SpectralParams};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden() -> Value {
    let text = std::fs::read_to_string(root().join("tests/golden/lobes/golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// The inputs the Python script used: firings of the chunks not held out, first `n` features, and
/// the first `n` decoder rows.
fn inputs(layer: u64, n: usize) -> (Cooccurrence, Vec<f64>, usize) {
    let data = root().join("public/data");
    let bytes = std::fs::read(data.join(format!("minilm-l6-topk4096-layer{layer}-cooccurrence.safetensors"))).unwrap();
    let firings = Firings::from_safetensors(&bytes).unwrap();
    let chunks: Vec<Vec<u32>> = (0..firings.n_chunks())
        .filter(|&c| !firings.doc_heldout[firings.chunk_doc[c] as usize])
        .map(|c| firings.chunk(c).iter().copied().filter(|&f| (f as usize) < n).collect())
        .collect();
    let refs: Vec<&[u32]> = chunks.iter().map(|c| c.as_slice()).collect();
    let h = cooccurrence_histogram(n, &refs, &mut |_| {}).unwrap();
    let bytes = std::fs::read(data.join(format!("minilm-l6-topk4096-layer{layer}.safetensors"))).unwrap();
    let m = formats::read_matrix(&bytes, "decoder.safetensors", None).unwrap().matrix;
    let d = m.cols();
    let x: Vec<f64> = m.as_slice()[..n * d].iter().map(|&v| v as f64).collect();
    (h, x, d)
}

#[test]
fn histogram_affinities_and_spectral_labels_match_sklearn() {
    let g = golden();
    let n = g["n_features"].as_u64().unwrap() as usize;
    let (h, x, d) = inputs(g["layer"].as_u64().unwrap(), n);
    assert_eq!(h.n_chunks, g["n_chunks"].as_u64().unwrap());

    let pairs: Vec<(usize, usize)> = g["histogram"]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_u64().unwrap() as usize, p[1].as_u64().unwrap() as usize))
        .collect();
    let want_sums = floats(&g["histogram"]["row_sums"]);
    for i in 0..n {
        let sum: u64 = (0..n).map(|j| h.count(i, j) as u64).sum();
        assert_eq!(sum as f64, want_sums[i], "histogram row {i}");
    }
    for (&(i, j), want) in pairs.iter().zip(floats(&g["histogram"]["values"])) {
        assert_eq!(h.count(i, j) as f64, want, "H[{i}][{j}]");
    }

    let mut matrices = Vec::new();
    for name in ["smc", "jaccard", "dice", "overlap", "phi", "angular"] {
        let a = if name == "angular" {
            angular_affinity(&x, n, d)
        } else {
            cooccurrence_affinity(&h, Affinity::parse(name).unwrap(), false)
        };
        let want = &g["affinities"][name];
        let mut worst: f64 = 0.0;
        for (&(i, j), w) in pairs.iter().zip(floats(&want["values"])) {
            worst = worst.max((a[i * n + j] as f64 - w).abs());
        }
        assert!(worst <= 1e-6, "{name}: sampled entries differ by up to {worst:e}");
        for (i, w) in floats(&want["row_sums"]).into_iter().enumerate() {
            let sum: f64 = a[i * n..(i + 1) * n].iter().map(|&v| v as f64).sum();
            assert!((sum - w).abs() <= 1e-6 * w.abs().max(1.0), "{name} row {i}: {sum} vs {w}");
        }
        println!("{name}: affinities within {worst:.1e}");
        matrices.push((name, a));
    }

    for case in g["spectral"].as_array().unwrap() {
        let name = case["affinity"].as_str().unwrap();
        let k = case["k"].as_u64().unwrap() as usize;
        let mut a = matrices.iter().find(|(m, _)| *m == name).unwrap().1.clone();
        if name == "phi" {
            a.iter_mut().for_each(|v| *v += 1.0);
        }
        let params = SpectralParams { n_clusters: k, n_init: 10, seed: 42 };
        let (labels, embedding) = spectral_clustering(a, n, &params, &mut |_| {}).unwrap();
        for (got, want) in embedding.eigenvalues.iter().zip(floats(&case["eigenvalues"])) {
            assert!((got - want).abs() <= 1e-6, "{name} k={k}: eigenvalue {got} vs {want}");
        }
        let want: Vec<u32> = case["labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        let ami = adjusted_mutual_info_score(&want, &labels).unwrap();
        println!(
            "{name} k={k}: AMI {ami:.4} vs scikit-learn's labels ({} Lanczos steps, residual {:.1e})",
            embedding.lanczos_steps, embedding.max_residual
        );
        // The issue asks for AMI >= 0.95; with numpy's RandomState reproduced in k-means the labels
        // are scikit-learn's own (AMI 1 on every case here), so hold them to 0.99.
        assert!(ami >= 0.99, "{name} k={k}: AMI {ami} against scikit-learn's labels");
    }
}
