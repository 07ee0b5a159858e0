//! The eigenvalue spectrum on log-log axes: the data, the fitted power law over its ranks, and the
//! isotropic Gaussian reference.

use plotters::coord::Shift;
use plotters::prelude::*;
use web_sys::HtmlCanvasElement;

use super::{clipped_line, legend_entry, panel_of, DrawResult};
use crate::analysis::GalaxyReport;
use crate::chart_view::{axis_number, tooltip_number, Axis, ChartLayout, HoverPoint, Window, Zoom};

const DATA: RGBColor = RGBColor(31, 90, 166);
const FIT: RGBColor = RGBColor(214, 69, 32);
const ISOTROPIC: RGBColor = RGBColor(120, 120, 120);
const FIT_RANGE: RGBColor = RGBColor(252, 235, 214);

/// Height over width of the spectrum plot.
pub const SPECTRUM_ASPECT: f64 = 0.58;

/// Draws the spectrum of `report` on `canvas` (sized to its CSS box times the device pixel ratio)
/// in the window `zoom` gives. Returns where it was drawn, in CSS pixels.
pub fn draw_spectrum(canvas: &HtmlCanvasElement, report: &GalaxyReport, zoom: &Zoom) -> Result<ChartLayout, String> {
    let (root, scale) = super::canvas_root(canvas, SPECTRUM_ASPECT)?;
    let layout = spectrum_chart(&root, report, scale, zoom).map_err(|e| e.to_string())?;
    Ok(super::in_css_pixels(canvas, layout))
}

/// Points (rank, eigenvalue) with a positive eigenvalue (log axes cannot show the others).
fn positive_points(eigenvalues: &[f64]) -> Vec<(f64, f64)> {
    eigenvalues
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0.0)
        .map(|(i, v)| ((i + 1) as f64, *v))
        .collect()
}

/// The chart on any plotters backend, in the window `zoom` gives (else all the ranks and
/// eigenvalues). Returns its layout in backend pixels.
pub fn spectrum_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &GalaxyReport,
    scale: f64,
    zoom: &Zoom,
) -> DrawResult<ChartLayout, DB> {
    let s = |v: f64| (v * scale).round() as i32;
    root.fill(&WHITE)?;
    let spectrum = &report.spectrum;
    let data = positive_points(&spectrum.eigenvalues);
    let iso = positive_points(&spectrum.isotropic_eigenvalues);
    let all = data.iter().chain(iso.iter()).map(|p| p.1);
    let (lo, hi) = all.fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        (lo / 1.5, hi * 1.5)
    } else {
        (1e-6, 1.0)
    };
    let max_rank = spectrum.d.max(2) as f64;
    let window = zoom.window(0, Window { x: Axis::log(1.0, max_rank * 1.05), y: Axis::log(lo, hi) });

    let fit = &spectrum.power_law;
    let mut chart = ChartBuilder::on(root)
        .margin(s(14.0))
        .caption(
            format!(
                "slope {:.4}  [{:.4}, {:.4}]  over ranks {}–{}",
                fit.slope, fit.ci95[0], fit.ci95[1], fit.first_rank, fit.last_rank
            ),
            ("sans-serif", s(17.0)),
        )
        .x_label_area_size(s(44.0))
        .y_label_area_size(s(72.0))
        .build_cartesian_2d((window.x.lo..window.x.hi).log_scale(), (window.y.lo..window.y.hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("rank")
        .y_desc("eigenvalue")
        .x_labels(8)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| axis_number(*v))
        .label_style(("sans-serif", s(13.0)))
        .axis_desc_style(("sans-serif", s(14.0)))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()?;

    if let Some(corners) = window.clip_box((fit.first_rank as f64, lo), (fit.last_rank as f64, hi)) {
        chart.draw_series(std::iter::once(Rectangle::new([corners.0, corners.1], FIT_RANGE.filled())))?;
    }
    if !iso.is_empty() {
        let style = ISOTROPIC.stroke_width(s(2.0) as u32);
        clipped_line(&mut chart, &window, &iso, style)?;
        let label = match spectrum.isotropic_slope {
            Some(v) => format!("isotropic Gaussian (slope {v:.3})"),
            None => "isotropic Gaussian".to_string(),
        };
        legend_entry(&mut chart, label, ISOTROPIC.stroke_width(2))?;
    }
    clipped_line(&mut chart, &window, &data, DATA.stroke_width(s(2.0) as u32))?;
    legend_entry(&mut chart, "eigenvalues", DATA.stroke_width(2))?;
    let fit_line = |r: f64| 10f64.powf(fit.intercept + fit.slope * r.log10());
    let (a, b) = (fit.first_rank as f64, fit.last_rank as f64);
    let fitted: Vec<(f64, f64)> = (0..=40).map(|i| a * (b / a).powf(i as f64 / 40.0)).map(|r| (r, fit_line(r))).collect();
    clipped_line(&mut chart, &window, &fitted, FIT.stroke_width(s(3.0) as u32))?;
    legend_entry(&mut chart, format!("power law fit, slope {:.4}", fit.slope), FIT.stroke_width(3))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", s(13.0)))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()?;
    let mut points: Vec<HoverPoint> = data
        .iter()
        .map(|&(rank, v)| HoverPoint {
            x: rank,
            y: v,
            label: format!("rank {rank}: eigenvalue {}{}", tooltip_number(v), if rank >= a && rank <= b {
                format!(" (fit {})", tooltip_number(fit_line(rank)))
            } else {
                String::new()
            }),
        })
        .collect();
    points.extend(iso.iter().map(|&(rank, v)| HoverPoint { x: rank, y: v, label: format!("rank {rank}: isotropic Gaussian {}", tooltip_number(v)) }));
    let panel = panel_of(&chart, window, points);
    root.present()?;
    Ok(ChartLayout { panels: vec![panel] })
}
