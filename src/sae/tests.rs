use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::*;

fn unit_rows(rng: &mut ChaCha8Rng, m: usize, d: usize) -> Vec<Vec<f32>> {
    (0..m)
        .map(|_| {
            let v: Vec<f32> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
            let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            v.into_iter().map(|a| a / n).collect()
        })
        .collect()
}

/// x = offset + sum of `k_true` of the `m` planted unit atoms, with coefficients in [0.5, 1.5],
/// plus Gaussian noise of standard deviation `noise` per coordinate.
fn planted(n: usize, d: usize, m: usize, k_true: usize, noise: f32, seed: u64) -> (Matrix, Vec<Vec<f32>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let atoms = unit_rows(&mut rng, m, d);
    let offset: Vec<f32> = (0..d).map(|p| 0.3 * ((p as f32) * 0.7).sin()).collect();
    let mut data = Vec::with_capacity(n * d);
    for _ in 0..n {
        let mut x = offset.clone();
        for a in sample(&mut rng, m, k_true) {
            let c: f32 = rng.random_range(0.5..1.5);
            for (o, w) in x.iter_mut().zip(&atoms[a]) {
                *o += c * w;
            }
        }
        for o in x.iter_mut() {
            let e: f32 = StandardNormal.sample(&mut rng);
            *o += noise * e;
        }
        data.extend(x);
    }
    (Matrix::new(n, d, data).unwrap(), atoms)
}

fn small_config() -> TopKConfig {
    TopKConfig {
        n_features: 64,
        k: 4,
        epochs: 2,
        batch_size: 256,
        learning_rate: 1e-3,
        aux_k: 8,
        aux_coefficient: 1.0 / 32.0,
        dead_after_tokens: 1000,
        seed: 7,
        threads: 1,
    }
}

fn max_cosines(atoms: &[Vec<f32>], sae: &TopKSae) -> Vec<f32> {
    atoms
        .iter()
        .map(|a| {
            (0..sae.n_features())
                .map(|j| kernels::dot(a, sae.w_dec.row(j)))
                .fold(f32::MIN, f32::max)
        })
        .collect()
}

#[test]
fn recovers_a_planted_dictionary() {
    let (d, m, k_true) = (64, 256, 4);
    let (data, atoms) = planted(50_000, d, m, k_true, 0.01, 1);
    let config = TopKConfig {
        n_features: 512,
        k: 4,
        epochs: 20,
        batch_size: 512,
        learning_rate: 2e-3,
        aux_k: 32,
        dead_after_tokens: 20_000,
        seed: 3,
        threads: 2,
        ..TopKConfig::default()
    };
    let mut last = String::new();
    let mut fractions = Vec::new();
    let sae = train_topk(&data, &config, &mut |msg, frac| {
        last = msg.to_string();
        fractions.push(frac);
    })
    .unwrap();
    assert_eq!(*fractions.last().unwrap(), 1.0);
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]));
    let cos = max_cosines(&atoms, &sae);
    let recovered = cos.iter().filter(|&&c| c > 0.9).count();
    let metrics = sae.metrics(&data);
    eprintln!("{last}\nrecovered {recovered}/{m}; {metrics:?}");
    assert!(recovered as f64 > 0.9 * m as f64, "recovered only {recovered} of {m} atoms");
    assert!(metrics.fvu < 0.1, "FVU {}", metrics.fvu);
    assert!(metrics.mean_l0 <= 4.0);
}

#[test]
fn deterministic_for_a_seed_whatever_the_thread_count() {
    let (data, _) = planted(3000, 16, 32, 3, 0.05, 2);
    let config = small_config();
    let a = train_topk(&data, &config, &mut |_, _| {}).unwrap();
    let b = train_topk(&data, &config, &mut |_, _| {}).unwrap();
    assert_eq!(a.w_dec.as_slice(), b.w_dec.as_slice());
    assert_eq!(a, b);
    for threads in [2, 3] {
        let c = train_topk(&data, &TopKConfig { threads, ..config.clone() }, &mut |_, _| {}).unwrap();
        assert_eq!(a, c, "threads = {threads}");
    }
    let other = train_topk(&data, &TopKConfig { seed: 8, ..config.clone() }, &mut |_, _| {}).unwrap();
    assert_ne!(a.w_dec.as_slice(), other.w_dec.as_slice());
}

