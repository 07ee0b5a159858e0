//! What a chart shows and where: its axes' ranges (linear or log), the user's zoom and pan of
//! them, clipping of the chart's lines, boxes and points to the shown window, and the data point
//! nearest the pointer (its tooltip). Pure, so that it is tested natively; the app's plotters
//! charts (`app::plots`) draw through it and the canvas handlers (`app::chart_canvas`) steer it.

/// How an axis maps values to positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    /// Positions proportional to `ln(value)`; values must be positive.
    Log,
}

/// One axis's shown range, `lo < hi`, on its scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub scale: Scale,
}

/// The narrowest zoom: an axis spans at least this share of its own width at zoom 1 (log axes: of
/// a decade) so that zooming cannot collapse it to a point.
const MIN_SPAN: f64 = 1e-9;

impl Axis {
    pub fn linear(lo: f64, hi: f64) -> Axis {
        Axis { lo, hi, scale: Scale::Linear }
    }

    pub fn log(lo: f64, hi: f64) -> Axis {
        Axis { lo, hi, scale: Scale::Log }
    }

    fn forward(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => v,
            Scale::Log => v.ln(),
        }
    }

    fn backward(&self, u: f64) -> f64 {
        match self.scale {
            Scale::Linear => u,
            Scale::Log => u.exp(),
        }
    }

    /// The position of `v` along the axis: 0 at `lo`, 1 at `hi` (outside [0, 1] beyond them).
    pub fn fraction(&self, v: f64) -> f64 {
        let (a, b) = (self.forward(self.lo), self.forward(self.hi));
        (self.forward(v) - a) / (b - a)
    }

    /// The value at position `t` (the inverse of [`Axis::fraction`]).
    pub fn value_at(&self, t: f64) -> f64 {
        let (a, b) = (self.forward(self.lo), self.forward(self.hi));
        self.backward(a + t * (b - a))
    }

    /// Whether the range can be shown on its scale: finite, `lo < hi`, and positive on a log axis.
    pub fn is_valid(&self) -> bool {
        self.lo.is_finite() && self.hi.is_finite() && self.lo < self.hi && (self.scale == Scale::Linear || self.lo > 0.0)
    }

    /// Whether `v` lies in `[lo, hi]`.
    pub fn contains(&self, v: f64) -> bool {
        v >= self.lo && v <= self.hi
    }

    /// The axis zoomed by `factor` (< 1 zooms in) about position `about` (0..1), which keeps its
    /// value.
    pub fn zoomed(&self, about: f64, factor: f64) -> Axis {
        let (a, b) = (self.forward(self.lo), self.forward(self.hi));
        let pivot = a + about.clamp(0.0, 1.0) * (b - a);
        let span = ((b - a) * factor).max(MIN_SPAN * (1.0 + pivot.abs()));
        let lo = pivot - about.clamp(0.0, 1.0) * span;
        self.from_forward(lo, lo + span)
    }

    /// The axis moved by `shift` of its span (positive: towards higher values).
    pub fn panned(&self, shift: f64) -> Axis {
        let (a, b) = (self.forward(self.lo), self.forward(self.hi));
        let d = shift * (b - a);
        self.from_forward(a + d, b + d)
    }

    fn from_forward(&self, a: f64, b: f64) -> Axis {
        let (lo, hi) = (self.backward(a), self.backward(b));
        if lo.is_finite() && hi.is_finite() && lo < hi && (self.scale == Scale::Linear || lo > 0.0) {
            Axis { lo, hi, scale: self.scale }
        } else {
            *self
        }
    }
}

/// The shown window of one panel: its two axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub x: Axis,
    pub y: Axis,
}

impl Window {
    /// Whether `(x, y)` is shown.
    pub fn contains(&self, (x, y): (f64, f64)) -> bool {
        self.x.contains(x) && self.y.contains(y)
    }

    /// The window zoomed by `factor` about the position `(tx, ty)` (fractions of each axis).
    pub fn zoomed(&self, (tx, ty): (f64, f64), factor: f64) -> Window {
        Window { x: self.x.zoomed(tx, factor), y: self.y.zoomed(ty, factor) }
    }

