//! Plots drawn with plotters on canvas.

pub mod spectrum;
pub mod layers;
pub mod cloud3d;
pub mod lobes;
pub mod lobe_map;
pub mod crystals;
pub mod crystal_view;
pub mod viewport;

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, IntoDrawingArea};
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

/// Sizes `canvas` to its CSS width (height = `aspect` x width) at the device pixel ratio and
/// returns its plotters drawing area with the scale for fonts and strokes: the pixel ratio, less on
/// plots narrower than 640 CSS pixels (a phone), so that captions and labels still fit.
pub fn canvas_root(canvas: &HtmlCanvasElement, aspect: f64) -> Result<(DrawingArea<CanvasBackend, Shift>, f64), String> {
    let ratio = web_sys::window().map(|w| w.device_pixel_ratio()).unwrap_or(1.0).max(1.0);
    let css_width = canvas.client_width().max(320) as f64;
    canvas.set_width((css_width * ratio) as u32);
    canvas.set_height((css_width * aspect * ratio) as u32);
    let backend = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("this browser gives no 2D canvas")?;
    Ok((backend.into_drawing_area(), ratio * (css_width / 640.0).clamp(0.6, 1.0)))
}
