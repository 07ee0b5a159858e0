//! Statistics with scipy semantics: `scipy.stats.linregress`, `scipy.stats.t.ppf`, and the seeded
//! random-number generator every stochastic analysis uses.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use statrs::function::{beta::beta_reg, erf::erfc, gamma::ln_gamma};

use super::GeometryError;

/// Result of [`linregress`]: the fields of `scipy.stats.linregress`'s `LinregressResult`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearFit {
    pub slope: f64,
    pub intercept: f64,
    /// Pearson correlation coefficient (NaN when y is constant, as in scipy).
    pub r_value: f64,
    /// Two-sided p-value of the null hypothesis "slope = 0" (Wald test, t with n - 2 dof).
    pub p_value: f64,
    /// Standard error of the slope: `sqrt((1 - r^2) * ssym / ssxm / (n - 2))`.
    pub stderr: f64,
    /// Standard error of the intercept: `stderr * sqrt(ssxm + mean(x)^2)`.
    pub intercept_stderr: f64,
}

/// Ordinary least squares of `y` on `x` with `scipy.stats.linregress` semantics (scipy 1.17):
/// the same formulas for slope, intercept, r (clipped to [-1, 1]; NaN if y is constant), the
/// two-sided p-value, and both standard errors (0 for exactly two points).
///
/// Errors ([`GeometryError::DegenerateFit`]) where scipy raises or would return NaN for every
/// field: empty input, lengths that differ, a single point, non-finite values, all x identical.
pub fn linregress(x: &[f64], y: &[f64]) -> Result<LinearFit, GeometryError> {
    let degenerate = |reason: String| Err(GeometryError::DegenerateFit { reason });
    if x.is_empty() || y.is_empty() {
        return degenerate("the inputs are empty".into());
    }
    if x.len() != y.len() {
        return degenerate(format!("x has {} values but y has {}", x.len(), y.len()));
    }
    let n = x.len();
    if n < 2 {
        return degenerate("a line needs at least 2 points".into());
    }
    if let Some(i) = x
        .iter()
        .zip(y)
        .position(|(a, b)| !a.is_finite() || !b.is_finite())
    {
        return degenerate(format!("point {i} is not finite (x = {}, y = {})", x[i], y[i]));
    }
    let (xmin, xmax) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    if xmin == xmax {
        return degenerate("all x values are identical".into());
    }

    let nf = n as f64;
    let xmean = x.iter().sum::<f64>() / nf;
    let ymean = y.iter().sum::<f64>() / nf;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (dx, dy) = (a - xmean, b - ymean);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    // np.cov(x, y, bias=1): population (co)variances.
    let (ssxm, ssxym, ssym) = (sxx / nf, sxy / nf, syy / nf);

    let r = if ssxm == 0.0 || ssym == 0.0 {
        if ssxym == 0.0 {
            f64::NAN
        } else {
            0.0
        }
    } else {
        (ssxym / (ssxm * ssym).sqrt()).clamp(-1.0, 1.0)
    };
    let slope = ssxym / ssxm;
    let intercept = ymean - slope * xmean;

    let (p_value, stderr, intercept_stderr) = if n == 2 {
        (if y[0] == y[1] { 1.0 } else { 0.0 }, 0.0, 0.0)
    } else {
        const TINY: f64 = 1.0e-20;
        let df = (n - 2) as f64;
        let t = r * (df / ((1.0 - r + TINY) * (1.0 + r + TINY))).sqrt();
        let p = (2.0 * student_t_sf(t.abs(), df)).min(1.0);
        let se = ((1.0 - r * r) * ssym / ssxm / df).sqrt();
        (p, se, se * (ssxm + xmean * xmean).sqrt())
    };
    Ok(LinearFit {
        slope,
        intercept,
        r_value: r,
        p_value,
        stderr,
        intercept_stderr,
    })
}