    /// The window moved by `(sx, sy)` of its spans.
    pub fn panned(&self, (sx, sy): (f64, f64)) -> Window {
        Window { x: self.x.panned(sx), y: self.y.panned(sy) }
    }

    /// The parts of the polyline `points` inside the window, each a polyline of its own; segments
    /// crossing the edge end on it (Liang-Barsky clipping on the axes' scales, so that a straight
    /// line on a log axis stays straight). Points with a non-finite coordinate break the line.
    pub fn clip_polyline(&self, points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
        let mut parts: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut current: Vec<(f64, f64)> = Vec::new();
        for pair in points.windows(2) {
            match self.clip_segment(pair[0], pair[1]) {
                Some((a, b)) => {
                    if current.last() != Some(&a) {
                        if current.len() > 1 {
                            parts.push(std::mem::take(&mut current));
                        }
                        current.clear();
                        current.push(a);
                    }
                    current.push(b);
                }
                None => {
                    if current.len() > 1 {
                        parts.push(std::mem::take(&mut current));
                    }
                    current.clear();
                }
            }
        }
        if current.len() > 1 {
            parts.push(current);
        }
        if points.len() == 1 && self.contains(points[0]) {
            parts.push(points.to_vec());
        }
        parts
    }

    /// The part of the segment `p`-`q` inside the window, if any.
    fn clip_segment(&self, p: (f64, f64), q: (f64, f64)) -> Option<((f64, f64), (f64, f64))> {
        let f = |v: (f64, f64)| (self.x.fraction(v.0), self.y.fraction(v.1));
        let (a, b) = (f(p), f(q));
        if ![a.0, a.1, b.0, b.1].iter().all(|v| v.is_finite()) {
            return None;
        }
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        for (step, room) in [(-dx, a.0), (dx, 1.0 - a.0), (-dy, a.1), (dy, 1.0 - a.1)] {
            if step == 0.0 {
                if room < 0.0 {
                    return None;
                }
            } else {
                let t = room / step;
                if step < 0.0 {
                    t0 = t0.max(t);
                } else {
                    t1 = t1.min(t);
                }
            }
        }
        if t0 > t1 {
            return None;
        }
        let at = |t: f64| {
            if t == 0.0 {
                p
            } else if t == 1.0 {
                q
            } else {
                (self.x.value_at(a.0 + t * dx), self.y.value_at(a.1 + t * dy))
            }
        };
        Some((at(t0), at(t1)))
    }

    /// The part of the axis-aligned box with corners `a` and `b` inside the window, if any.
    pub fn clip_box(&self, a: (f64, f64), b: (f64, f64)) -> Option<((f64, f64), (f64, f64))> {
        let (x0, x1) = (a.0.min(b.0).max(self.x.lo), a.0.max(b.0).min(self.x.hi));
        let (y0, y1) = (a.1.min(b.1).max(self.y.lo), a.1.max(b.1).min(self.y.hi));
        (x0 <= x1 && y0 <= y1).then_some(((x0, y0), (x1, y1)))
    }
}

/// A point that the pointer can hover: where it is (data coordinates) and what its tooltip says.
#[derive(Debug, Clone, PartialEq)]
pub struct HoverPoint {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

/// One panel of a drawn chart: where its plotting area lies on the canvas (CSS pixels from the
/// canvas's top-left corner), what window it shows, and its hoverable points.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub window: Window,
    pub points: Vec<HoverPoint>,
}

impl Panel {
    /// Whether the canvas position `(px, py)` lies on the plotting area.
    pub fn contains_px(&self, (px, py): (f64, f64)) -> bool {
        px >= self.left && px <= self.right && py >= self.top && py <= self.bottom
    }

    /// The position `(px, py)` as fractions of the window's axes (y up).
    pub fn fractions(&self, (px, py): (f64, f64)) -> (f64, f64) {
        ((px - self.left) / (self.right - self.left).max(1e-9), (self.bottom - py) / (self.bottom - self.top).max(1e-9))
    }

