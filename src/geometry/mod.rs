//! Pure math, no web types: linear algebra, statistics, and the three scales of the paper.
//!
//! - [`linalg`]: symmetric eigenvalues ([`sytrd`]: blocked Householder tridiagonalisation,
//!   [`sterf`]: tridiagonal eigenvalues).
//! - [`stats`]: `scipy.stats.linregress`, Student-t quantiles, the seeded RNG.
//! - [`galaxy`]: galaxy scale (paper section 3): covariance spectrum, power law, effective volume,
//!   isotropic Gaussian reference, and the clustering entropy ([`entropy`]).
//! - [`eigvec`]: the top eigenvectors of a symmetric matrix; [`pca`]: exact PCA and z-scoring;
//!   [`knn`]: exact nearest neighbours.
//! - Brain scale (paper section 2): [`cooccurrence`] histogram, [`affinity`] (the five
//!   co-occurrence affinities and the angular similarity), [`spectral`] clustering with [`kmeans`], [`ami`] and [`logistic`] regression for the
//!   agreement with geometry, and the whole analysis in [`lobes`].
//! - Atom scale (paper section 1): word-pair [`crystals`] (difference vectors, the word-length
//!   distractor), [`lda`] distractor removal, [`silhouette`] scores, the parallelogram quality of
//!   [`quads`], and the [`crystal_search`] among SAE features.
//!
//! Every fallible function returns a [`GeometryError`].

pub mod affinity;
pub mod ami;
pub mod cooccurrence;
pub mod crystal_search;
pub mod crystals;
pub mod eigvec;
pub mod entropy;
pub mod galaxy;
pub mod kmeans;
pub mod lda;
pub mod knn;
pub mod linalg;
pub mod lobes;
pub mod logistic;
pub mod numpy_rng;
pub mod pca;
pub mod quads;
pub mod silhouette;
pub mod stats;
pub mod spectral;
pub mod sterf;
pub mod sytrd;
#[cfg(test)]
pub(crate) mod test_data;
pub mod tsne;
pub mod twostage;

mod error;

pub use error::GeometryError;
