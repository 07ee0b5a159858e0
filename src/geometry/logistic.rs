//! L2-regularised logistic regression fitted with L-BFGS, with the semantics of scikit-learn's
//! `LogisticRegression(max_iter=1000)` (penalty `"l2"`, `C = 1`, `fit_intercept=True`, solver
//! `"lbfgs"`), and `balanced_accuracy_score`.
//!
//! The objective is scikit-learn's (1.9.1, `_logistic_regression_path` + `LinearModelLoss`):
//!
//! `f(W, b) = (1/n) sum_i loss_i + ||W||_F^2 / (2 C n)`
//!
//! with the intercepts `b` not penalised. For two classes it is one binary model (class
//! `classes[1]` is the positive one, `loss_i = ln(1 + e^{z_i}) - y_i z_i`, `z_i = w . x_i + b`);
//! for more classes the multinomial model with one weight vector per class
//! (`loss_i = ln sum_k e^{z_ik} - z_{i,y_i}`). This is `C sum_i loss_i + ||W||^2 / 2` divided by
//! `C n`: the same minimiser, and the scaling under which sklearn's gradient tolerance applies.
//!
//! The optimiser reproduces scipy's L-BFGS-B (which sklearn calls with `maxls = 50`,
//! `gtol = tol`, `ftol = 64 eps`) on this unconstrained problem: the L-BFGS direction (memory
//! 10, two-loop recursion, initial scaling `s.y / y.y`), MINPACK-2's Moré-Thuente line search
//! (`dcsrch`/`dcstep` with `ftol = 1e-3`, `gtol = 0.9`, `xtol = 0.1`), a first trial step of
//! `1 / ||g||` along `-g` and 1 afterwards, L-BFGS-B's rule for skipping a pair, and its restart
//! after a failed line search. It starts at zero and stops when the largest absolute gradient
//! entry is `<= tol` (scipy's `pgtol`), when the objective's relative decrease falls to
//! `64 eps`, or after `max_iter` iterations. It therefore stops at sklearn's iterate, not just
//! near the optimum (same iteration count; coefficients equal up to rounding on the golden
//! data).
//!
//! Everything is single-threaded pure Rust; one objective evaluation streams the rows of `x` once
//! (forward and backward pass fused per row), with no allocation per iteration.

use crate::geometry::GeometryError;

/// sklearn's `tol` for `LogisticRegression`.
pub const SKLEARN_TOL: f64 = 1e-4;
/// Relative-decrease stop of scipy's L-BFGS-B as sklearn sets it (`ftol = 64 * eps`).
const FTOL: f64 = 64.0 * f64::EPSILON;
/// Sufficient-decrease constant of the line search (scipy's L-BFGS-B `dcsrch` uses 1e-3).
const WOLFE_C1: f64 = 1e-3;
/// Curvature constant of the line search (scipy's L-BFGS-B uses 0.9).
const WOLFE_C2: f64 = 0.9;

/// Settings of [`fit_logistic`]. `Default` is sklearn's `LogisticRegression(max_iter=1000)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticParams {
    /// Inverse regularisation strength `C > 0` (sklearn's `C`, default 1).
    pub c: f64,
    /// Fit an (unpenalised) intercept per weight vector (sklearn's `fit_intercept`, default true).
    pub fit_intercept: bool,
    /// Most L-BFGS iterations (sklearn's `max_iter`; 1000 here as in
    /// `LogisticRegression(max_iter=1000)`, sklearn's own default being 100).
    pub max_iter: usize,
    /// Stop when the largest absolute entry of the gradient of the mean objective is `<= tol`
    /// (scipy's `pgtol`; sklearn's `tol`, default `1e-4` = [`SKLEARN_TOL`]). The optimiser
    /// follows scipy's L-BFGS-B path, so with sklearn's tolerance it stops at sklearn's
    /// iterate (same iteration count, coefficients equal up to rounding), which at `1e-4` is
    /// still visibly short of the optimum; a smaller `tol` (e.g. `1e-8`) goes on to the
    /// optimum itself.
    pub tol: f64,
    /// Number of correction pairs kept by L-BFGS (scipy's default `maxcor = 10`).
    pub memory: usize,
    /// Most objective evaluations per line search (sklearn passes `maxls = 50`).
    pub max_line_search: usize,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            c: 1.0,
            fit_intercept: true,
            max_iter: 1000,
            tol: SKLEARN_TOL,
            memory: 10,
            max_line_search: 50,
        }
    }
}

/// Why the optimiser stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The largest absolute gradient entry fell to `tol`.
    GradientTolerance,
    /// The objective's relative decrease in one iteration fell to `64 eps` (scipy's
    /// `REL_REDUCTION_OF_F_<=_FACTR*EPSMCH`; sklearn counts it as converged).
    NoRelativeDecrease,
    /// `max_iter` iterations were done (sklearn warns `ConvergenceWarning`).
    MaxIterations,
    /// The line search found no acceptable step even from a steepest-descent restart (rounding
    /// noise dominates the objective; sklearn warns `ABNORMAL_TERMINATION_IN_LNSRCH`).
    LineSearchFailed,
}

/// A fitted model, laid out like sklearn's attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticModel {
    /// The sorted distinct class labels (sklearn's `classes_`).
    pub classes: Vec<u32>,
    /// Number of features `d`.
    pub n_features: usize,
    /// `coef_`, row-major: 1 x d for two classes (the weights of `classes[1]`), else k x d.
    pub weights: Vec<f64>,
    /// `intercept_`: 1 value for two classes, else k (centred to sum 0 for k > 2, which changes
    /// neither the objective nor the predictions; sklearn's sum is 0 up to rounding as well).
    pub intercepts: Vec<f64>,
    /// L-BFGS iterations done (sklearn's `n_iter_`).
    pub iterations: usize,
    /// Objective evaluations (loss and gradient), line searches included.
    pub evaluations: usize,
    /// Whether it stopped on the gradient tolerance or on the relative decrease (what sklearn
    /// counts as converged).
    pub converged: bool,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// The objective `(1/n) sum_i loss_i + ||W||^2 / (2 C n)` at the solution.
    pub objective: f64,
    /// Largest absolute gradient entry at the solution.
    pub gradient_max_abs: f64,
}

