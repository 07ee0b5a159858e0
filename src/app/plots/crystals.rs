//! The crystals page's charts (plotters on canvas): silhouette against the number of LDA
//! components with the raw baseline (paper Figures 1 and 9), the word-length distractor (Figure
//! 10), and the small drawing of one crystal cluster found among SAE features.

use plotters::coord::Shift;
use plotters::prelude::*;
use web_sys::HtmlCanvasElement;

use super::{canvas_root, clipped_dashes, clipped_line, in_css_pixels, legend_entry, panel_of, DrawResult};
use crate::chart_view::{tooltip_number, Axis, ChartLayout, HoverPoint, Window, Zoom};
use super::lobes::lobe_colour;
use crate::analysis::crystals::{CrystalReport, WordLength};
use crate::geometry::crystal_search::CrystalCluster;

/// Silhouette of the task clusters against the LDA component count, and the raw baseline.
/// Height over width of the silhouette plot.
pub const SILHOUETTE_ASPECT: f64 = 0.45;

pub fn draw_silhouettes(canvas: &HtmlCanvasElement, report: &CrystalReport, zoom: &Zoom) -> Result<ChartLayout, String> {
    let (root, scale) = canvas_root(canvas, SILHOUETTE_ASPECT)?;
    let layout = silhouette_chart(&root, report, scale, zoom).map_err(|e| e.to_string())?;
    Ok(in_css_pixels(canvas, layout))
}

/// [`draw_silhouettes`] on any plotters backend.
pub fn silhouette_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &CrystalReport,
    scale: f64,
    zoom: &Zoom,
) -> DrawResult<ChartLayout, DB> {
    let s = |v: f64| (v * scale).round() as i32;
    root.fill(&WHITE)?;
    let points: Vec<(f64, f64)> = report.silhouette_lda.iter().map(|(&m, &v)| (m as f64, v)).collect();
    let (x0, x1) = (points.first().map_or(1.0, |p| p.0), points.last().map_or(2.0, |p| p.0).max(points.first().map_or(1.0, |p| p.0) + 1.0));
    let values = points.iter().map(|p| p.1).chain([report.silhouette_raw, 0.0]);
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let pad = ((hi - lo) * 0.08).max(0.01);
    let window = zoom.window(0, Window { x: Axis::linear(x0 - 0.3, x1 + 0.3), y: Axis::linear(lo - pad, hi + pad) });
    let mut chart = ChartBuilder::on(root)
        .caption("Silhouette of the tasks' difference vectors", ("sans-serif", s(15.0)))
        .margin(s(10.0))
        .x_label_area_size(s(36.0))
        .y_label_area_size(s(52.0))
        .build_cartesian_2d(window.x.lo..window.x.hi, window.y.lo..window.y.hi)?;
    chart
        .configure_mesh()
        .x_desc("LDA components kept")
        .y_desc("silhouette score")
        .label_style(("sans-serif", s(12.0)))
        .x_labels(points.len().max(2))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    let blue = lobe_colour(0);
    clipped_line(&mut chart, &window, &points, blue.stroke_width(s(2.0) as u32))?;
    legend_entry(&mut chart, "after LDA (distractors removed)", blue.stroke_width(2))?;
    chart.draw_series(points.iter().filter(|p| window.contains(**p)).map(|&p| Circle::new(p, s(3.5), blue.filled())))?;
    let grey = RGBColor(120, 120, 120);
    let raw = [(x0 - 0.3, report.silhouette_raw), (x1 + 0.3, report.silhouette_raw)];
    clipped_dashes(&mut chart, &window, &raw, (s(6.0) as u32, s(4.0) as u32), grey.stroke_width(s(2.0) as u32))?;
    legend_entry(&mut chart, format!("raw differences ({:.3})", report.silhouette_raw), grey.stroke_width(2))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", s(12.0)))
        .draw()?;
    let hover = points
        .iter()
        .map(|&(m, v)| HoverPoint { x: m, y: v, label: format!("{m} LDA components: silhouette {} (raw {})", tooltip_number(v), tooltip_number(report.silhouette_raw)) })
        .collect();
    let drawn = panel_of(&chart, window, hover);
    root.present()?;
    Ok(ChartLayout { panels: vec![drawn] })
}

/// Per task, the distribution of its quads' relative errors before (grey) and after LDA (blue), as
/// shares of the task's quads in each bin; one small panel per task.
pub fn draw_quad_distributions(canvas: &HtmlCanvasElement, report: &CrystalReport, zoom: &Zoom) -> Result<ChartLayout, String> {
    let tasks: Vec<&str> = report.tasks.iter().map(|t| t.name.as_str()).filter(|t| report.parallelogram.get(*t).is_some_and(|p| p.quads > 0)).collect();
    let cols = 4;
    let rows = tasks.len().div_ceil(cols).max(1);
    let (root, scale) = canvas_root(canvas, 0.2 * rows as f64)?;
    let layout = distributions_chart(&root, report, &tasks, (rows, cols), scale, zoom).map_err(|e| e.to_string())?;
    Ok(in_css_pixels(canvas, layout))
}

