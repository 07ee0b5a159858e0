//! Plots drawn with plotters on canvas.

pub mod spectrum;
pub mod layers;