/// Fit L2-regularised logistic regression to `n` rows of `d` features (`x` row-major, `n * d`
/// values) and their `labels`; see the module doc for the objective.
///
/// Matches `sklearn.linear_model.LogisticRegression(C=params.c, fit_intercept=...,
/// max_iter=params.max_iter).fit(x, labels)`: binary (sigmoid) model for two classes, multinomial
/// (softmax) for more. Errors: empty input, a shape that does not fit `x`, labels of another
/// length, a single class, a NaN or infinite value in `x`, or out-of-range parameters.
pub fn fit_logistic(
    x: &[f64],
    n: usize,
    d: usize,
    labels: &[u32],
    params: &LogisticParams,
) -> Result<LogisticModel, GeometryError> {
    check_params(params)?;
    check_matrix(x, n, d)?;
    let (classes, targets) = encode_labels(labels, n)?;
    let problem = Problem::new(x, n, d, &targets, classes.len(), params);
    let start = vec![0.0; problem.n_params()];
    let result = lbfgs(&problem, start, params);
    Ok(problem.into_model(classes, result))
}

impl LogisticModel {
    /// Number of weight vectors: 1 for two classes, else the number of classes.
    pub fn n_rows(&self) -> usize {
        self.intercepts.len()
    }

    /// The decision values `z_ir = w_r . x_i + b_r`, row-major n x [`LogisticModel::n_rows`]
    /// (sklearn's `decision_function`, which is 1-D for two classes).
    pub fn decision_function(&self, x: &[f64], n: usize) -> Result<Vec<f64>, GeometryError> {
        check_matrix(x, n, self.n_features)?;
        let d = self.n_features;
        let rows = self.n_rows();
        let mut z = vec![0.0; n * rows];
        for (xi, zi) in x.chunks_exact(d).zip(z.chunks_exact_mut(rows)) {
            linear_scores(&self.weights, &self.intercepts, xi, zi);
        }
        Ok(z)
    }

    /// The predicted class of each of the `n` rows of `x`: `classes[1]` where the decision value
    /// is `> 0` (else `classes[0]`) for two classes, else the class of the largest decision
    /// value (the first on ties). Matches sklearn's `LogisticRegression.predict`.
    pub fn predict(&self, x: &[f64], n: usize) -> Result<Vec<u32>, GeometryError> {
        let z = self.decision_function(x, n)?;
        let rows = self.n_rows();
        let predicted = z
            .chunks_exact(rows)
            .map(|zi| {
                if rows == 1 {
                    self.classes[usize::from(zi[0] > 0.0)]
                } else {
                    self.classes[argmax_first(zi)]
                }
            })
            .collect();
        Ok(predicted)
    }

    /// sklearn's objective `(1/n) sum_i loss_i + ||W||^2 / (2 C n)` of this model's parameters on
    /// `n` rows of `x` with `labels` (all of which must be among [`LogisticModel::classes`]):
    /// what `LinearModelLoss.loss(coef, X, y, l2_reg_strength=1/(C n))` returns.
    pub fn objective(&self, x: &[f64], n: usize, labels: &[u32], c: f64) -> Result<f64, GeometryError> {
        check_c(c)?;
        check_matrix(x, n, self.n_features)?;
        check_label_count(labels, n)?;
        let targets = labels
            .iter()
            .map(|v| {
                self.classes
                    .binary_search(v)
                    .map(|t| t as u32)
                    .map_err(|_| GeometryError::InvalidParameter {
                        name: "labels".into(),
                        reason: format!("label {v} is not one of the model's classes"),
                    })
            })
            .collect::<Result<Vec<u32>, _>>()?;
        let params = LogisticParams {
            c,
            fit_intercept: true,
            ..LogisticParams::default()
        };
        let problem = Problem::new(x, n, self.n_features, &targets, self.classes.len(), &params);
        let theta: Vec<f64> = self.weights.iter().chain(&self.intercepts).copied().collect();
        let mut grad = vec![0.0; theta.len()];
        Ok(problem.value_and_gradient(&theta, &mut grad))
    }
}

/// sklearn's `balanced_accuracy_score(y_true, y_pred)`: the mean over the classes present in
/// `y_true` of their recall `#{i : y_true_i = c, y_pred_i = c} / #{i : y_true_i = c}`.
/// Predicted classes absent from `y_true` only count as errors of the true classes (sklearn
/// drops their NaN recall and warns "y_pred contains classes not in y_true"; there is no warning
/// here). Errors for empty input or different lengths.
pub fn balanced_accuracy(y_true: &[u32], y_pred: &[u32]) -> Result<f64, GeometryError> {
    if y_true.len() != y_pred.len() {
        return Err(GeometryError::InvalidParameter {
            name: "y_pred".into(),
            reason: format!(
                "{} predictions for {} true labels; they must be the same samples",
                y_pred.len(),
                y_true.len()
            ),
        });
    }
    if y_true.is_empty() {
        return Err(GeometryError::TooFewPoints {
            n: 0,
            needed: 1,
            purpose: "a balanced accuracy".into(),
        });
    }
    let mut classes = y_true.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let mut support = vec![0usize; classes.len()];
    let mut hits = vec![0usize; classes.len()];
    for (t, p) in y_true.iter().zip(y_pred) {
        let c = classes.binary_search(t).expect("true labels are all in classes");
        support[c] += 1;
        hits[c] += usize::from(t == p);
    }
    let recall_sum: f64 = hits
        .iter()
        .zip(&support)
        .map(|(&h, &s)| h as f64 / s as f64)
        .sum();
    Ok(recall_sum / classes.len() as f64)
}

fn invalid(name: &str, reason: String) -> GeometryError {
    GeometryError::InvalidParameter {
        name: name.into(),
        reason,
    }
}

fn check_c(c: f64) -> Result<(), GeometryError> {
    if !(c.is_finite() && c > 0.0) {
        return Err(invalid(
            "C",
            format!("{c} is not a positive finite number (sklearn's default is 1)"),
        ));
    }
    Ok(())
}

fn check_params(params: &LogisticParams) -> Result<(), GeometryError> {
    check_c(params.c)?;
    if !(params.tol.is_finite() && params.tol >= 0.0) {
        return Err(invalid(
            "tol",
            format!("{} is not a finite number >= 0", params.tol),
        ));
    }
    if params.memory == 0 {
        return Err(invalid("memory", "L-BFGS needs at least 1 pair".into()));
    }
    if params.max_line_search == 0 {
        return Err(invalid(
            "max_line_search",
            "a line search needs at least 1 evaluation".into(),
        ));
    }
    Ok(())
}

