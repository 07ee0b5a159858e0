//! Pure math, no web types: linear algebra, statistics, and the three scales of the paper.
//!
//! - [`linalg`]: symmetric eigenvalues ([`sytrd`]: blocked Householder tridiagonalisation,
//!   [`sterf`]: tridiagonal eigenvalues).
//! - [`stats`]: `scipy.stats.linregress`, Student-t quantiles, the seeded RNG.
//! - [`galaxy`]: galaxy scale (paper section 3): covariance spectrum, power law, effective volume,
//!   isotropic Gaussian reference, and the clustering entropy ([`entropy`]).
//! - [`eigvec`]: the top eigenvectors of a symmetric matrix; [`pca`]: exact PCA and z-scoring;
//!   [`knn`]: exact nearest neighbours.
//!
//! Every fallible function returns a [`GeometryError`].

pub mod eigvec;
pub mod entropy;
pub mod galaxy;
pub mod knn;
pub mod linalg;
pub mod pca;
pub mod stats;
pub mod sterf;
pub mod sytrd;
pub mod twostage;

mod error;

pub use error::GeometryError;
