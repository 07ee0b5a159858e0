//! The lobes page's charts (plotters on canvas): agreement against k for each affinity (the
//! paper's Figures 3 and 5), and a null distribution with the true value marked.

use plotters::coord::Shift;
use plotters::prelude::*;
use web_sys::HtmlCanvasElement;

use super::{canvas_root, clipped_line, in_css_pixels, legend_entry, panel_of, DrawResult};
use crate::chart_view::{tooltip_number, Axis, ChartLayout, HoverPoint, Window, Zoom};
use crate::analysis::lobes::LobesReport;
use crate::geometry::affinity::Affinity;
use crate::geometry::lobes::NullTest;

/// Colour of lobe `l` (Tableau 10, repeating after ten lobes).
pub fn lobe_colour(l: usize) -> RGBColor {
    const PALETTE: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    PALETTE[l % PALETTE.len()]
}

/// CSS `rgb(...)` of [`lobe_colour`].
pub fn lobe_css(l: usize) -> String {
    let RGBColor(r, g, b) = lobe_colour(l);
    format!("rgb({r},{g},{b})")
}

/// Colour of an affinity's line (its index in [`Affinity::ALL`]).
pub fn affinity_colour(a: Affinity) -> RGBColor {
    lobe_colour(Affinity::ALL.iter().position(|&x| x == a).unwrap_or(0))
}

/// AMI (left) and balanced accuracy (right) against k, one line per affinity.
/// Height over width of the comparison plot.
pub const COMPARISON_ASPECT: f64 = 0.36;

pub fn draw_affinity_comparison(canvas: &HtmlCanvasElement, reports: &[LobesReport], zoom: &Zoom) -> Result<ChartLayout, String> {
    let (root, scale) = canvas_root(canvas, COMPARISON_ASPECT)?;
    let layout = comparison_chart(&root, reports, scale, zoom).map_err(|e| e.to_string())?;
    Ok(in_css_pixels(canvas, layout))
}

/// [`draw_affinity_comparison`] on any plotters backend.
pub fn comparison_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    reports: &[LobesReport],
    scale: f64,
    zoom: &Zoom,
) -> DrawResult<ChartLayout, DB> {
    let s = |v: f64| (v * scale).round() as i32;
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    let k_lo = reports.iter().map(|r| r.params.k).min().unwrap_or(2) as f64;
    let k_hi = reports.iter().map(|r| r.params.k).max().unwrap_or(8) as f64;
    // The legend goes where the lines are low: AMI grows with k, balanced accuracy falls.
    let metrics: [(&str, &dyn Fn(&LobesReport) -> f64, SeriesLabelPosition); 2] = [
        ("AMI of co-occurrence and geometric lobes", &|r| r.agreement.ami, SeriesLabelPosition::UpperLeft),
        ("balanced accuracy, decoder row → lobe", &|r| r.agreement.balanced_accuracy, SeriesLabelPosition::UpperRight),
    ];
    let mut layout = ChartLayout::default();
    for (i, (panel, (title, value, legend))) in panels.iter().zip(metrics).enumerate() {
        let values: Vec<f64> = reports.iter().map(value).filter(|v| v.is_finite()).collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max).max(lo + 1e-3) * 1.08;
        let window = zoom.window(i, Window { x: Axis::linear(k_lo - 0.3, k_hi + 0.3), y: Axis::linear(lo, hi) });
        let mut chart = ChartBuilder::on(panel)
            .margin(s(12.0))
            .caption(title, ("sans-serif", s(15.0)))
            .x_label_area_size(s(36.0))
            .y_label_area_size(s(56.0))
            .build_cartesian_2d(window.x.lo..window.x.hi, window.y.lo..window.y.hi)?;
        chart
            .configure_mesh()
            .x_desc("k (lobes)")
            .x_labels((k_hi - k_lo) as usize + 1)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(("sans-serif", s(12.0)))
            .axis_desc_style(("sans-serif", s(13.0)))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        for affinity in Affinity::ALL {
            let mut line: Vec<(f64, f64)> =
                reports.iter().filter(|r| r.params.affinity == affinity).map(|r| (r.params.k as f64, value(r))).collect();
            if line.is_empty() {
                continue;
            }
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            let colour = affinity_colour(affinity);
            clipped_line(&mut chart, &window, &line, colour.stroke_width(s(2.0) as u32))?;
            legend_entry(&mut chart, affinity.title(), colour.stroke_width(3))?;
            chart.draw_series(line.iter().filter(|p| window.contains(**p)).map(|&p| Circle::new(p, s(3.5), colour.filled())))?;
        }
        let points = reports
            .iter()
            .map(|r| HoverPoint {
                x: r.params.k as f64,
                y: value(r),
                label: format!("{}, k = {}: {}", r.params.affinity.title(), r.params.k, tooltip_number(value(r))),
            })
            .collect();
        let drawn = panel_of(&chart, window, points);
        chart
            .configure_series_labels()
            .position(legend)
            .label_font(("sans-serif", s(11.0)))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .draw()?;
        layout.panels.push(drawn);
    }
    root.present()?;
    Ok(layout)
}