    /// The canvas position of the data point `(x, y)`.
    pub fn to_px(&self, (x, y): (f64, f64)) -> (f64, f64) {
        let (tx, ty) = (self.window.x.fraction(x), self.window.y.fraction(y));
        (self.left + tx * (self.right - self.left), self.bottom - ty * (self.bottom - self.top))
    }

    /// The data point under the canvas position `(px, py)`.
    pub fn to_data(&self, p: (f64, f64)) -> (f64, f64) {
        let (tx, ty) = self.fractions(p);
        (self.window.x.value_at(tx), self.window.y.value_at(ty))
    }
}

/// The panels of a drawn chart, in drawing order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartLayout {
    pub panels: Vec<Panel>,
}

impl ChartLayout {
    /// The index of the panel whose plotting area holds `(px, py)`.
    pub fn panel_at(&self, p: (f64, f64)) -> Option<usize> {
        self.panels.iter().position(|panel| panel.contains_px(p))
    }

    /// The shown point nearest `(px, py)` within `radius` CSS pixels, on the panel under it:
    /// `(panel, point, its canvas position)`.
    pub fn hover(&self, p: (f64, f64), radius: f64) -> Option<(usize, &HoverPoint, (f64, f64))> {
        let index = self.panel_at(p)?;
        let panel = &self.panels[index];
        panel
            .points
            .iter()
            .filter(|h| panel.window.contains((h.x, h.y)))
            .map(|h| {
                let at = panel.to_px((h.x, h.y));
                (h, at, (at.0 - p.0).powi(2) + (at.1 - p.1).powi(2))
            })
            .filter(|(_, _, d)| *d <= radius * radius)
            .min_by(|a, b| a.2.total_cmp(&b.2))
            .map(|(h, at, _)| (index, h, at))
    }
}

/// The user's zoom of each panel of one chart: `None` (or a missing entry) shows the chart's own
/// window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Zoom(pub Vec<Option<Window>>);

impl Zoom {
    /// The window panel `index` shows: the user's, on the scales of the chart's own window
    /// `auto` (a zoom read from a link has no scales of its own), else `auto` (also when the
    /// user's ranges do not fit those scales: a log axis from zero).
    pub fn window(&self, index: usize, auto: Window) -> Window {
        match self.0.get(index).copied().flatten() {
            Some(w) => {
                let x = Axis { scale: auto.x.scale, ..w.x };
                let y = Axis { scale: auto.y.scale, ..w.y };
                if x.is_valid() && y.is_valid() {
                    Window { x, y }
                } else {
                    auto
                }
            }
            None => auto,
        }
    }

    /// The zoomed panels as text for a link: `PANEL:XLO,XHI,YLO,YHI` joined by `;` (numbers in
    /// their shortest exact form, so the text reads back to the same window); `None` when no
    /// panel is zoomed.
    pub fn to_text(&self) -> Option<String> {
        let parts: Vec<String> = self
            .0
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.map(|w| format!("{i}:{},{},{},{}", w.x.lo, w.x.hi, w.y.lo, w.y.hi)))
            .collect();
        (!parts.is_empty()).then(|| parts.join(";"))
    }

    /// The inverse of [`Zoom::to_text`]: at most 64 panels, finite ranges with `lo < hi` (their
    /// scales come from the chart when shown, [`Zoom::window`]).
    pub fn parse(text: &str) -> Option<Zoom> {
        let mut zoom = Zoom::default();
        for part in text.split(';') {
            let (panel, ranges) = part.split_once(':')?;
            let panel: usize = panel.trim().parse().ok().filter(|&p| p < 64)?;
            let v: Vec<f64> = ranges.split(',').map(|t| t.trim().parse::<f64>()).collect::<Result<_, _>>().ok()?;
            let [xlo, xhi, ylo, yhi] = v[..] else { return None };
            let window = Window { x: Axis::linear(xlo, xhi), y: Axis::linear(ylo, yhi) };
            if !(window.x.is_valid() && window.y.is_valid()) {
                return None;
            }
            zoom = zoom.with(panel, window);
        }
        zoom.is_zoomed().then_some(zoom)
    }

    /// Whether any panel is zoomed or panned.
    pub fn is_zoomed(&self) -> bool {
        self.0.iter().any(Option::is_some)
    }

    /// This zoom with panel `index` showing `window`.
    pub fn with(&self, index: usize, window: Window) -> Zoom {
        let mut panels = self.0.clone();
        if panels.len() <= index {
            panels.resize(index + 1, None);
        }
        panels[index] = Some(window);
        Zoom(panels)
    }
}

