//! Pan and zoom of a 2-D scatter drawn on a canvas (the lobe map, the crystal view): layout
//! coordinates to canvas pixels, the drag and the wheel.

/// What part of the layout is shown: the layout's bounds (`centre`, half-extent `half` of the
/// larger side, fitted once) and the user's pan and zoom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub centre: (f64, f64),
    pub half: f64,
    pub zoom: f64,
}

impl Viewport {
    /// Fits `points` (all of them visible at zoom 1).
    pub fn fit(points: impl Iterator<Item = (f64, f64)>) -> Viewport {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for (x, y) in points {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !x0.is_finite() {
            return Viewport { centre: (0.0, 0.0), half: 1.0, zoom: 1.0 };
        }
        Viewport { centre: ((x0 + x1) / 2.0, (y0 + y1) / 2.0), half: ((x1 - x0).max(y1 - y0) / 2.0).max(1e-30), zoom: 1.0 }
    }

    /// Pixels per layout unit on a `w x h` canvas.
    pub fn scale(&self, w: f64, h: f64) -> f64 {
        self.zoom * 0.47 * w.min(h) / self.half
    }

    /// Canvas pixel of the layout point `(x, y)`.
    pub fn to_screen(&self, (x, y): (f64, f64), w: f64, h: f64) -> (f64, f64) {
        let k = self.scale(w, h);
        (w / 2.0 + k * (x - self.centre.0), h / 2.0 - k * (y - self.centre.1))
    }

    /// The viewport after dragging by `(dx, dy)` canvas pixels from `self`.
    pub fn dragged(&self, dx: f64, dy: f64, w: f64, h: f64) -> Viewport {
        let k = self.scale(w, h);
        Viewport { centre: (self.centre.0 - dx / k, self.centre.1 + dy / k), ..*self }
    }

    /// The viewport after one wheel event of `delta_y`.
    pub fn wheeled(&self, delta_y: f64) -> Viewport {
        Viewport { zoom: (self.zoom * (-delta_y * 0.0015).exp()).clamp(0.5, 200.0), ..*self }
    }
}

/// Index of the point of `screen` nearest to `(x, y)` within `radius` pixels.
pub fn nearest_within(screen: &[(f64, f64)], (x, y): (f64, f64), radius: f64) -> Option<usize> {
    screen
        .iter()
        .enumerate()
        .map(|(i, &(px, py))| (i, (px - x).powi(2) + (py - y).powi(2)))
        .filter(|&(_, d)| d <= radius * radius)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}
