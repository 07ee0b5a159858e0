//! Plots drawn with plotters on canvas.

pub mod spectrum;
pub mod layers;
pub mod cloud3d;
pub mod lobes;
pub mod lobe_map;
