//! Brain scale (paper section 2): lobes from co-occurrence, their agreement with the geometry of
//! the decoder rows, the null tests, and lobe specialisation.
//!
//! - Co-occurrence lobes: spectral clustering ([`super::spectral`]) of an affinity
//!   ([`super::affinity`]) of the co-occurrence histogram ([`super::cooccurrence`]).
//! - Geometric lobes: the same clustering of the angular similarity of the decoder rows.
//! - Agreement: adjusted mutual information ([`super::ami`]) between the two labelings, and the
//!   balanced accuracy of a logistic regression ([`super::logistic`]) from decoder row to
//!   co-occurrence lobe, trained on the first 80% of features (by index), tested on the rest.
//! - Nulls: AMI against permuted geometric labels; the classifier trained on random Gaussian unit
//!   vectors instead of decoder rows. `sigma = (true - mean_null) / std_null` (population std).
//! - Specialisation: per held-out chunk, the lobe with the largest fraction of its features firing
//!   wins; per document category, the share of chunks each lobe wins.

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::affinity::{angular_affinity, cooccurrence_affinity, Affinity};
use super::ami::{adjusted_mutual_info_score, AmiNull};
use super::cooccurrence::Cooccurrence;
use super::logistic::{balanced_accuracy, fit_logistic, LogisticParams};
use super::spectral::{check_clusters, cluster_embedding, spectral_embedding, SpectralEmbedding};
use super::stats::seeded_rng;
use super::GeometryError;

/// Parameters of [`lobes`], with the paper's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LobeParams {
    /// Number of lobes k.
    pub k: usize,
    /// Affinity of the co-occurrence clustering.
    pub affinity: Affinity,
    /// Trials of each null test (0 skips them).
    pub null_trials: usize,
    /// Seed of the spectral embeddings, k-means and the nulls (scikit-learn's `random_state=42`).
    pub seed: u64,
    /// k-means restarts (10).
    pub n_init: usize,
    /// Share of features (the first, by index) the classifier is trained on (0.8).
    pub train_fraction: f64,
}

impl Default for LobeParams {
    fn default() -> Self {
        LobeParams { k: 2, affinity: Affinity::Phi, null_trials: 100, seed: 42, n_init: 10, train_fraction: 0.8 }
    }
}

/// Mean, std and sigma of a null distribution, with its draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NullTest {
    /// The value on the real data.
    pub observed: f64,
    /// Mean of the null draws.
    pub mean: f64,
    /// Population standard deviation (ddof = 0, `np.std`) of the null draws.
    pub std: f64,
    /// `(observed - mean) / std` (infinite when every draw is equal and differs from observed).
    pub sigma: f64,
    /// The draws.
    pub draws: Vec<f64>,
}

impl NullTest {
    /// Summarises `draws` against `observed`.
    pub fn new(observed: f64, draws: Vec<f64>) -> NullTest {
        let n = draws.len().max(1) as f64;
        let mean = draws.iter().sum::<f64>() / n;
        let std = (draws.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let sigma = if std > 0.0 {
            (observed - mean) / std
        } else if observed == mean {
            0.0
        } else {
            f64::INFINITY.copysign(observed - mean)
        };
        NullTest { observed, mean, std, sigma, draws }
    }
}

/// Agreement of the co-occurrence lobes with the geometry, for one k and one affinity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LobeAgreement {
    /// Number of lobes.
    pub k: usize,
    /// Affinity of the co-occurrence clustering.
    pub affinity: Affinity,
    /// Lobe of each feature from co-occurrence.
    pub labels_cooccurrence: Vec<u32>,
    /// Lobe of each feature from the angular similarity of decoder rows.
    pub labels_geometry: Vec<u32>,
    /// AMI between the two labelings.
    pub ami: f64,
    /// Balanced accuracy, on the last 20% of features, of the logistic regression from decoder
    /// row to co-occurrence lobe trained on the first 80%.
    pub balanced_accuracy: f64,
    /// Permuted-label null of the AMI (absent with 0 trials).
    pub ami_null: Option<NullTest>,
    /// Gaussian-unit-vector null of the balanced accuracy (absent with 0 trials).
    pub bacc_null: Option<NullTest>,
    /// Features in each co-occurrence lobe.
    pub lobe_sizes: Vec<usize>,
}

