//! Pure math, no web types: linear algebra, statistics, and the three scales of the paper.
//!
//! - [`linalg`]: symmetric eigenvalues ([`sytrd`]: blocked Householder tridiagonalisation,
//!   [`sterf`]: tridiagonal eigenvalues).
//! - [`stats`]: `scipy.stats.linregress`, Student-t quantiles, the seeded RNG.
//! - [`galaxy`]: galaxy scale (paper section 3): covariance spectrum, power law, effective volume,
//!   isotropic Gaussian reference.
//!
//! Every fallible function returns a [`GeometryError`].

pub mod galaxy;
pub mod linalg;
pub mod stats;
pub mod sterf;
pub mod sytrd;
pub mod twostage;

mod error;

pub use error::GeometryError;