/// `x` must hold `n * d` finite values with `n, d >= 1`.
fn check_matrix(x: &[f64], n: usize, d: usize) -> Result<(), GeometryError> {
    if n == 0 {
        return Err(GeometryError::TooFewPoints {
            n: 0,
            needed: 1,
            purpose: "logistic regression".into(),
        });
    }
    if d == 0 {
        return Err(invalid("d", "the rows have no features".into()));
    }
    if n.checked_mul(d) != Some(x.len()) {
        return Err(invalid(
            "x",
            format!(
                "{} values do not form {n} rows of {d} features (row-major n x d)",
                x.len()
            ),
        ));
    }
    if let Some(at) = x.iter().position(|v| !v.is_finite()) {
        return Err(GeometryError::NonFinite {
            row: at / d,
            col: at % d,
        });
    }
    Ok(())
}

fn check_label_count(labels: &[u32], n: usize) -> Result<(), GeometryError> {
    if labels.len() != n {
        return Err(invalid(
            "labels",
            format!("{} labels for {n} rows; give one label per row", labels.len()),
        ));
    }
    Ok(())
}

/// The sorted distinct labels (sklearn's `classes_`) and each label's index among them; at least
/// two classes are required.
fn encode_labels(labels: &[u32], n: usize) -> Result<(Vec<u32>, Vec<u32>), GeometryError> {
    check_label_count(labels, n)?;
    let mut classes = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    if classes.len() < 2 {
        return Err(invalid(
            "labels",
            format!(
                "all {n} rows have the same label ({}); logistic regression needs samples of at \
                 least two classes",
                classes[0]
            ),
        ));
    }
    let targets = labels
        .iter()
        .map(|v| classes.binary_search(v).expect("label is in its own set") as u32)
        .collect();
    Ok((classes, targets))
}

