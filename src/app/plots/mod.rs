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

use plotters::coord::{cartesian::Cartesian2d, ranged1d::Ranged, CoordTranslate};
use plotters::prelude::{ChartContext, DashedLineSeries, DrawingAreaErrorKind, DrawingBackend, LineSeries, PathElement, ShapeStyle};

use crate::chart_view::{ChartLayout, HoverPoint, Panel, Window};

/// A plotters drawing error.
pub type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The panel of `chart`: its plotting area in backend pixels, the `window` it shows, and the
/// points a pointer can hover.
pub fn panel_of<DB: DrawingBackend, X: Ranged, Y: Ranged>(
    chart: &ChartContext<DB, Cartesian2d<X, Y>>,
    window: Window,
    points: Vec<HoverPoint>,
) -> Panel {
    let (x, y) = chart.plotting_area().get_pixel_range();
    Panel { left: x.start as f64, right: x.end as f64, top: y.start as f64, bottom: y.end as f64, window, points }
}

/// `layout` (backend pixels) in the CSS pixels of `canvas`, where pointer events are measured.
pub fn in_css_pixels(canvas: &HtmlCanvasElement, mut layout: ChartLayout) -> ChartLayout {
    let k = canvas.width() as f64 / canvas.client_width().max(1) as f64;
    for p in &mut layout.panels {
        (p.left, p.right, p.top, p.bottom) = (p.left / k, p.right / k, p.top / k, p.bottom / k);
    }
    layout
}

/// The polyline `points` as solid line, cut to `window`.
pub fn clipped_line<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<DB, CT>,
    window: &Window,
    points: &[(f64, f64)],
    style: ShapeStyle,
) -> DrawResult<(), DB> {
    for part in window.clip_polyline(points) {
        chart.draw_series(LineSeries::new(part, style))?;
    }
    Ok(())
}

/// The polyline `points` dashed (`dash` on, `gap` off, backend pixels), cut to `window`.
pub fn clipped_dashes<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<DB, CT>,
    window: &Window,
    points: &[(f64, f64)],
    (dash, gap): (u32, u32),
    style: ShapeStyle,
) -> DrawResult<(), DB> {
    for part in window.clip_polyline(points) {
        chart.draw_series(DashedLineSeries::new(part, dash, gap, style))?;
    }
    Ok(())
}

/// A legend entry (a short line of `style`) named `label`, whether or not its series is in view.
pub fn legend_entry<'a, DB: DrawingBackend + 'a, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'a, DB, CT>,
    label: impl Into<String>,
    style: ShapeStyle,
) -> DrawResult<(), DB> {
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    Ok(())
}
