//! The heavy kernels (covariance / Gram, ...) behind one interface. CPU backend today.

pub mod cpu;