/// A histogram of the null draws with the true value as a red line.
pub fn draw_null(canvas: &HtmlCanvasElement, test: &NullTest, title: &str, zoom: &Zoom) -> Result<ChartLayout, String> {
    let (root, scale) = canvas_root(canvas, 0.55)?;
    let layout = null_chart(&root, test, title, scale, zoom).map_err(|e| e.to_string())?;
    Ok(in_css_pixels(canvas, layout))
}

/// [`draw_null`] on any plotters backend.
pub fn null_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    test: &NullTest,
    title: &str,
    scale: f64,
    zoom: &Zoom,
) -> DrawResult<ChartLayout, DB> {
    let s = |v: f64| (v * scale).round() as i32;
    root.fill(&WHITE)?;
    let draws = &test.draws;
    let lo = draws.iter().copied().fold(test.observed, f64::min);
    let hi = draws.iter().copied().fold(test.observed, f64::max);
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 1e-3 };
    let (lo, hi) = (lo - pad, hi + pad);
    // Bins across the draws' own range, so that their shape shows even when the true value is
    // hundreds of sigmas away.
    let (dlo, dhi) = draws.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let bins = 24usize;
    let width = if dhi > dlo { (dhi - dlo) / bins as f64 } else { (hi - lo) / bins as f64 };
    let mut counts = vec![0usize; bins];
    for &v in draws {
        let b = if width > 0.0 { ((v - dlo) / width) as usize } else { 0 };
        counts[b.min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.15;
    let window = zoom.window(0, Window { x: Axis::linear(lo, hi), y: Axis::linear(0.0, top) });
    let mut chart = ChartBuilder::on(root)
        .margin(s(10.0))
        .caption(title, ("sans-serif", s(14.0)))
        .x_label_area_size(s(32.0))
        .y_label_area_size(s(40.0))
        .build_cartesian_2d(window.x.lo..window.x.hi, window.y.lo..window.y.hi)?;
    chart
        .configure_mesh()
        .y_desc("trials")
        .x_labels(5)
        .label_style(("sans-serif", s(11.0)))
        .axis_desc_style(("sans-serif", s(12.0)))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()?;
    let bar = |b: usize| (dlo + b as f64 * width, dlo + (b + 1) as f64 * width);
    chart.draw_series(counts.iter().enumerate().filter_map(|(b, &c)| {
        let (x0, x1) = bar(b);
        let (p, q) = window.clip_box((x0, 0.0), (x1, c as f64))?;
        Some(Rectangle::new([p, q], RGBColor(150, 150, 150).filled()))
    }))?;
    clipped_line(&mut chart, &window, &[(test.observed, 0.0), (test.observed, top)], RGBColor(214, 39, 40).stroke_width(s(2.5) as u32))?;
    let mut points: Vec<HoverPoint> = counts
        .iter()
        .enumerate()
        .map(|(b, &c)| {
            let (x0, x1) = bar(b);
            HoverPoint { x: (x0 + x1) / 2.0, y: c as f64, label: format!("{c} of {} trials in [{}, {})", draws.len(), tooltip_number(x0), tooltip_number(x1)) }
        })
        .collect();
    points.push(HoverPoint {
        x: test.observed,
        y: top / 2.0,
        label: format!("true value {} ({} σ from the null's mean)", tooltip_number(test.observed), tooltip_number(test.sigma)),
    });
    let drawn = panel_of(&chart, window, points);
    root.present()?;
    Ok(ChartLayout { panels: vec![drawn] })
}