/// Index of the largest value, the first one on ties (numpy's `argmax`).
fn argmax_first(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate().skip(1) {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// `a . b`, with eight independent accumulators so that it vectorises.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (a8, a_rest) = a.split_at(a.len() - a.len() % 8);
    let (b8, b_rest) = b.split_at(a8.len());
    for (ca, cb) in a8.chunks_exact(8).zip(b8.chunks_exact(8)) {
        for j in 0..8 {
            acc[j] += ca[j] * cb[j];
        }
    }
    let mut tail = 0.0;
    for (x, y) in a_rest.iter().zip(b_rest) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `y += alpha * x`.
fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// `z_r = w_r . x + b_r` for each weight row `r` (`weights` row-major, `z.len()` rows).
fn linear_scores(weights: &[f64], intercepts: &[f64], x: &[f64], z: &mut [f64]) {
    let d = x.len();
    for ((zr, wr), br) in z.iter_mut().zip(weights.chunks_exact(d)).zip(intercepts) {
        *zr = dot(wr, x) + br;
    }
}

/// `ln(1 + e^z)` without overflow or cancellation.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// `1 / (1 + e^{-z})` without overflow.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Loss of one sample and its derivative with respect to the decision values (written to
/// `residual`): binary `ln(1 + e^z) - y z` with derivative `sigmoid(z) - y` (one row), or
/// multinomial `logsumexp(z) - z_y` with derivative `softmax(z) - onehot(y)`.
fn pointwise_loss(z: &[f64], target: u32, residual: &mut [f64]) -> f64 {
    if z.len() == 1 {
        let y = f64::from(u8::from(target == 1));
        residual[0] = sigmoid(z[0]) - y;
        return softplus(z[0]) - y * z[0];
    }
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for (r, &zr) in residual.iter_mut().zip(z) {
        *r = (zr - max).exp();
        sum += *r;
    }
    let inv = 1.0 / sum;
    for r in residual.iter_mut() {
        *r *= inv;
    }
    residual[target as usize] -= 1.0;
    max + sum.ln() - z[target as usize]
}

/// One fitting problem: the data, the encoded targets and the objective's constants. The
/// parameter vector is the weights (row-major, `rows x d`) followed by the `rows` intercepts
/// (when fitted).
struct Problem<'a> {
    x: &'a [f64],
    n: usize,
    d: usize,
    targets: &'a [u32],
    /// 1 for a binary problem, else the number of classes.
    rows: usize,
    fit_intercept: bool,
    /// sklearn's `l2_reg_strength = 1 / (C n)`.
    l2: f64,
}

impl<'a> Problem<'a> {
    fn new(
        x: &'a [f64],
        n: usize,
        d: usize,
        targets: &'a [u32],
        n_classes: usize,
        params: &LogisticParams,
    ) -> Self {
        Problem {
            x,
            n,
            d,
            targets,
            rows: if n_classes == 2 { 1 } else { n_classes },
            fit_intercept: params.fit_intercept,
            l2: 1.0 / (params.c * n as f64),
        }
    }

    fn n_weights(&self) -> usize {
        self.rows * self.d
    }

    fn n_params(&self) -> usize {
        self.n_weights() + if self.fit_intercept { self.rows } else { 0 }
    }

    /// The objective `(1/n) sum_i loss_i + (l2 / 2) ||W||^2` at `theta`, and its gradient in
    /// `grad`: one pass over the rows, each row's scores, loss and gradient contribution
    /// computed while the row is in cache.
    fn value_and_gradient(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (weights, rest) = theta.split_at(self.n_weights());
        let no_intercepts;
        let intercepts = if self.fit_intercept {
            rest
        } else {
            no_intercepts = vec![0.0; self.rows];
            &no_intercepts[..]
        };
        grad.fill(0.0);
        let (grad_w, grad_b) = grad.split_at_mut(self.n_weights());
        let mut z = vec![0.0; self.rows];
        let mut residual = vec![0.0; self.rows];
        let mut loss_sum = 0.0;
        for (xi, &target) in self.x.chunks_exact(self.d).zip(self.targets) {
            linear_scores(weights, intercepts, xi, &mut z);
            loss_sum += pointwise_loss(&z, target, &mut residual);
            for (gr, &rr) in grad_w.chunks_exact_mut(self.d).zip(&residual) {
                axpy(rr, xi, gr);
            }
            if self.fit_intercept {
                for (gb, &rr) in grad_b.iter_mut().zip(&residual) {
                    *gb += rr;
                }
            }
        }
        let inv_n = 1.0 / self.n as f64;
        for g in grad.iter_mut() {
            *g *= inv_n;
        }
        let grad_w = &mut grad[..self.n_weights()];
        axpy(self.l2, weights, grad_w);
        loss_sum * inv_n + 0.5 * self.l2 * dot(weights, weights)
    }

    /// The model at the optimiser's result, laid out like sklearn's attributes.
    fn into_model(self, classes: Vec<u32>, result: LbfgsResult) -> LogisticModel {
        let (weights, rest) = result.theta.split_at(self.n_weights());
        let mut intercepts = if self.fit_intercept {
            rest.to_vec()
        } else {
            vec![0.0; self.rows]
        };
        if self.rows > 1 {
            let mean = intercepts.iter().sum::<f64>() / self.rows as f64;
            intercepts.iter_mut().for_each(|b| *b -= mean);
        }
        LogisticModel {
            classes,
            n_features: self.d,
            weights: weights.to_vec(),
            intercepts,
            iterations: result.iterations,
            evaluations: result.evaluations,
            converged: matches!(
                result.stop,
                StopReason::GradientTolerance | StopReason::NoRelativeDecrease
            ),
            stop_reason: result.stop,
            objective: result.value,
            gradient_max_abs: max_abs(&result.gradient),
        }
    }
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// What the optimiser hands back.
struct LbfgsResult {
    theta: Vec<f64>,
    value: f64,
    gradient: Vec<f64>,
    iterations: usize,
    evaluations: usize,
    stop: StopReason,
}

/// The L-BFGS correction pairs `s = x_{k+1} - x_k`, `y = g_{k+1} - g_k`, oldest first.
struct Memory {
    s: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
    rho: Vec<f64>,
    capacity: usize,
    alpha: Vec<f64>,
    /// Buffers of an evicted or skipped pair, reused for the next one.
    spare: Option<(Vec<f64>, Vec<f64>)>,
}

impl Memory {
    fn new(capacity: usize) -> Self {
        Memory {
            s: Vec::with_capacity(capacity),
            y: Vec::with_capacity(capacity),
            rho: Vec::with_capacity(capacity),
            capacity,
            alpha: vec![0.0; capacity],
            spare: None,
        }
    }

    fn clear(&mut self) {
        self.s.clear();
        self.y.clear();
        self.rho.clear();
    }

    fn is_empty(&self) -> bool {
        self.s.is_empty()
    }

    /// Store a pair unless its curvature `s . y` is at most `eps * decrease` (L-BFGS-B's skip
    /// rule, with `decrease = -step * g . d` the first-order decrease of the step); a stored
    /// pair evicts the oldest one once the memory is full (a skipped one evicts nothing).
    fn push(&mut self, x_new: &[f64], x_old: &[f64], g_new: &[f64], g_old: &[f64], decrease: f64) {
        let p = x_new.len();
        let (mut s, mut y) = self.spare.take().unwrap_or_else(|| (vec![0.0; p], vec![0.0; p]));
        for i in 0..p {
            s[i] = x_new[i] - x_old[i];
            y[i] = g_new[i] - g_old[i];
        }
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * decrease {
            if self.s.len() == self.capacity {
                self.rho.remove(0);
                self.spare = Some((self.s.remove(0), self.y.remove(0)));
            }
            self.s.push(s);
            self.y.push(y);
            self.rho.push(1.0 / sy);
        } else {
            self.spare = Some((s, y));
        }
    }

    /// The search direction `-H g` by the two-loop recursion, with the initial Hessian
    /// approximation `(s . y / y . y) I` of the newest pair (identity when empty).
    fn direction(&mut self, g: &[f64], dir: &mut [f64]) {
        for (d, gi) in dir.iter_mut().zip(g) {
            *d = -gi;
        }
        let m = self.s.len();
        for i in (0..m).rev() {
            self.alpha[i] = self.rho[i] * dot(&self.s[i], dir);
            axpy(-self.alpha[i], &self.y[i], dir);
        }
        if m > 0 {
            let gamma = 1.0 / (self.rho[m - 1] * dot(&self.y[m - 1], &self.y[m - 1]));
            dir.iter_mut().for_each(|v| *v *= gamma);
        }
        for i in 0..m {
            let beta = self.rho[i] * dot(&self.y[i], dir);
            axpy(self.alpha[i] - beta, &self.s[i], dir);
        }
    }
}

/// Largest step of the line search (L-BFGS-B's `stpmx` for an unconstrained problem).
const STEP_MAX: f64 = 1e10;
/// Relative bracket width at which the line search stops refining (MINPACK-2 `xtol`).
const STEP_XTOL: f64 = 0.1;

/// A point of the line search: step length, objective and directional derivative.
#[derive(Debug, Clone, Copy)]
struct Point {
    step: f64,
    value: f64,
    slope: f64,
}

/// `(theta, gamma)` of the cubic interpolating `a` and `b` (values and slopes), in MINPACK-2's
/// scaled form, `gamma` with sign `sign`; a negative discriminant is clamped to 0 when `clamp`.
fn cubic_terms(a: Point, b: Point, sign: f64, clamp: bool) -> (f64, f64) {
    let theta = 3.0 * (a.value - b.value) / (b.step - a.step) + a.slope + b.slope;
    let s = theta.abs().max(a.slope.abs()).max(b.slope.abs());
    let disc = (theta / s) * (theta / s) - (a.slope / s) * (b.slope / s);
    let disc = if clamp { disc.max(0.0) } else { disc };
    (theta, sign * s * disc.sqrt())
}

/// One safeguarded step of Moré and Thuente (MINPACK-2 `dcstep`, as in L-BFGS-B): updates the
/// interval of uncertainty (`x`: best point so far, `y`: other end) with the trial `p` and
/// returns the next trial step.
fn more_thuente_step(
    x: &mut Point,
    y: &mut Point,
    p: Point,
    bracketed: &mut bool,
    step_min: f64,
    step_max: f64,
) -> f64 {
    let sgnd = p.slope * (x.slope / x.slope.abs());
    // MINPACK's `if (cond) gamma = -gamma`.
    let negate_if = |cond: bool| if cond { -1.0 } else { 1.0 };
    let next = if p.value > x.value {
        // Case 1: a higher value; the minimum is bracketed.
        let (theta, gamma) = cubic_terms(*x, p, negate_if(p.step < x.step), false);
        let r = ((gamma - x.slope) + theta) / (((gamma - x.slope) + gamma) + p.slope);
        let stpc = x.step + r * (p.step - x.step);
        let secant = x.slope / ((x.value - p.value) / (p.step - x.step) + x.slope);
        let stpq = x.step + (secant / 2.0) * (p.step - x.step);
        *bracketed = true;
        if (stpc - x.step).abs() < (stpq - x.step).abs() {
            stpc
        } else {
            stpc + (stpq - stpc) / 2.0
        }
    } else if sgnd < 0.0 {
        // Case 2: a lower value and slopes of opposite sign; bracketed.
        let (theta, gamma) = cubic_terms(*x, p, negate_if(p.step > x.step), false);
        let r = ((gamma - p.slope) + theta) / (((gamma - p.slope) + gamma) + x.slope);
        let stpc = p.step + r * (x.step - p.step);
        let stpq = p.step + (p.slope / (p.slope - x.slope)) * (x.step - p.step);
        *bracketed = true;
        if (stpc - p.step).abs() > (stpq - p.step).abs() {
            stpc
        } else {
            stpq
        }
    } else if p.slope.abs() < x.slope.abs() {
        // Case 3: a lower value, slopes of the same sign, the slope's magnitude decreasing.
        let (theta, gamma) = cubic_terms(*x, p, negate_if(p.step > x.step), true);
        let r = ((gamma - p.slope) + theta) / ((gamma + (x.slope - p.slope)) + gamma);
        let stpc = if r < 0.0 && gamma != 0.0 {
            p.step + r * (x.step - p.step)
        } else if p.step > x.step {
            step_max
        } else {
            step_min
        };
        let stpq = p.step + (p.slope / (p.slope - x.slope)) * (x.step - p.step);
        if *bracketed {
            let closer = if (stpc - p.step).abs() < (stpq - p.step).abs() {
                stpc
            } else {
                stpq
            };
            let limit = p.step + 0.66 * (y.step - p.step);
            if p.step > x.step {
                closer.min(limit)
            } else {
                closer.max(limit)
            }
        } else {
            let farther = if (stpc - p.step).abs() > (stpq - p.step).abs() {
                stpc
            } else {
                stpq
            };
            farther.min(step_max).max(step_min)
        }
    } else if *bracketed {
        // Case 4: a lower value, slopes of the same sign, the slope not decreasing.
        let (theta, gamma) = cubic_terms(*y, p, negate_if(p.step > y.step), false);
        let r = ((gamma - p.slope) + theta) / (((gamma - p.slope) + gamma) + y.slope);
        p.step + r * (y.step - p.step)
    } else if p.step > x.step {
        step_max
    } else {
        step_min
    };
    if p.value > x.value {
        *y = p;
    } else {
        if sgnd < 0.0 {
            *y = *x;
        }
        *x = p;
    }
    next
}

/// What a line search ended with.
enum SearchOutcome {
    /// A step was accepted; `x_trial`, `g_trial` hold the new point.
    Accepted { step: f64, value: f64 },
    /// No acceptable step within the evaluation budget, or a non-finite objective.
    Failed,
}

/// Buffers and counters of one line search along `dir` from `x`.
struct LineSearch<'p, 'a> {
    problem: &'p Problem<'a>,
    x: &'p [f64],
    dir: &'p [f64],
    x_trial: &'p mut [f64],
    g_trial: &'p mut [f64],
    evaluations: usize,
    max_evaluations: usize,
}

impl LineSearch<'_, '_> {
    /// Evaluate the objective at `x + step * dir` (into `x_trial`, `g_trial`).
    fn eval(&mut self, step: f64) -> Point {
        for ((xt, xi), di) in self.x_trial.iter_mut().zip(self.x).zip(self.dir) {
            *xt = xi + step * di;
        }
        self.evaluations += 1;
        let value = self.problem.value_and_gradient(self.x_trial, self.g_trial);
        Point {
            step,
            value,
            slope: dot(self.g_trial, self.dir),
        }
    }

    /// Moré-Thuente search for a step satisfying the strong Wolfe conditions (MINPACK-2
    /// `dcsrch` with `ftol = 1e-3`, `gtol = 0.9`, `xtol = 0.1`, steps in `[0, 1e10]`, as
    /// L-BFGS-B calls it). Its warnings (rounding errors, `xtol`, a step at a bound) accept the
    /// current step, as L-BFGS-B does.
    fn search(&mut self, start: Point, first_step: f64) -> SearchOutcome {
        let (step_min, step_max) = (0.0, STEP_MAX);
        let gtest = WOLFE_C1 * start.slope;
        let mut x = start;
        let mut y = start;
        let mut bracketed = false;
        let mut stage_two = false;
        let mut width = step_max - step_min;
        let mut width_before = 2.0 * width;
        let mut lo = 0.0;
        let mut hi = first_step + 4.0 * first_step;
        let mut step = first_step;
        loop {
            if self.evaluations >= self.max_evaluations {
                return SearchOutcome::Failed;
            }
            let p = self.eval(step);
            if !p.value.is_finite() || !p.slope.is_finite() {
                return SearchOutcome::Failed;
            }
            let ftest = start.value + step * gtest;
            if !stage_two && p.value <= ftest && p.slope >= 0.0 {
                stage_two = true;
            }
            let converged = p.value <= ftest && p.slope.abs() <= -WOLFE_C2 * start.slope;
            let no_progress = step <= lo || step >= hi || hi - lo <= STEP_XTOL * hi;
            let warning = (bracketed && no_progress)
                || (step == step_max && p.value <= ftest && p.slope <= gtest)
                || (step == step_min && (p.value > ftest || p.slope >= gtest));
            if converged || warning {
                return SearchOutcome::Accepted { step, value: p.value };
            }
            step = if !stage_two && p.value <= x.value && p.value > ftest {
                // The modified function psi(step) = f(step) - f(0) - step * gtest.
                let shift = |q: Point| Point {
                    step: q.step,
                    value: q.value - q.step * gtest,
                    slope: q.slope - gtest,
                };
                let unshift = |q: Point| Point {
                    step: q.step,
                    value: q.value + q.step * gtest,
                    slope: q.slope + gtest,
                };
                let (mut xm, mut ym) = (shift(x), shift(y));
                let next = more_thuente_step(&mut xm, &mut ym, shift(p), &mut bracketed, lo, hi);
                x = unshift(xm);
                y = unshift(ym);
                next
            } else {
                more_thuente_step(&mut x, &mut y, p, &mut bracketed, lo, hi)
            };
            if bracketed {
                if (y.step - x.step).abs() >= 0.66 * width_before {
                    step = x.step + 0.5 * (y.step - x.step);
                }
                width_before = width;
                width = (y.step - x.step).abs();
                lo = x.step.min(y.step);
                hi = x.step.max(y.step);
            } else {
                lo = step + 1.1 * (step - x.step);
                hi = step + 4.0 * (step - x.step);
            }
            step = step.min(step_max).max(step_min);
            if bracketed && (step <= lo || step >= hi || hi - lo <= STEP_XTOL * hi) {
                step = x.step;
            }
        }
    }
}

/// L-BFGS from `theta` on the problem's objective, following scipy's L-BFGS-B for an
/// unconstrained problem (see the module doc for the stopping rules): the first step along
/// `-g` has length 1 (`1 / ||g||` times `-g`), later trial steps are 1 (also after a restart,
/// as in L-BFGS-B); a failed line search clears the memory and restarts along `-g`, and stops
/// the fit if the memory was already empty.
fn lbfgs(problem: &Problem<'_>, mut theta: Vec<f64>, params: &LogisticParams) -> LbfgsResult {
    let p = theta.len();
    let mut grad = vec![0.0; p];
    let mut value = problem.value_and_gradient(&theta, &mut grad);
    let mut evaluations = 1;
    let mut memory = Memory::new(params.memory);
    let mut dir = vec![0.0; p];
    let mut theta_new = vec![0.0; p];
    let mut grad_new = vec![0.0; p];
    let mut iterations = 0;
    if max_abs(&grad) <= params.tol {
        return LbfgsResult {
            theta,
            value,
            gradient: grad,
            iterations,
            evaluations,
            stop: StopReason::GradientTolerance,
        };
    }
    let stop = loop {
        if iterations >= params.max_iter {
            break StopReason::MaxIterations;
        }
        memory.direction(&grad, &mut dir);
        let slope = dot(&grad, &dir);
        let descent = slope < 0.0; // false for NaN too
        if !descent {
            if memory.is_empty() {
                break StopReason::LineSearchFailed;
            }
            memory.clear();
            continue;
        }
        let first_step = if iterations == 0 {
            (1.0 / dot(&dir, &dir).sqrt()).min(STEP_MAX)
        } else {
            1.0
        };
        let start = Point {
            step: 0.0,
            value,
            slope,
        };
        let mut search = LineSearch {
            problem,
            x: &theta,
            dir: &dir,
            x_trial: &mut theta_new,
            g_trial: &mut grad_new,
            evaluations: 0,
            max_evaluations: params.max_line_search,
        };
        let outcome = search.search(start, first_step);
        evaluations += search.evaluations;
        let SearchOutcome::Accepted {
            step,
            value: new_value,
        } = outcome
        else {
            if memory.is_empty() {
                break StopReason::LineSearchFailed;
            }
            memory.clear();
            continue;
        };
        memory.push(&theta_new, &theta, &grad_new, &grad, -step * slope);
        std::mem::swap(&mut theta, &mut theta_new);
        std::mem::swap(&mut grad, &mut grad_new);
        let old = value;
        value = new_value;
        iterations += 1;
        if max_abs(&grad) <= params.tol {
            break StopReason::GradientTolerance;
        }
        if old - value <= FTOL * old.abs().max(value.abs()).max(1.0) {
            break StopReason::NoRelativeDecrease;
        }
    };
    LbfgsResult {
        theta,
        value,
        gradient: grad,
        iterations,
        evaluations,
        stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Gaussian-ish blobs: `k` classes, class `c` centred at `shift * e_c` (features beyond `k`
    /// pure noise), labels `values[c]`.
    fn blobs(n: usize, d: usize, values: &[u32], shift: f64, seed: u64) -> (Vec<f64>, Vec<u32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let c = i % values.len();
            for j in 0..d {
                let noise: f64 = rng.random::<f64>() * 2.0 - 1.0;
                x.push(noise + if j == c % d { shift } else { 0.0 });
            }
            y.push(values[c]);
        }
        (x, y)
    }

    fn gradient_check(values: &[u32], fit_intercept: bool) {
        let (n, d) = (40, 5);
        let (x, y) = blobs(n, d, values, 1.0, 3);
        let (classes, targets) = encode_labels(&y, n).unwrap();
        let params = LogisticParams {
            c: 0.7,
            fit_intercept,
            ..LogisticParams::default()
        };
        let problem = Problem::new(&x, n, d, &targets, classes.len(), &params);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let theta: Vec<f64> = (0..problem.n_params())
            .map(|_| rng.random::<f64>() - 0.5)
            .collect();
        let mut grad = vec![0.0; theta.len()];
        problem.value_and_gradient(&theta, &mut grad);
        let mut scratch = vec![0.0; theta.len()];
        let h = 1e-6;
        for i in 0..theta.len() {
            let mut plus = theta.clone();
            plus[i] += h;
            let mut minus = theta.clone();
            minus[i] -= h;
            let numeric = (problem.value_and_gradient(&plus, &mut scratch)
                - problem.value_and_gradient(&minus, &mut scratch))
                / (2.0 * h);
            assert!(
                (numeric - grad[i]).abs() <= 1e-8,
                "param {i}: analytic {} vs numeric {numeric}",
                grad[i]
            );
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        gradient_check(&[0, 1], true);
        gradient_check(&[4, 8, 15], true);
        gradient_check(&[1, 2, 3, 4], false);
    }

    #[test]
    fn objective_by_hand() {
        // Two points x = -1 (class 0) and x = 1 (class 1), w = 0.5, b = 0.25, C = 2:
        // mean(ln(1 + e^{-0.25}) , ln(1 + e^{0.75}) - 0.75) + 0.25 / (2 * 2 * 2).
        let model = LogisticModel {
            classes: vec![0, 1],
            n_features: 1,
            weights: vec![0.5],
            intercepts: vec![0.25],
            iterations: 0,
            evaluations: 0,
            converged: true,
            stop_reason: StopReason::GradientTolerance,
            objective: 0.0,
            gradient_max_abs: 0.0,
        };
        let f = model.objective(&[-1.0, 1.0], 2, &[0, 1], 2.0).unwrap();
        let hand = 0.5 * ((1.0 + (-0.25f64).exp()).ln() + (1.0 + 0.75f64.exp()).ln() - 0.75) + 0.25 / 8.0;
        assert!((f - hand).abs() < 1e-15, "{f} vs {hand}");
    }

    fn tight() -> LogisticParams {
        LogisticParams {
            tol: 1e-10,
            ..LogisticParams::default()
        }
    }

    /// x = -1 (class 0), x = 1 (class 1): b = 0 by symmetry and w solves
    /// `w / 2 = sigmoid(-w)` (the stationarity of `ln(1 + e^{-w}) + w^2 / 4`).
    #[test]
    fn two_point_binary_solution() {
        let model = fit_logistic(&[-1.0, 1.0], 2, 1, &[0, 1], &tight()).unwrap();
        let (mut lo, mut hi) = (0.0f64, 2.0f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid / 2.0 - sigmoid(-mid) > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        assert!(model.converged);
        assert!(
            (model.weights[0] - lo).abs() < 1e-9,
            "{} vs {lo}",
            model.weights[0]
        );
        assert!(model.intercepts[0].abs() < 1e-9);
        // sklearn 1.9.1: LogisticRegression(tol=1e-10).fit([[-1], [1]], [0, 1]).coef_
        assert!((model.weights[0] - 0.674_831_614_343_042_2).abs() < 1e-9);
        // sklearn's default stops after 4 iterations at 0.6748316909990028.
        let model = fit_logistic(&[-1.0, 1.0], 2, 1, &[0, 1], &LogisticParams::default()).unwrap();
        assert_eq!(model.iterations, 4);
        assert!((model.weights[0] - 0.674_831_690_999_002_8).abs() < 1e-12);
    }

    fn assert_close_all(ours: &[f64], reference: &[f64], tol: f64, what: &str) {
        assert_eq!(ours.len(), reference.len());
        for (a, b) in ours.iter().zip(reference) {
            assert!((a - b).abs() < tol, "{what}: {a} vs sklearn {b}");
        }
    }

    /// References from scikit-learn 1.9.1 on the X, y below: `LogisticRegression()` (11
    /// iterations, stopped at `tol = 1e-4`) and `LogisticRegression(tol=1e-10, max_iter=10000)`
    /// (the optimum).
    #[test]
    fn small_multinomial_matches_sklearn() {
        let x = [
            0.0, 1.0, 1.0, 0.5, 2.0, 2.0, 3.0, 0.0, -1.0, 1.5, 0.5, -1.0, 2.5, 1.0, -0.5, -2.0,
        ];
        let y = [0, 1, 1, 2, 0, 2, 1, 0];
        let model = fit_logistic(&x, 8, 2, &y, &LogisticParams::default()).unwrap();
        assert_eq!(model.iterations, 11);
        let coef_default = [
            -1.045_152_217_789_750_5,
            0.056_383_786_542_720_055,
            0.437_245_539_365_497_2,
            0.588_442_296_757_798_9,
            0.607_906_678_424_253_7,
            -0.644_826_083_300_518_6,
        ];
        let intercept_default = [
            0.917_039_795_233_05,
            -0.380_548_736_223_259_85,
            -0.536_491_059_009_789_9,
        ];
        assert_close_all(&model.weights, &coef_default, 1e-10, "default coef");
        assert_close_all(&model.intercepts, &intercept_default, 1e-10, "default intercept");

        let model = fit_logistic(&x, 8, 2, &y, &tight()).unwrap();
        let coef = [
            -1.045_169_829_748_349_2,
            0.056_366_645_239_680_976,
            0.437_264_382_755_772_56,
            0.588_449_824_547_791,
            0.607_905_446_992_576_5,
            -0.644_816_469_787_471_8,
        ];
        let intercept = [
            0.917_073_259_037_057_5,
            -0.380_590_396_298_007_06,
            -0.536_482_862_739_050_2,
        ];
        assert_close_all(&model.weights, &coef, 1e-8, "optimal coef");
        assert_close_all(&model.intercepts, &intercept, 1e-8, "optimal intercept");
    }

    #[test]
    fn separable_blobs_are_learned_and_label_names_do_not_matter() {
        let (n, d) = (300, 6);
        let (x, y) = blobs(n, d, &[0, 1, 2, 3], 4.0, 11);
        let model = fit_logistic(&x, n, d, &y, &LogisticParams::default()).unwrap();
        assert!(model.converged, "{:?}", model.stop_reason);
        assert!(model.gradient_max_abs <= SKLEARN_TOL);
        let predicted = model.predict(&x, n).unwrap();
        assert!(balanced_accuracy(&y, &predicted).unwrap() > 0.97);
        let names = [70u32, 5, 900, 12];
        let renamed: Vec<u32> = y.iter().map(|&c| names[c as usize]).collect();
        let model2 = fit_logistic(&x, n, d, &renamed, &LogisticParams::default()).unwrap();
        assert_eq!(model2.classes, vec![5, 12, 70, 900]);
        let predicted2 = model2.predict(&x, n).unwrap();
        let expected: Vec<u32> = predicted.iter().map(|&c| names[c as usize]).collect();
        assert_eq!(predicted2, expected);
    }

    #[test]
    fn binary_model_has_one_row_for_the_second_class() {
        let (n, d) = (200, 3);
        let (x, y) = blobs(n, d, &[7, 3], 3.0, 5);
        let model = fit_logistic(&x, n, d, &y, &LogisticParams::default()).unwrap();
        assert_eq!(model.classes, vec![3, 7]);
        assert_eq!((model.weights.len(), model.intercepts.len()), (3, 1));
        // Class 3 is centred on feature 1, class 7 on feature 0 (values[c] with c = i % 2):
        // the positive class (7) must weigh feature 0 up and feature 1 down.
        assert!(
            model.weights[0] > 0.5 && model.weights[1] < -0.5,
            "{:?}",
            model.weights
        );
        let z = model.decision_function(&x, n).unwrap();
        let predicted = model.predict(&x, n).unwrap();
        for (zi, p) in z.iter().zip(&predicted) {
            assert_eq!(*p, if *zi > 0.0 { 7 } else { 3 });
        }
    }

    #[test]
    fn tighter_tolerance_never_raises_the_objective() {
        let (n, d) = (400, 8);
        let (x, y) = blobs(n, d, &[0, 1, 2], 0.8, 21);
        let tight = LogisticParams {
            tol: 1e-8,
            ..LogisticParams::default()
        };
        let a = fit_logistic(&x, n, d, &y, &LogisticParams::default()).unwrap();
        let b = fit_logistic(&x, n, d, &y, &tight).unwrap();
        assert!(a.converged && b.converged);
        assert!(a.gradient_max_abs <= SKLEARN_TOL);
        assert!(b.objective <= a.objective + 1e-15);
        assert!(b.iterations >= a.iterations);
        let recomputed = b.objective(&x, n, &y, 1.0).unwrap();
        assert!((recomputed - b.objective).abs() < 1e-14);
    }

    #[test]
    fn max_iter_is_respected() {
        let (n, d) = (200, 5);
        let (x, y) = blobs(n, d, &[0, 1, 2], 0.5, 2);
        let params = LogisticParams {
            max_iter: 2,
            ..LogisticParams::default()
        };
        let model = fit_logistic(&x, n, d, &y, &params).unwrap();
        assert_eq!(model.iterations, 2);
        assert!(!model.converged);
        assert_eq!(model.stop_reason, StopReason::MaxIterations);
    }

    /// On a quadratic the cubic and secant steps of `dcstep` are exact, in every case.
    #[test]
    fn more_thuente_steps_find_a_quadratic_minimum() {
        let at = |t: f64, m: f64| Point {
            step: t,
            value: (t - m) * (t - m),
            slope: 2.0 * (t - m),
        };
        // Case 1: a higher value at p (minimum 0.3 between 0 and 1): bracketed.
        let (mut x, mut y, mut bracketed) = (at(0.0, 0.3), at(0.0, 0.3), false);
        let next = more_thuente_step(&mut x, &mut y, at(1.0, 0.3), &mut bracketed, 0.0, 5.0);
        assert!((next - 0.3).abs() < 1e-12 && bracketed, "{next}");
        assert_eq!((x.step, y.step), (0.0, 1.0));
        // Case 2: lower value, opposite slopes (0 and 0.5 around 0.3): bracketed, x moves.
        let (mut x, mut y, mut bracketed) = (at(0.0, 0.3), at(0.0, 0.3), false);
        let next = more_thuente_step(&mut x, &mut y, at(0.5, 0.3), &mut bracketed, 0.0, 5.0);
        assert!((next - 0.3).abs() < 1e-12 && bracketed, "{next}");
        assert_eq!((x.step, y.step), (0.5, 0.0));
        // Case 3: lower value, same slope sign, smaller slope (0 and 0.5 before 1): extrapolate.
        let (mut x, mut y, mut bracketed) = (at(0.0, 1.0), at(0.0, 1.0), false);
        let next = more_thuente_step(&mut x, &mut y, at(0.5, 1.0), &mut bracketed, 0.55, 2.5);
        assert!((next - 1.0).abs() < 1e-12 && !bracketed, "{next}");
        // ... clamped to the allowed interval.
        let (mut x, mut y, mut bracketed) = (at(0.0, 1.0), at(0.0, 1.0), false);
        let next = more_thuente_step(&mut x, &mut y, at(0.5, 1.0), &mut bracketed, 0.55, 0.8);
        assert_eq!(next, 0.8);
    }

    #[test]
    fn balanced_accuracy_by_hand() {
        // Recalls: class 0: 1/2, class 1: 2/2, class 2: 0/1 -> mean 0.5.
        let t = [0, 0, 1, 1, 2];
        let p = [0, 1, 1, 1, 0];
        assert!((balanced_accuracy(&t, &p).unwrap() - 0.5).abs() < 1e-15);
        // A predicted class (9) absent from y_true is ignored as a class: recalls 1/2 and 1.
        let t = [0, 0, 1];
        let p = [9, 0, 1];
        assert!((balanced_accuracy(&t, &p).unwrap() - 0.75).abs() < 1e-15);
        assert_eq!(balanced_accuracy(&[3, 3], &[3, 3]).unwrap(), 1.0);
        assert!(balanced_accuracy(&[], &[]).is_err());
        assert!(balanced_accuracy(&[1], &[1, 2]).is_err());
    }

    #[test]
    fn errors_instead_of_panics() {
        let p = LogisticParams::default();
        let e = fit_logistic(&[1.0, 2.0], 2, 1, &[4, 4], &p).unwrap_err();
        assert_eq!(e.kind(), "invalid-parameter");
        assert!(e.to_string().contains("at least two classes"), "{e}");
        let e = fit_logistic(&[1.0, f64::NAN, 0.0, 1.0], 2, 2, &[0, 1], &p).unwrap_err();
        assert_eq!(e, GeometryError::NonFinite { row: 0, col: 1 });
        assert_eq!(
            fit_logistic(&[], 0, 3, &[], &p).unwrap_err().kind(),
            "too-few-points"
        );
        assert!(fit_logistic(&[1.0, 2.0, 3.0], 2, 2, &[0, 1], &p).is_err());
        assert!(fit_logistic(&[1.0, 2.0], 2, 1, &[0, 1, 1], &p).is_err());
        assert!(fit_logistic(&[1.0, 2.0], 2, 0, &[0, 1], &p).is_err());
        let bad_c = LogisticParams { c: 0.0, ..p.clone() };
        assert!(fit_logistic(&[1.0, 2.0], 2, 1, &[0, 1], &bad_c).is_err());
        let model = fit_logistic(&[1.0, 2.0], 2, 1, &[0, 1], &p).unwrap();
        assert!(model.predict(&[1.0, 2.0], 1).is_err());
        assert!(model.predict(&[f64::INFINITY], 1).is_err());
        assert!(model.objective(&[1.0], 1, &[5], 1.0).is_err());
    }
}