/// Upper tail `P(T > t)` of Student's t with `dof` degrees of freedom (NaN stays NaN).
///
/// `I_{v/(v+t^2)}(v/2, 1/2) / 2` (statrs' regularised incomplete beta); where that is above 1/4
/// (t near 0) it is recomputed as `(1 - I_{t^2/(v+t^2)}(1/2, v/2)) / 2`, whose argument has no
/// cancellation. Infinite `dof` gives the normal tail.
pub fn student_t_sf(t: f64, dof: f64) -> f64 {
    if t.is_nan() || dof.is_nan() || dof <= 0.0 {
        return f64::NAN;
    }
    if t < 0.0 {
        return 1.0 - student_t_sf(-t, dof);
    }
    if dof.is_infinite() {
        return 0.5 * erfc(t / std::f64::consts::SQRT_2);
    }
    if t.is_infinite() {
        return 0.0;
    }
    let t2 = t * t;
    let tail = 0.5 * beta_reg(0.5 * dof, 0.5, dof / (dof + t2));
    if tail <= 0.25 {
        tail
    } else {
        0.5 * (1.0 - beta_reg(0.5, 0.5 * dof, t2 / (dof + t2)))
    }
}

/// Density of Student's t with `dof` degrees of freedom.
fn student_t_pdf(t: f64, dof: f64) -> f64 {
    if dof.is_infinite() {
        return (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt();
    }
    let ln_norm = ln_gamma(0.5 * (dof + 1.0)) - ln_gamma(0.5 * dof) - 0.5 * (dof * std::f64::consts::PI).ln();
    (ln_norm - 0.5 * (dof + 1.0) * (t * t / dof).ln_1p()).exp()
}

/// Quantile (inverse CDF) of Student's t with `dof` degrees of freedom: `scipy.stats.t.ppf(p, dof)`.
///
/// `dof` may be fractional or `f64::INFINITY` (the standard normal). Returns `-inf` at `p = 0`,
/// `+inf` at `p = 1`, and NaN for `p` outside [0, 1], `dof <= 0` or NaN arguments (as scipy does).
///
/// - `dof = inf`: the normal quantile (Wichura's AS 241, relative error ~1e-16).
/// - `dof > 1e5`: the Cornish-Fisher expansion of t around the normal quantile to O(dof^-5)
///   (where the incomplete beta function loses digits to huge log-gamma values).
/// - otherwise: statrs' beta-inverse as a start, then safeguarded Newton steps on `ln P(T > t)`,
///   solving the tail equation to a few ulps.
///
/// Agrees with scipy to about 1e-12 relative for moderate `p` (the golden tests check 1e-9).
pub fn student_t_quantile(p: f64, dof: f64) -> f64 {
    if p.is_nan() || dof.is_nan() || !(0.0..=1.0).contains(&p) || dof <= 0.0 {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    if dof.is_infinite() {
        return normal_quantile(p);
    }
    if dof > 1e5 {
        return cornish_fisher_t(normal_quantile(p), dof);
    }
    // Solve P(T > t) = q for t > 0, q = min(p, 1 - p) (1 - p is exact for p >= 0.5).
    let (q, sign) = if p < 0.5 { (p, -1.0) } else { (1.0 - p, 1.0) };
    let ln_q = q.ln();

    let mut t = {
        use statrs::distribution::{ContinuousCDF, StudentsT};
        StudentsT::new(0.0, 1.0, dof)
            .map(|d| d.inverse_cdf(1.0 - q))
            .unwrap_or(f64::NAN)
    };
    if !t.is_finite() || t <= 0.0 {
        t = -normal_quantile(q);
    }

    // Bracket [lo, hi]: sf(lo) >= q >= sf(hi); hi = inf until found.
    let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
    for _ in 0..200 {
        let s = student_t_sf(t, dof);
        if s > q {
            lo = lo.max(t);
        } else {
            hi = hi.min(t);
        }
        if s == q {
            break;
        }
        let mut next = if s > 0.0 {
            // Newton on g(t) = ln sf(t) - ln q, g'(t) = -pdf / sf.
            t + (s.ln() - ln_q) * s / student_t_pdf(t, dof)
        } else {
            f64::NAN // sf underflowed: bisect back towards the centre
        };
        if !next.is_finite() || next <= lo || next >= hi {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * t.max(lo).max(1.0)
            };
        }
        let done = (next - t).abs() <= 2.0 * f64::EPSILON * t.abs();
        t = next;
        if done || (hi.is_finite() && hi - lo <= 2.0 * f64::EPSILON * hi) {
            break;
        }
    }
    sign * t
}

/// Cornish-Fisher expansion of the t quantile in powers of 1/dof (Abramowitz & Stegun 26.7.5),
/// from the normal quantile `z`; error O(dof^-5).
fn cornish_fisher_t(z: f64, dof: f64) -> f64 {
    let z2 = z * z;
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    z + (g1 + (g2 + (g3 + g4 / dof) / dof) / dof) / dof
}

/// Evaluates a polynomial with coefficients from the constant term up (Horner).
fn poly(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// Standard normal quantile, Wichura's algorithm AS 241 (PPND16), relative accuracy ~1e-16.
#[allow(clippy::excessive_precision)] // the published AS 241 coefficients, verbatim
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 8] = [
        3.387132872796366608,
        133.14166789178437745,
        1971.5909503065514427,
        13731.693765509461125,
        45921.953931549871457,
        67265.770927008700853,
        33430.575583588128105,
        2509.0809287301226727,
    ];
    const B: [f64; 8] = [
        1.0,
        42.313330701600911252,
        687.1870074920579083,
        5394.1960214247511077,
        21213.794301586595867,
        39307.89580009271061,
        28729.085735721942674,
        5226.495278852545925,
    ];
    const C: [f64; 8] = [
        1.42343711074968357734,
        4.6303378461565452959,
        5.7694972214606914055,
        3.64784832476320460504,
        1.27045825245236838258,
        0.24178072517745061177,
        0.0227238449892691845833,
        7.7454501427834140764e-4,
    ];
    const D: [f64; 8] = [
        1.0,
        2.05319162663775882187,
        1.6763848301838038494,
        0.68976733498510000455,
        0.14810397642748007459,
        0.0151986665636164571966,
        5.475938084995344946e-4,
        1.05075007164441684324e-9,
    ];
    const E: [f64; 8] = [
        6.6579046435011037772,
        5.4637849111641143699,
        1.7848265399172913358,
        0.29656057182850489123,
        0.026532189526576123093,
        0.0012426609473880784386,
        2.71155556874348757815e-5,
        2.01033439929228813265e-7,
    ];
    const F: [f64; 8] = [
        1.0,
        0.59983220655588793769,
        0.13692988092273580531,
        0.0148753612908506148525,
        7.868691311456132591e-4,
        1.8463183175100546818e-5,
        1.4215117583164458887e-7,
        2.04426310338993978564e-15,
    ];
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let r = (-(if q < 0.0 { p } else { 1.0 - p }).ln()).sqrt();
    let val = if r <= 5.0 {
        let r = r - 1.6;
        poly(&C, r) / poly(&D, r)
    } else {
        let r = r - 5.0;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 {
        -val
    } else {
        val
    }
}

/// The random-number generator of every seeded computation: ChaCha8 seeded with
/// `SeedableRng::seed_from_u64(seed)`. The same seed gives the same stream on every platform
/// (native and wasm).
pub fn seeded_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn exact_line() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [3.0, 5.0, 7.0, 9.0];
        let f = linregress(&x, &y).unwrap();
        assert!((f.slope - 2.0).abs() < 1e-15);
        assert!((f.intercept - 1.0).abs() < 1e-14);
        assert_eq!(f.r_value, 1.0);
        assert_eq!(f.stderr, 0.0);
        assert!(f.p_value < 1e-10);
    }

    #[test]
    fn known_scipy_values() {
        // scipy.stats.linregress([0, 1, 2, 3, 4], [1, 3, 2, 5, 4]):
        // slope 0.8, intercept 1.4, rvalue 0.8, pvalue 0.10408803866182778,
        // stderr 0.3464101615137754, intercept_stderr 0.8485281374238568
        let f = linregress(&[0.0, 1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 5.0, 4.0]).unwrap();
        assert!((f.slope - 0.8).abs() < 1e-14);
        assert!((f.intercept - 1.4).abs() < 1e-14);
        assert!((f.r_value - 0.8).abs() < 1e-14);
        assert!((f.p_value - 0.10408803866182778).abs() < 1e-12, "{}", f.p_value);
        assert!((f.stderr - 0.3464101615137754).abs() < 1e-14);
        assert!((f.intercept_stderr - 0.8485281374238568).abs() < 1e-13);
    }

    #[test]
    fn two_points_and_constant_y() {
        let f = linregress(&[0.0, 1.0], &[2.0, 5.0]).unwrap();
        assert_eq!(
            (f.slope, f.stderr, f.intercept_stderr, f.p_value),
            (3.0, 0.0, 0.0, 0.0)
        );
        let f = linregress(&[0.0, 1.0, 2.0], &[2.0, 2.0, 2.0]).unwrap();
        assert_eq!(f.slope, 0.0);
        assert!(f.r_value.is_nan());
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        for (x, y) in [
            (vec![], vec![]),
            (vec![1.0, 2.0], vec![1.0]),
            (vec![1.0], vec![1.0]),
            (vec![1.0, 1.0, 1.0], vec![1.0, 2.0, 3.0]),
            (vec![1.0, f64::NAN, 3.0], vec![1.0, 2.0, 3.0]),
        ] {
            let e = linregress(&x, &y).unwrap_err();
            assert_eq!(e.kind(), "degenerate-fit", "{x:?} {y:?}");
        }
    }

    #[test]
    fn t_quantile_known_values_and_edges() {
        // scipy.stats.t.ppf
        assert!((student_t_quantile(0.975, 1.0) - 12.706204736174694).abs() < 1e-11);
        assert!((student_t_quantile(0.975, 10.0) - 2.228138851986274).abs() < 1e-13);
        assert!((student_t_quantile(0.025, 10.0) + 2.228138851986274).abs() < 1e-13);
        assert!((student_t_quantile(0.975, f64::INFINITY) - 1.959963984540054).abs() < 1e-13);
        assert!((normal_quantile(0.025) + 1.959963984540054).abs() < 1e-15);
        assert!((normal_quantile(1e-10) + 6.361340902404056).abs() < 1e-13);
        assert_eq!(student_t_quantile(0.5, 3.0), 0.0);
        assert_eq!(student_t_quantile(0.0, 3.0), f64::NEG_INFINITY);
        assert_eq!(student_t_quantile(1.0, 3.0), f64::INFINITY);
        assert!(student_t_quantile(1.5, 3.0).is_nan());
        assert!(student_t_quantile(0.5, 0.0).is_nan());
        assert!(student_t_quantile(f64::NAN, 3.0).is_nan());
    }

    #[test]
    fn t_quantile_inverts_sf() {
        for &dof in &[0.5, 1.0, 2.0, 3.5, 30.0, 1e4, 9e4] {
            for &p in &[1e-8, 0.001, 0.2, 0.49, 0.51, 0.9, 0.999] {
                let t = student_t_quantile(p, dof);
                let tail = if p < 0.5 { p } else { 1.0 - p };
                let got = student_t_sf(t.abs(), dof);
                assert!(
                    ((got - tail) / tail).abs() < 1e-10,
                    "p {p} dof {dof}: t {t}, tail {got} vs {tail}"
                );
            }
        }
    }

    #[test]
    fn rng_is_reproducible() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = seeded_rng(7);
                move |_| r.random()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = seeded_rng(7);
                move |_| r.random()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = seeded_rng(8);
                move |_| r.random()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