fn distributions_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &CrystalReport,
    tasks: &[&str],
    grid: (usize, usize),
    scale: f64,
    zoom: &Zoom,
) -> DrawResult<ChartLayout, DB> {
    let s = |v: f64| (v * scale).round() as i32;
    root.fill(&WHITE)?;
    let mut layout = ChartLayout::default();
    for (i, (panel, task)) in root.split_evenly(grid).iter().zip(tasks).enumerate() {
        let p = &report.parallelogram[*task];
        let shares = |h: &crate::geometry::quads::Histogram| -> Vec<f64> {
            let total = h.counts.iter().sum::<u64>().max(1) as f64;
            h.counts.iter().map(|&c| c as f64 / total).collect()
        };
        let (before, after) = (shares(&p.before.relative_error_histogram), shares(&p.after.relative_error_histogram));
        let top = before.iter().chain(&after).fold(0f64, |a, &b| a.max(b)) * 1.1;
        let (lo, hi) = (p.before.relative_error_histogram.lo, p.before.relative_error_histogram.hi);
        let width = (hi - lo) / before.len().max(1) as f64;
        let window = zoom.window(i, Window { x: Axis::linear(lo, hi), y: Axis::linear(0.0, top.max(1e-9)) });
        let mut chart = ChartBuilder::on(panel)
            .caption(*task, ("sans-serif", s(12.0)))
            .margin(s(4.0))
            .x_label_area_size(s(18.0))
            .y_label_area_size(s(8.0))
            .build_cartesian_2d(window.x.lo..window.x.hi, window.y.lo..window.y.hi)?;
        chart.configure_mesh().disable_mesh().y_labels(0).x_labels(5).label_style(("sans-serif", s(10.0))).draw()?;
        for (values, colour) in [(&before, RGBColor(150, 150, 150).mix(0.6)), (&after, lobe_colour(0).mix(0.6))] {
            chart.draw_series(values.iter().enumerate().filter_map(|(b, &v)| {
                let x0 = lo + b as f64 * width;
                let (p, q) = window.clip_box((x0, 0.0), (x0 + width, v))?;
                Some(Rectangle::new([p, q], colour.filled()))
            }))?;
        }
        let hover = before
            .iter()
            .zip(&after)
            .enumerate()
            .map(|(b, (&u, &v))| {
                let x0 = lo + b as f64 * width;
                HoverPoint {
                    x: x0 + width / 2.0,
                    y: u.max(v),
                    label: format!("{task}, relative error [{}, {}): {:.1}% of quads before LDA, {:.1}% after", tooltip_number(x0), tooltip_number(x0 + width), 100.0 * u, 100.0 * v),
                }
            })
            .collect();
        layout.panels.push(panel_of(&chart, window, hover));
    }
    root.present()?;
    Ok(layout)
}

/// PC0 of the z-scored difference vectors against the length difference of the last tokens.
pub fn draw_word_length(canvas: &HtmlCanvasElement, fit: &WordLength, layer: Option<u32>, zoom: &Zoom) -> Result<ChartLayout, String> {
    let (root, scale) = canvas_root(canvas, 0.5)?;
    let layout = word_length_chart(&root, fit, layer, scale, zoom).map_err(|e| e.to_string())?;
    Ok(in_css_pixels(canvas, layout))
}

/// [`draw_word_length`] on any plotters backend.
pub fn word_length_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fit: &WordLength,
    layer: Option<u32>,
    scale: f64,
    zoom: &Zoom,
) -> DrawResult<ChartLayout, DB> {
    let s = |v: f64| (v * scale).round() as i32;
    root.fill(&WHITE)?;
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for p in &fit.points {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (-1.0, 1.0, -1.0, 1.0);
    }
    let caption = format!(
        "Word length{}: PC0 of z-scored differences vs length difference (r = {:.3})",
        layer.map_or(String::new(), |l| format!(", layer {l}")),
        fit.r
    );
    let window = zoom.window(0, Window { x: Axis::linear(x0 - 0.8, x1 + 0.8), y: Axis::linear(y0 - 0.5, y1 + 0.5) });
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", s(14.0)))
        .margin(s(10.0))
        .x_label_area_size(s(36.0))
        .y_label_area_size(s(48.0))
        .build_cartesian_2d(window.x.lo..window.x.hi, window.y.lo..window.y.hi)?;
    chart
        .configure_mesh()
        .x_desc("len(output token) - len(input token), characters")
        .y_desc("PC0")
        .label_style(("sans-serif", s(12.0)))
        .draw()?;
    // A deterministic horizontal jitter separates the integer columns.
    let jitter = |i: usize| ((i as u64).wrapping_mul(2654435761) % 1000) as f64 / 1000.0 * 0.5 - 0.25;
    let blue = lobe_colour(0).mix(0.25);
    let shown: Vec<(f64, f64)> = fit.points.iter().enumerate().map(|(i, p)| (p[0] + jitter(i), p[1])).collect();
    chart.draw_series(shown.iter().filter(|p| window.contains(**p)).map(|&p| Circle::new(p, s(1.5), blue.filled())))?;
    let red = lobe_colour(3);
    let line = [x0 - 0.8, x1 + 0.8].map(|x| (x, fit.slope * x + fit.intercept));
    clipped_line(&mut chart, &window, &line, red.stroke_width(s(2.0) as u32))?;
    legend_entry(&mut chart, format!("least squares: slope {:.3}, r = {:.3}", fit.slope, fit.r), red.stroke_width(2))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", s(12.0)))
        .draw()?;
    let hover = fit
        .points
        .iter()
        .zip(&shown)
        .enumerate()
        .map(|(i, (p, &(x, y)))| HoverPoint { x, y, label: format!("pair {i}: length difference {:.0}, PC0 {}", p[0], tooltip_number(p[1])) })
        .collect();
    let drawn = panel_of(&chart, window, hover);
    root.present()?;
    Ok(ChartLayout { panels: vec![drawn] })
}