/// The strongest tint of a heat-map cell: a share of 1 mixes this much of its colour into white,
/// so that dark text stays readable on every colour of the palette ([`contrast_ratio`] at least
/// 4.5, WCAG 2 AA).
pub const MAX_TINT: f64 = 0.6;

/// `rgb` mixed into white by `share` (0..1) of [`MAX_TINT`]: a heat-map cell's background.
pub fn tint(rgb: [u8; 3], share: f64) -> [u8; 3] {
    let w = MAX_TINT * if share.is_finite() { share.clamp(0.0, 1.0) } else { 0.0 };
    rgb.map(|c| (c as f64 * w + 255.0 * (1.0 - w)).round() as u8)
}

/// The WCAG 2 contrast ratio of two sRGB colours, `(L1 + 0.05) / (L2 + 0.05)` with `L` the
/// relative luminance (WCAG 2.1, "contrast ratio" and "relative luminance"): 1 to 21.
pub fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let luminance = |c: [u8; 3]| {
        let f = |v: u8| {
            let v = v as f64 / 255.0;
            if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2])
    };
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// A number for a tooltip: 4 significant digits, scientific notation outside [1e-3, 1e5); "∞"
/// for infinities, "—" for NaN.
pub fn tooltip_number(v: f64) -> String {
    if v.is_nan() {
        return "—".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "∞" } else { "−∞" }.into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.3e}")
    } else {
        let digits = if a == 0.0 { 0 } else { (3 - a.log10().floor() as i32).max(0) as usize };
        format!("{v:.digits$}")
    }
}