#[test]
fn decoder_rows_have_unit_norm() {
    let (data, _) = planted(2000, 16, 32, 3, 0.05, 3);
    let sae = train_topk(&data, &small_config(), &mut |_, _| {}).unwrap();
    assert_eq!((sae.w_dec.rows(), sae.w_dec.cols()), (64, 16));
    assert_eq!((sae.w_enc.rows(), sae.w_enc.cols()), (64, 16));
    assert_eq!(sae.b_enc.len(), 64);
    assert_eq!(sae.b_dec.len(), 16);
    for j in 0..sae.n_features() {
        let norm = kernels::dot(sae.w_dec.row(j), sae.w_dec.row(j)).sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "row {j}: norm {norm}");
    }
}

#[test]
fn activations_are_in_the_original_units() {
    // Scaling the data scales activations and biases, and leaves FVU and directions alone.
    let (data, _) = planted(3000, 16, 32, 3, 0.05, 4);
    let big = Matrix::new(3000, 16, data.as_slice().iter().map(|v| v * 1000.0).collect()).unwrap();
    let config = small_config();
    let a = train_topk(&data, &config, &mut |_, _| {}).unwrap();
    let b = train_topk(&big, &config, &mut |_, _| {}).unwrap();
    assert!((a.input_scale / b.input_scale / 1000.0 - 1.0).abs() < 1e-4);
    let (ma, mb) = (a.metrics(&data), b.metrics(&big));
    assert!((ma.fvu - mb.fvu).abs() < 1e-2, "{ma:?} vs {mb:?}");
    let za = a.encode_sparse(data.row(5));
    let zb = b.encode_sparse(big.row(5));
    assert_eq!(za.len(), zb.len());
    for ((ja, va), (jb, vb)) in za.iter().zip(&zb) {
        assert_eq!(ja, jb);
        assert!((vb / va / 1000.0 - 1.0).abs() < 1e-2, "{va} vs {vb}");
    }
    // The reconstruction is in the data's units.
    let x = data.row(5);
    let err: f32 = a.reconstruct(x).iter().zip(x).map(|(h, v)| (h - v).powi(2)).sum();
    let norm: f32 = x.iter().map(|v| v * v).sum();
    assert!(err < 0.5 * norm);
}

/// A hand-made SAE: d = 2, three latents, k = 1.
fn hand_made() -> TopKSae {
    let w = Matrix::new(3, 2, vec![1., 0., 0., 1., -1., 0.]).unwrap();
    TopKSae {
        w_enc: w.clone(),
        b_enc: vec![0.0, 0.0, -10.0],
        w_dec: w,
        b_dec: vec![0.5, 0.0],
        k: 1,
        input_scale: 1.0,
    }
}

