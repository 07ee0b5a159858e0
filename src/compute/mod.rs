//! The heavy kernels (covariance / Gram, ...) behind one interface. CPU backend today.

pub mod cpu;
pub mod par;
pub mod simd;
