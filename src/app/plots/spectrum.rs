//! The eigenvalue spectrum on log-log axes: the data, the fitted power law over its ranks, and the
//! isotropic Gaussian reference.

use plotters::coord::Shift;
use plotters::prelude::*;
use web_sys::HtmlCanvasElement;

use crate::analysis::GalaxyReport;

const DATA: RGBColor = RGBColor(31, 90, 166);
const FIT: RGBColor = RGBColor(214, 69, 32);
const ISOTROPIC: RGBColor = RGBColor(120, 120, 120);
const FIT_RANGE: RGBColor = RGBColor(252, 235, 214);

/// Height over width of the spectrum plot.
pub const SPECTRUM_ASPECT: f64 = 0.58;

/// Where the rank axis lies on the canvas, in CSS pixels from the canvas's left edge, and the ranks
/// at its two ends (log scale), so that a drag on the plot can be read as a range of ranks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankAxis {
    pub left_px: f64,
    pub right_px: f64,
    pub first_rank: f64,
    pub last_rank: f64,
}

impl RankAxis {
    /// The rank under CSS x-position `px` (clamped to the axis), rounded to a whole rank.
    pub fn rank_at(&self, px: f64) -> usize {
        let t = ((px - self.left_px) / (self.right_px - self.left_px).max(1e-9)).clamp(0.0, 1.0);
        let log = self.first_rank.log10() + t * (self.last_rank.log10() - self.first_rank.log10());
        10f64.powf(log).round().max(1.0) as usize
    }
}

/// Draws the spectrum of `report` on `canvas` (sized to its CSS box times the device pixel ratio).
/// Returns where the rank axis was drawn.
pub fn draw_spectrum(canvas: &HtmlCanvasElement, report: &GalaxyReport) -> Result<RankAxis, String> {
    let (root, scale) = super::canvas_root(canvas, SPECTRUM_ASPECT)?;
    let (left, right) = spectrum_chart(&root, report, scale).map_err(|e| e.to_string())?;
    // Backend pixels per CSS pixel (the device pixel ratio; `scale` may be less on a phone).
    let pixels = canvas.width() as f64 / canvas.client_width().max(320) as f64;
    Ok(RankAxis {
        left_px: left as f64 / pixels,
        right_px: right as f64 / pixels,
        first_rank: 1.0,
        last_rank: report.spectrum.d.max(2) as f64 * 1.05,
    })
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

/// The chart on any plotters backend (canvas in the app, SVG for export). Returns the backend
/// pixel columns of the rank axis's two ends.
pub fn spectrum_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &GalaxyReport,
    scale: f64,
) -> Result<(i32, i32), DrawingAreaErrorKind<DB::ErrorType>> {
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
        .build_cartesian_2d((1f64..max_rank * 1.05).log_scale(), (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("rank")
        .y_desc("eigenvalue")
        .label_style(("sans-serif", s(13.0)))
        .axis_desc_style(("sans-serif", s(14.0)))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()?;

    chart.draw_series(std::iter::once(Rectangle::new(
        [(fit.first_rank as f64, lo), (fit.last_rank as f64, hi)],
        FIT_RANGE.filled(),
    )))?;
    if !iso.is_empty() {
        chart
            .draw_series(LineSeries::new(iso, ISOTROPIC.stroke_width(s(2.0) as u32)))?
            .label(match spectrum.isotropic_slope {
                Some(v) => format!("isotropic Gaussian (slope {v:.3})"),
                None => "isotropic Gaussian".to_string(),
            })
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], ISOTROPIC.stroke_width(2)));
    }
    chart
        .draw_series(LineSeries::new(
            data.iter().copied(),
            DATA.stroke_width(s(2.0) as u32),
        ))?
        .label("eigenvalues")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], DATA.stroke_width(2)));
    let fit_line = |r: f64| 10f64.powf(fit.intercept + fit.slope * r.log10());
    let (a, b) = (fit.first_rank as f64, fit.last_rank as f64);
    chart
        .draw_series(LineSeries::new(
            (0..=40)
                .map(|i| a * (b / a).powf(i as f64 / 40.0))
                .map(|r| (r, fit_line(r))),
            FIT.stroke_width(s(3.0) as u32),
        ))?
        .label(format!("power law fit, slope {:.4}", fit.slope))
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], FIT.stroke_width(3)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", s(13.0)))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()?;
    let (x_pixels, _) = chart.plotting_area().get_pixel_range();
    root.present()?;
    Ok((x_pixels.start, x_pixels.end))
}