/// A number for an axis label: at most 3 significant digits, no trailing zeros (a zoomed log
/// axis would otherwise print `0.009000000001`).
pub fn axis_number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return tooltip_number(v);
    }
    let a = v.abs();
    if !(1e-4..1e6).contains(&a) {
        return format!("{v:.2e}");
    }
    let digits = (2 - a.log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.digits$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> Window {
        Window { x: Axis::linear(0.0, 1.0), y: Axis::linear(0.0, 1.0) }
    }

    #[test]
    fn fractions_and_values_invert_each_other_on_both_scales() {
        let log = Axis::log(1.0, 1000.0);
        assert!((log.fraction(10.0) - 1.0 / 3.0).abs() < 1e-12);
        assert!((log.value_at(2.0 / 3.0) - 100.0).abs() < 1e-9);
        let lin = Axis::linear(-2.0, 2.0);
        assert_eq!(lin.fraction(0.0), 0.5);
        assert_eq!(lin.value_at(0.25), -1.0);
    }

    #[test]
    fn zoom_keeps_the_value_under_the_pointer() {
        let log = Axis::log(1.0, 1000.0);
        let z = log.zoomed(1.0 / 3.0, 0.5);
        assert!((z.value_at(1.0 / 3.0) - 10.0).abs() < 1e-9, "{z:?}");
        assert!((z.fraction(z.hi) - z.fraction(z.lo) - 1.0).abs() < 1e-12);
        assert!(((z.hi / z.lo).log10() - 1.5).abs() < 1e-9, "half the decades: {z:?}");
        let lin = Axis::linear(0.0, 10.0).zoomed(0.2, 0.1);
        assert!((lin.lo - 1.8).abs() < 1e-12 && (lin.hi - 2.8).abs() < 1e-12, "{lin:?}");
        // Zooming in without end stops at a span, never a point.
        let mut a = Axis::linear(0.0, 1.0);
        for _ in 0..200 {
            a = a.zoomed(0.5, 0.5);
        }
        assert!(a.hi > a.lo);
    }

    #[test]
    fn pan_moves_by_a_share_of_the_span_and_a_log_axis_stays_positive() {
        let lin = Axis::linear(0.0, 10.0).panned(0.25);
        assert_eq!((lin.lo, lin.hi), (2.5, 12.5));
        let log = Axis::log(1.0, 100.0).panned(-0.5);
        assert!((log.lo - 0.1).abs() < 1e-12 && (log.hi - 10.0).abs() < 1e-9, "{log:?}");
        assert!(log.lo > 0.0);
    }

    #[test]
    fn a_polyline_is_cut_at_the_window_edges() {
        let w = unit();
        let parts = w.clip_polyline(&[(-1.0, 0.5), (0.5, 0.5), (2.0, 0.5)]);
        assert_eq!(parts, vec![vec![(0.0, 0.5), (0.5, 0.5), (1.0, 0.5)]]);
        // Leaving and coming back makes two parts.
        let parts = w.clip_polyline(&[(0.2, 0.2), (0.2, 3.0), (0.4, 0.4)]);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[0][0], (0.2, 0.2));
        assert!((parts[0][1].1 - 1.0).abs() < 1e-12);
        assert_eq!(*parts[1].last().unwrap(), (0.4, 0.4));
        // Entirely outside, and through NaN.
        assert!(w.clip_polyline(&[(2.0, 2.0), (3.0, 3.0)]).is_empty());
        assert!(w.clip_polyline(&[(0.1, 0.1), (f64::NAN, 0.5)]).is_empty());
        // A diagonal across the corner is clipped on both ends.
        let parts = w.clip_polyline(&[(-1.0, -1.0), (2.0, 2.0)]);
        assert_eq!(parts, vec![vec![(0.0, 0.0), (1.0, 1.0)]]);
    }

    #[test]
    fn clipping_on_log_axes_follows_the_straight_line_on_screen() {
        let w = Window { x: Axis::log(1.0, 100.0), y: Axis::log(1.0, 100.0) };
        // The line y = x from 0.1 to 1000 crosses the window from corner to corner.
        let parts = w.clip_polyline(&[(0.1, 0.1), (1000.0, 1000.0)]);
        let [a, b] = parts[0][..] else { panic!("{parts:?}") };
        assert!((a.0 - 1.0).abs() < 1e-9 && (a.1 - 1.0).abs() < 1e-9 && (b.0 - 100.0).abs() < 1e-9, "{parts:?}");
    }

    #[test]
    fn boxes_are_cut_to_the_window() {
        let w = unit();
        assert_eq!(w.clip_box((0.5, -1.0), (3.0, 0.5)), Some(((0.5, 0.0), (1.0, 0.5))));
        assert_eq!(w.clip_box((2.0, 0.0), (3.0, 1.0)), None);
    }

    #[test]
    fn hover_finds_the_nearest_shown_point_on_the_panel_under_the_pointer() {
        let point = |x: f64, y: f64, label: &str| HoverPoint { x, y, label: label.into() };
        let panel = |left: f64, points| Panel { left, top: 0.0, right: left + 100.0, bottom: 100.0, window: unit(), points };
        let layout = ChartLayout {
            panels: vec![
                panel(0.0, vec![point(0.5, 0.5, "middle"), point(0.9, 0.9, "corner"), point(2.0, 0.5, "hidden")]),
                panel(200.0, vec![point(0.5, 0.5, "right")]),
            ],
        };
        let (i, h, at) = layout.hover((52.0, 49.0), 8.0).unwrap();
        assert_eq!((i, h.label.as_str(), at), (0, "middle", (50.0, 50.0)));
        assert_eq!(layout.hover((250.0, 50.0), 8.0).unwrap().1.label, "right");
        assert!(layout.hover((70.0, 50.0), 8.0).is_none(), "nothing within 8 px");
        assert!(layout.hover((150.0, 50.0), 80.0).is_none(), "between the panels");
        assert!(layout.hover((99.0, 50.0), 60.0).is_some_and(|h| h.1.label != "hidden"), "outside the window is never hovered");
        let p = &layout.panels[0];
        let d = p.to_data(p.to_px((0.25, 0.75)));
        assert!((d.0 - 0.25).abs() < 1e-12 && (d.1 - 0.75).abs() < 1e-12);
    }

    #[test]
    fn heat_map_text_is_readable_on_every_tint() {
        // The lobe palette (Tableau 10) and the page's ink, #1d2430.
        let palette = [
            [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
            [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
        ];
        let ink = [0x1d, 0x24, 0x30];
        for c in palette {
            for share in [0.0, 0.25, 0.5, 0.75, 1.0, f64::NAN, 7.0] {
                let r = contrast_ratio(tint(c, share), ink);
                assert!(r >= 4.5, "{c:?} at {share}: {r}");
            }
        }
        assert_eq!(tint([0, 0, 0], 0.0), [255, 255, 255]);
        assert_eq!(tint([0, 0, 0], 1.0), [102, 102, 102]);
        assert!((contrast_ratio([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-12);
        assert!((contrast_ratio([0x66, 0x70, 0x85], [255, 255, 255]) - 4.97).abs() < 0.01);
    }

    #[test]
    fn zoom_reads_back_from_its_link_text_on_the_charts_scales() {
        let auto = Window { x: Axis::log(1.0, 4096.0), y: Axis::log(1e-5, 0.1) };
        let z = Zoom::default().with(0, auto.zoomed((0.3, 0.7), 0.37)).with(2, Window { x: Axis::linear(-0.5, 1.0 / 3.0), y: Axis::linear(0.0, 7.0) });
        let text = z.to_text().unwrap();
        assert!(text.starts_with("0:") && text.contains(";2:-0.5,0.3333333333333333,0,7"), "{text}");
        let back = Zoom::parse(&text).unwrap();
        // The scales come from the chart: the same windows, exactly.
        assert_eq!(back.window(0, auto), z.window(0, auto));
        let lin = Window { x: Axis::linear(-1.0, 1.0), y: Axis::linear(0.0, 10.0) };
        assert_eq!(back.window(2, lin), z.window(2, lin));
        assert_eq!(back.window(1, lin), lin, "panel 1 is not zoomed");
        // A range that a log axis cannot show falls back to the chart's own window.
        assert_eq!(Zoom::parse("0:-1,5,0.001,0.01").unwrap().window(0, auto), auto);
        for bad in ["", "0:1,2,3", "x:1,2,3,4", "0:2,1,0,1", "0:1,2,0,inf", "99:1,2,3,4", "0:1,2,3,4;1"] {
            assert_eq!(Zoom::parse(bad), None, "{bad}");
        }
        assert_eq!(Zoom::default().to_text(), None);
    }

    #[test]
    fn zoom_per_panel_falls_back_to_the_charts_own_window() {
        let auto = unit();
        let zoomed = auto.zoomed((0.5, 0.5), 0.5);
        let z = Zoom::default().with(2, zoomed);
        assert_eq!(z.window(0, auto), auto);
        assert_eq!(z.window(2, auto), zoomed);
        assert_eq!(z.window(7, auto), auto);
        assert!(z.is_zoomed() && !Zoom::default().is_zoomed());
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(axis_number(0.0090000000001), "0.009");
        assert_eq!(axis_number(0.01), "0.01");
        assert_eq!(axis_number(150.0), "150");
        assert_eq!(axis_number(0.0123456), "0.0123");
        assert_eq!(axis_number(2.5e-7), "2.50e-7");
    }

    #[test]
    fn tooltip_numbers_have_four_significant_digits() {
        assert_eq!(tooltip_number(0.012345), "0.01235");
        assert_eq!(tooltip_number(-1.053790), "-1.054");
        assert_eq!(tooltip_number(123.456), "123.5");
        assert_eq!(tooltip_number(2.5e-7), "2.500e-7");
        assert_eq!(tooltip_number(0.0), "0");
        assert_eq!(tooltip_number(f64::NAN), "—");
        assert_eq!(tooltip_number(f64::NEG_INFINITY), "−∞");
    }
}