/// Spectral embeddings of the co-occurrence affinity and of the geometry, computed once for the
/// largest k wanted and reused for every smaller k (the first k eigenvectors are the same).
pub struct LobeEmbeddings {
    /// Of the co-occurrence affinity (`Phi + 1` for Phi).
    pub cooccurrence: SpectralEmbedding,
    /// Of the angular similarity of decoder rows.
    pub geometry: SpectralEmbedding,
}

/// The angular affinity's spectral embedding of the decoder `x` (n x d) into `dims` dimensions,
/// and each row's `nearest` most similar other rows (most similar first).
pub fn geometry_embedding(
    x: &[f64],
    n: usize,
    d: usize,
    dims: usize,
    seed: u64,
    nearest: usize,
    progress: &mut dyn FnMut(f64),
) -> Result<(SpectralEmbedding, Vec<Vec<u32>>), GeometryError> {
    check_decoder(x, n, d)?;
    check_clusters(dims, n)?;
    let a = angular_affinity(x, n, d);
    let neighbours = most_similar(&a, n, nearest);
    let embedding = spectral_embedding(a, n, dims, seed, progress).map_err(|e| for_lobes(e, "geometric lobes (decoder rows)"))?;
    Ok((embedding, neighbours))
}

/// A `k` error of the spectral embedding, with the lobes it is about.
fn for_lobes(e: GeometryError, which: &str) -> GeometryError {
    match e {
        GeometryError::InvalidParameter { name, reason } if name == "k" => {
            GeometryError::InvalidParameter { name: format!("k for the {which}"), reason }
        }
        e => e,
    }
}

/// For each row of the n x n similarity `a`, the `m` other columns of largest value, largest
/// first (the lower index first on ties).
pub fn most_similar(a: &[f32], n: usize, m: usize) -> Vec<Vec<u32>> {
    let m = m.min(n.saturating_sub(1));
    (0..n)
        .map(|i| {
            let row = &a[i * n..(i + 1) * n];
            let mut best: Vec<u32> = Vec::with_capacity(m + 1);
            for j in (0..n).filter(|&j| j != i) {
                let better = |b: &u32| row[j] > row[*b as usize];
                if best.len() < m || best.last().is_some_and(better) {
                    let at = best.iter().position(better).unwrap_or(best.len());
                    best.insert(at, j as u32);
                    best.truncate(m);
                }
            }
            best
        })
        .collect()
}

/// The co-occurrence affinity's spectral embedding into `dims` dimensions.
/// Errors: as [`Cooccurrence::check_clusterable`] (no chunks, nothing fires) and
/// [`super::spectral::SpectralProblem::new`] (`dims` not below the features, or above the distinct
/// ones).
pub fn cooccurrence_embedding(h: &Cooccurrence, affinity: Affinity, dims: usize, seed: u64, progress: &mut dyn FnMut(f64)) -> Result<SpectralEmbedding, GeometryError> {
    h.check_clusterable()?;
    check_clusters(dims, h.n_features)?;
    spectral_embedding(cooccurrence_affinity(h, affinity, true), h.n_features, dims, seed, progress)
        .map_err(|e| for_lobes(e, "co-occurrence lobes"))
}

fn check_decoder(x: &[f64], n: usize, d: usize) -> Result<(), GeometryError> {
    if x.len() != n * d {
        return Err(GeometryError::InvalidParameter { name: "decoder".into(), reason: format!("{} values for {n} x {d}", x.len()) });
    }
    if let Some(p) = x.iter().position(|v| !v.is_finite()) {
        return Err(GeometryError::NonFinite { row: p / d.max(1), col: p % d.max(1) });
    }
    Ok(())
}

