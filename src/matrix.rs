//! A dense, row-major `f32` matrix: the one in-memory form every reader produces and every
//! analysis consumes. Rows are points (SAE features), columns are dimensions of the residual stream.

use thiserror::Error;

/// The shape and the length of the data disagree.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("a {rows} x {cols} matrix needs {expected} values, but {actual} were given")]
pub struct ShapeError {
    pub rows: usize,
    pub cols: usize,
    pub expected: usize,
    pub actual: usize,
}

/// Dense row-major matrix of `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    /// Wraps `data` (row-major, `rows * cols` values).
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self, ShapeError> {
        let expected = rows.saturating_mul(cols);
        if data.len() != expected {
            return Err(ShapeError {
                rows,
                cols,
                expected,
                actual: data.len(),
            });
        }
        Ok(Self { rows, cols, data })
    }

    /// Number of rows (points).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (dimensions).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` as a slice.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Consumes the matrix, returning its row-major values.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// The transpose, as a new row-major matrix.
    pub fn transpose(&self) -> Matrix {
        let mut out = vec![0f32; self.data.len()];
        for i in 0..self.rows {
            for j in 0..self.cols {
                out[j * self.rows + i] = self.data[i * self.cols + j];
            }
        }
        Matrix {
            rows: self.cols,
            cols: self.rows,
            data: out,
        }
    }

    /// Position `(row, col)` of the first NaN or infinite value, if any.
    pub fn first_non_finite(&self) -> Option<(usize, usize)> {
        self.data
            .iter()
            .position(|v| !v.is_finite())
            .map(|p| (p / self.cols.max(1), p % self.cols.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_mismatch_is_an_error() {
        let e = Matrix::new(2, 3, vec![0.0; 5]).unwrap_err();
        assert_eq!(e.expected, 6);
        assert_eq!(e.actual, 5);
    }

    #[test]
    fn transpose_round_trips() {
        let m = Matrix::new(2, 3, vec![1., 2., 3., 4., 5., 6.]).unwrap();
        let t = m.transpose();
        assert_eq!(t.rows(), 3);
        assert_eq!(t.row(0), &[1., 4.]);
        assert_eq!(t.transpose(), m);
    }

    #[test]
    fn finds_non_finite() {
        let m = Matrix::new(2, 2, vec![1., 2., f32::NAN, 4.]).unwrap();
        assert_eq!(m.first_non_finite(), Some((1, 0)));
    }
}