/// One cluster of the crystal search: its features on their first two principal axes, each
/// member pair as an arrow (the shared edge direction), the best quad's pairs highlighted.
pub fn draw_crystal_cluster(canvas: &HtmlCanvasElement, cluster: &CrystalCluster, zoom: &Zoom) -> Result<ChartLayout, String> {
    let (root, scale) = canvas_root(canvas, 0.8)?;
    let layout = cluster_chart(&root, cluster, scale, zoom).map_err(|e| e.to_string())?;
    Ok(in_css_pixels(canvas, layout))
}

fn cluster_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cluster: &CrystalCluster,
    scale: f64,
    zoom: &Zoom,
) -> DrawResult<ChartLayout, DB> {
    let s = |v: f64| (v * scale).round() as i32;
    root.fill(&WHITE)?;
    let at = |f: u32| cluster.layout_features.iter().position(|&x| x == f).map(|i| cluster.layout[i]);
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for p in &cluster.layout {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    if !x0.is_finite() {
        root.present()?;
        return Ok(ChartLayout::default());
    }
    let pad = ((x1 - x0).max(y1 - y0) * 0.12).max(1e-6);
    let window = zoom.window(0, Window { x: Axis::linear(x0 - pad, x1 + pad), y: Axis::linear(y0 - pad, y1 + pad) });
    let mut chart = ChartBuilder::on(root)
        .margin(s(6.0))
        .build_cartesian_2d(window.x.lo..window.x.hi, window.y.lo..window.y.hi)?;
    let best: Vec<u32> = cluster.quads.first().map(|q| q.features.to_vec()).unwrap_or_default();
    for &[a, b] in &cluster.pairs {
        let (Some(p), Some(q)) = (at(a), at(b)) else { continue };
        let highlighted = best.contains(&a) && best.contains(&b);
        let colour = if highlighted { lobe_colour(3).mix(1.0) } else { lobe_colour(0).mix(0.6) };
        let width = if highlighted { s(2.5) } else { s(1.2) } as u32;
        clipped_line(&mut chart, &window, &[(p[0], p[1]), (q[0], q[1])], colour.stroke_width(width))?;
        if window.contains((q[0], q[1])) {
            chart.draw_series(std::iter::once(Circle::new((q[0], q[1]), s(3.0), colour.filled())))?;
        }
        if window.contains((p[0], p[1])) {
            chart.draw_series(std::iter::once(Circle::new((p[0], p[1]), s(3.0), colour.stroke_width(1))))?;
        }
    }
    if let [a, b, c, d] = best[..] {
        // The closing edges of the best quad: a - c and b - d.
        for (u, v) in [(a, c), (b, d)] {
            if let (Some(p), Some(q)) = (at(u), at(v)) {
                let edge = [(p[0], p[1]), (q[0], q[1])];
                clipped_dashes(&mut chart, &window, &edge, (s(4.0) as u32, s(3.0) as u32), RGBColor(90, 90, 90).stroke_width(1))?;
            }
        }
    }
    let hover = cluster
        .layout_features
        .iter()
        .zip(&cluster.layout)
        .map(|(&f, p)| {
            let partners: Vec<String> = cluster
                .pairs
                .iter()
                .filter_map(|&[a, b]| if a == f { Some(b) } else if b == f { Some(a) } else { None })
                .map(|g| g.to_string())
                .collect();
            let role = if best.contains(&f) { " (in the best quad)" } else { "" };
            HoverPoint { x: p[0], y: p[1], label: format!("feature {f}{role}; paired with {}", partners.join(", ")) }
        })
        .collect();
    let drawn = panel_of(&chart, window, hover);
    root.present()?;
    Ok(ChartLayout { panels: vec![drawn] })
}