#[test]
fn metrics_match_brute_force_on_a_hand_made_case() {
    let sae = hand_made();
    let rows = [[3.0f32, 1.0], [0.5, 4.0], [-2.0, 0.0], [2.5, 2.0]];
    let data = Matrix::new(4, 2, rows.concat()).unwrap();
    // x - b_dec: (2.5, 1), (0, 4), (-2.5, 0), (2, 2). Pre-activations (x, y, -x - 10):
    // token 0 -> latent 0 = 2.5; token 1 -> latent 1 = 4; token 2 -> latent 1 = 0 (not > 0, so
    // nothing fires: latent 2 is -7.5); token 3 -> tie 2 vs 2 -> lower index, latent 0 = 2.
    let want: Vec<Vec<(u32, f32)>> = vec![vec![(0, 2.5)], vec![(1, 4.0)], vec![], vec![(0, 2.0)]];
    assert_eq!(sae.encode_batch(&data), want);
    for (i, w) in want.iter().enumerate() {
        assert_eq!(&sae.encode_sparse(data.row(i)), w);
    }
    let hats: [[f32; 2]; 4] = [[3.0, 0.0], [0.5, 4.0], [0.5, 0.0], [2.5, 0.0]];
    for (i, h) in hats.iter().enumerate() {
        assert_eq!(sae.reconstruct(data.row(i)), h.to_vec());
    }
    let sse: f64 = rows
        .iter()
        .zip(&hats)
        .map(|(x, h)| x.iter().zip(h).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>())
        .sum();
    let mean = [(3.0 + 0.5 - 2.0 + 2.5) / 4.0, (1.0 + 4.0 + 0.0 + 2.0) / 4.0];
    let sst: f64 = rows
        .iter()
        .map(|x| (x[0] as f64 - mean[0]).powi(2) + (x[1] as f64 - mean[1]).powi(2))
        .sum();
    let m = sae.metrics(&data);
    assert!((m.fvu - sse / sst).abs() < 1e-12, "{} vs {}", m.fvu, sse / sst);
    assert_eq!(m.mean_l0, 0.75);
    assert_eq!(m.dead_features, 1);
    assert_eq!(m.tokens, 4);
}

#[test]
fn encode_sparse_returns_k_entries_or_fewer_when_not_positive() {
    let (data, _) = planted(2000, 16, 32, 3, 0.05, 5);
    let config = small_config();
    let sae = train_topk(&data, &config, &mut |_, _| {}).unwrap();
    let batch = sae.encode_batch(&data);
    for (i, z) in batch.iter().enumerate() {
        let single = sae.encode_sparse(data.row(i));
        assert_eq!(&single, z);
        assert!(z.len() <= config.k);
        assert!(z.iter().all(|&(j, v)| v > 0.0 && (j as usize) < config.n_features));
        assert!(z.windows(2).all(|w| w[0].1 >= w[1].1));
        // Exactly k unless the k-th largest pre-activation is not positive.
        let xc: Vec<f32> = data.row(i).iter().zip(&sae.b_dec).map(|(a, b)| a - b).collect();
        let mut pre: Vec<f32> = (0..sae.n_features())
            .map(|j| kernels::dot(&xc, sae.w_enc.row(j)) + sae.b_enc[j])
            .collect();
        pre.sort_by(|a, b| b.total_cmp(a));
        let positive = pre[..config.k].iter().filter(|&&v| v > 1e-5).count();
        let non_positive = pre[..config.k].iter().filter(|&&v| v < -1e-5).count();
        assert!(z.len() >= positive && z.len() <= config.k - non_positive);
    }
    assert!(batch.iter().filter(|z| z.len() == config.k).count() > batch.len() / 2);
    // A token whose pre-activations are all negative has no active latent.
    let mut sae2 = sae.clone();
    sae2.b_enc.iter_mut().for_each(|b| *b = -1e6);
    assert!(sae2.encode_sparse(data.row(0)).is_empty());
    assert_eq!(sae2.reconstruct(data.row(0)), sae2.b_dec);
}