/// Lobes and their agreement with the geometry for one k (paper section 2): the co-occurrence and
/// geometric labels from the two embeddings (k-means on their first k dimensions), the AMI, the
/// classifier's balanced accuracy, and (with `null_trials > 0`) both null tests.
/// `progress(stage, fraction)` reports the null trials.
pub fn lobe_agreement(
    x: &[f64],
    n: usize,
    d: usize,
    embeddings: &LobeEmbeddings,
    params: &LobeParams,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<LobeAgreement, GeometryError> {
    check_decoder(x, n, d)?;
    let k = params.k;
    for (what, e) in [("co-occurrence", &embeddings.cooccurrence), ("geometry", &embeddings.geometry)] {
        if e.dims < k || e.coordinates.len() != n * e.dims {
            return Err(GeometryError::InvalidParameter {
                name: "embedding".into(),
                reason: format!("the {what} embedding has {} dimensions of {} points; k = {k} of {n} needs at least {k} of {n}", e.dims, e.coordinates.len() / e.dims.max(1)),
            });
        }
    }
    progress("k-means", 0.0);
    let labels_cooccurrence = cluster_embedding(&embeddings.cooccurrence, k, params.n_init, params.seed)?;
    let labels_geometry = cluster_embedding(&embeddings.geometry, k, params.n_init, params.seed)?;
    let ami = adjusted_mutual_info_score(&labels_cooccurrence, &labels_geometry)?;
    let split = train_split(n, params.train_fraction)?;
    let balanced_accuracy = classifier_balanced_accuracy(x, n, d, &labels_cooccurrence, split)?;
    let (ami_null, bacc_null) = if params.null_trials > 0 {
        let mut rng = seeded_rng(params.seed ^ 0x6e75_6c6c);
        let mut null = AmiNull::new(&labels_cooccurrence, &labels_geometry)?;
        let ami_draws = null.sample(params.null_trials, &mut rng);
        let mut bacc_draws = Vec::with_capacity(params.null_trials);
        for t in 0..params.null_trials {
            progress("classifier null", t as f64 / params.null_trials as f64);
            let random = gaussian_unit_rows(n, d, &mut rng);
            bacc_draws.push(classifier_balanced_accuracy(&random, n, d, &labels_cooccurrence, split)?);
        }
        progress("classifier null", 1.0);
        (Some(NullTest::new(ami, ami_draws)), Some(NullTest::new(balanced_accuracy, bacc_draws)))
    } else {
        (None, None)
    };
    let mut lobe_sizes = vec![0usize; k];
    for &l in &labels_cooccurrence {
        lobe_sizes[l as usize] += 1;
    }
    Ok(LobeAgreement {
        k,
        affinity: params.affinity,
        labels_cooccurrence,
        labels_geometry,
        ami,
        balanced_accuracy,
        ami_null,
        bacc_null,
        lobe_sizes,
    })
}

/// Number of training rows: `floor(train_fraction * n)`, at least 1 and leaving at least 1.
fn train_split(n: usize, train_fraction: f64) -> Result<usize, GeometryError> {
    let split = (train_fraction * n as f64).floor() as usize;
    if !(train_fraction > 0.0 && train_fraction < 1.0) || split == 0 || split >= n {
        return Err(GeometryError::InvalidParameter {
            name: "train fraction".into(),
            reason: format!("{train_fraction} of {n} features leaves no training or no test features; use a value in (0, 1)"),
        });
    }
    Ok(split)
}

/// Balanced accuracy on rows `split..n` of `LogisticRegression(max_iter=1000)` fitted on rows
/// `0..split` of `x` to `labels`. If the training rows hold a single lobe, nothing can be learnt:
/// the prediction is that lobe for every test row.
fn classifier_balanced_accuracy(x: &[f64], n: usize, d: usize, labels: &[u32], split: usize) -> Result<f64, GeometryError> {
    let (train, test) = (&labels[..split], &labels[split..]);
    let predicted = if train.iter().all(|&l| l == train[0]) {
        vec![train[0]; n - split]
    } else {
        let model = fit_logistic(&x[..split * d], split, d, train, &LogisticParams::default())?;
        model.predict(&x[split * d..], n - split)?
    };
    balanced_accuracy(test, &predicted)
}

/// `n` rows of `d` independent standard normal values, each scaled to unit length.
fn gaussian_unit_rows(n: usize, d: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f64> {
    let mut x: Vec<f64> = (0..n * d).map(|_| StandardNormal.sample(rng)).collect();
    for row in x.chunks_mut(d.max(1)) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
    x
}

/// Which lobe each held-out chunk "belongs to", per document category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Specialisation {
    /// Number of lobes.
    pub k: usize,
    /// Chunks counted per category.
    pub chunks: Vec<u32>,
    /// `wins[c][l]`: chunks of category c won by lobe l.
    pub wins: Vec<Vec<u32>>,
    /// `shares[c][l] = wins[c][l] / chunks[c]` (0 for a category without chunks).
    pub shares: Vec<Vec<f64>>,
}

/// Lobe specialisation (paper section 2): for each chunk (its firing features and its category),
/// the fraction of each lobe's features that fire; the lobe with the largest fraction wins (the
/// first on ties, `np.argmax`; a chunk where nothing fires is not counted). `labels` gives each
/// feature's lobe (0..k).
pub fn lobe_specialisation(
    chunks: &[(&[u32], usize)],
    n_categories: usize,
    labels: &[u32],
    k: usize,
) -> Result<Specialisation, GeometryError> {
    let mut sizes = vec![0usize; k];
    for &l in labels {
        let slot = sizes.get_mut(l as usize).ok_or_else(|| GeometryError::InvalidParameter {
            name: "lobe labels".into(),
            reason: format!("label {l} is not below k = {k}"),
        })?;
        *slot += 1;
    }
    let mut wins = vec![vec![0u32; k]; n_categories];
    let mut counted = vec![0u32; n_categories];
    let mut firing = vec![0usize; k];
    for (c, (features, category)) in chunks.iter().enumerate() {
        if *category >= n_categories {
            return Err(GeometryError::InvalidParameter {
                name: "category".into(),
                reason: format!("chunk {c} has category {category} of {n_categories}"),
            });
        }
        if features.is_empty() {
            continue;
        }
        firing.iter_mut().for_each(|f| *f = 0);
        for &f in features.iter() {
            let lobe = labels.get(f as usize).ok_or_else(|| GeometryError::InvalidParameter {
                name: "firings".into(),
                reason: format!("chunk {c} names feature {f}, but there are {} features", labels.len()),
            })?;
            firing[*lobe as usize] += 1;
        }
        let fraction = |l: usize| if sizes[l] == 0 { 0.0 } else { firing[l] as f64 / sizes[l] as f64 };
        let winner = (1..k).fold(0, |best, l| if fraction(l) > fraction(best) { l } else { best });
        wins[*category][winner] += 1;
        counted[*category] += 1;
    }
    let shares = wins
        .iter()
        .zip(&counted)
        .map(|(row, &total)| row.iter().map(|&w| if total == 0 { 0.0 } else { w as f64 / total as f64 }).collect())
        .collect();
    Ok(Specialisation { k, chunks: counted, wins, shares })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_summary_uses_the_population_std() {
        let t = NullTest::new(3.0, vec![1.0, 2.0, 3.0]);
        assert!((t.mean - 2.0).abs() < 1e-15);
        assert!((t.std - (2.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((t.sigma - 1.0 / (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(NullTest::new(1.0, vec![0.5; 4]).sigma, f64::INFINITY);
    }

    #[test]
    fn specialisation_counts_the_lobe_with_the_largest_fraction() {
        // Lobe 0 = features 0..4 (4), lobe 1 = features 4..6 (2).
        let labels = [0, 0, 0, 0, 1, 1];
        let a: &[u32] = &[0, 1, 4]; // 2/4 vs 1/2: tie -> lobe 0
        let b: &[u32] = &[4, 5, 0]; // 1/4 vs 2/2 -> lobe 1
        let c: &[u32] = &[0, 1, 2]; // lobe 0
        let s = lobe_specialisation(&[(a, 0), (b, 0), (c, 1), (&[], 1)], 2, &labels, 2).unwrap();
        assert_eq!(s.wins, vec![vec![1, 1], vec![1, 0]]);
        assert_eq!(s.chunks, vec![2, 1]);
        assert_eq!(s.shares[0], vec![0.5, 0.5]);
        assert!(lobe_specialisation(&[(&[9], 0)], 1, &labels, 2).is_err());
    }

    #[test]
    fn most_similar_lists_the_largest_others_in_order() {
        let a = [1.0, 0.2, 0.9, 0.5, 0.2, 1.0, 0.1, 0.3, 0.9, 0.1, 1.0, 0.4, 0.5, 0.3, 0.4, 1.0];
        assert_eq!(most_similar(&a, 4, 2), vec![vec![2, 3], vec![3, 0], vec![0, 3], vec![0, 2]]);
        assert_eq!(most_similar(&a, 4, 9)[0], vec![2, 3, 1]);
    }

    #[test]
    fn the_split_must_leave_both_sides() {
        assert_eq!(train_split(10, 0.8).unwrap(), 8);
        assert!(train_split(10, 1.0).is_err());
        assert!(train_split(1, 0.8).is_err());
    }
}