#[test]
fn edge_cases_are_errors_not_panics() {
    let (data, _) = planted(500, 8, 16, 2, 0.05, 6);
    let config = TopKConfig {
        n_features: 32,
        ..small_config()
    };
    let run = |data: &Matrix, config: &TopKConfig| train_topk(data, config, &mut |_, _| {});

    let empty = Matrix::new(0, 8, vec![]).unwrap();
    assert_eq!(run(&empty, &config).unwrap_err().kind(), "empty-data");
    let no_cols = Matrix::new(5, 0, vec![]).unwrap();
    assert_eq!(run(&no_cols, &config).unwrap_err().kind(), "empty-data");

    let mut v = data.as_slice().to_vec();
    v[3 * 8 + 2] = f32::NAN;
    let nan = Matrix::new(500, 8, v.clone()).unwrap();
    assert_eq!(run(&nan, &config).unwrap_err(), SaeError::NonFinite { row: 3, col: 2 });
    v[3 * 8 + 2] = f32::INFINITY;
    let inf = Matrix::new(500, 8, v).unwrap();
    assert_eq!(run(&inf, &config).unwrap_err().kind(), "non-finite");

    let constant = Matrix::new(10, 8, vec![1.5; 80]).unwrap();
    assert_eq!(run(&constant, &config).unwrap_err().kind(), "constant-data");
    let zeros = Matrix::new(10, 8, vec![0.0; 80]).unwrap();
    assert_eq!(run(&zeros, &config).unwrap_err().kind(), "constant-data");

    for bad in [
        TopKConfig { k: 33, ..config.clone() },
        TopKConfig { k: 0, ..config.clone() },
        TopKConfig { n_features: 0, ..config.clone() },
        TopKConfig { n_features: 0, k: 0, ..config.clone() },
        TopKConfig { epochs: 0, ..config.clone() },
        TopKConfig { batch_size: 0, ..config.clone() },
        TopKConfig { learning_rate: 0.0, ..config.clone() },
        TopKConfig { learning_rate: f32::NAN, ..config.clone() },
        TopKConfig { aux_coefficient: -1.0, ..config.clone() },
    ] {
        let e = run(&data, &bad).unwrap_err();
        assert_eq!(e.kind(), "invalid-config", "{bad:?}");
        assert!(e.to_string().starts_with("invalid SAE configuration"));
    }

    // A huge learning rate diverges or not, but never panics; k = n_features and a batch larger
    // than the data are fine.
    let _ = run(&data, &TopKConfig { learning_rate: 1e30, ..config.clone() });
    let one_row = Matrix::new(1, 8, data.row(0).to_vec()).unwrap();
    assert_eq!(run(&one_row, &config).unwrap_err().kind(), "constant-data");
    let two_rows = Matrix::new(2, 8, data.as_slice()[..16].to_vec()).unwrap();
    let sae = run(&two_rows, &TopKConfig { k: 32, batch_size: 10_000, ..config.clone() }).unwrap();
    assert!(sae.metrics(&two_rows).fvu.is_finite());
    let no_aux = run(&data, &TopKConfig { aux_k: 0, ..config.clone() }).unwrap();
    assert_eq!(no_aux.n_features(), 32);
    let huge_aux = run(&data, &TopKConfig { aux_k: 1000, dead_after_tokens: 0, ..config.clone() }).unwrap();
    assert_eq!(huge_aux.n_features(), 32);
}

#[test]
fn metrics_of_empty_data_do_not_panic() {
    let sae = hand_made();
    let m = sae.metrics(&Matrix::new(0, 2, vec![]).unwrap());
    assert_eq!(m.tokens, 0);
    assert!(m.fvu.is_nan());
    assert!(sae.encode_batch(&Matrix::new(0, 2, vec![]).unwrap()).is_empty());
}

#[test]
fn errors_have_distinct_kinds() {
    let all = [
        SaeError::EmptyData { rows: 0, cols: 3 },
        SaeError::NonFinite { row: 1, col: 2 },
        SaeError::ConstantData { rows: 4 },
        SaeError::InvalidConfig { reason: "x".into() },
        SaeError::Diverged { epoch: 1, step: 2 },
    ];
    let mut kinds: Vec<_> = all.iter().map(|e| e.kind()).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), all.len());
    assert!(all[1].to_string().contains("row 1, column 2"));
}

#[test]
fn config_round_trips_through_json() {
    let c = TopKConfig::default();
    let back: TopKConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(c, back);
    let m = SaeMetrics {
        fvu: 0.1,
        mean_l0: 32.0,
        dead_features: 3,
        tokens: 10,
    };
    let back: SaeMetrics = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(m, back);
}
