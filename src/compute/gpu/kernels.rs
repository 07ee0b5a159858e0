//! The public compute methods of [`GpuContext`].

use super::{ceil_div, invalid, GpuContext, GpuError};

const TILE: usize = 64;
/// The most neighbours [`GpuContext::nearest`] keeps per row (its top-k lives in workgroup memory).
pub const MAX_TOP_K: usize = 64;
const KMAX: usize = MAX_TOP_K;

/// A matrix kept on the GPU (row-major, stored in row blocks that each fit one binding).
pub struct GpuMatrix {
    pub(crate) blocks: Vec<(wgpu::Buffer, usize, usize)>, // (buffer, first row, rows)
    pub(crate) rows: usize,
    pub(crate) cols: usize,
}

impl GpuMatrix {
    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
}

fn checked_len(a: usize, b: usize, what: &str) -> Result<usize, GpuError> {
    a.checked_mul(b)
        .ok_or_else(|| invalid(format!("{what}: {a} x {b} overflows")))
}

fn expect_len(len: usize, a: usize, b: usize, what: &str) -> Result<(), GpuError> {
    let n = checked_len(a, b, what)?;
    if len != n {
        return Err(invalid(format!(
            "{what} has {len} values, expected {a} x {b} = {n}"
        )));
    }
    Ok(())
}

fn to_u32(v: usize, what: &str) -> Result<u32, GpuError> {
    u32::try_from(v).map_err(|_| invalid(format!("{what} = {v} does not fit in 32 bits")))
}

/// Parameters of matmul.wgsl.
#[derive(Clone, Copy, Default)]
struct Mm {
    m: usize,
    n: usize,
    k: usize,
    lda: usize,
    ldb: usize,
    ldc: usize,
    a_off: usize,
    b_off: usize,
    c_off: usize,
    trans_a: bool,
    trans_b: bool,
    accumulate: bool,
    sym_skip: bool,
    c_row_base: usize,
}

impl Mm {
    /// Rows `r0..r0 + rows` of `A B^T` (A and B row-major with `d` columns, B with `n` rows) into
    /// a `rows x n` output block.
    fn rows_times_transpose(r0: usize, rows: usize, n: usize, d: usize) -> Mm {
        Mm { m: rows, n, k: d, lda: d, ldb: d, ldc: n, a_off: r0 * d, trans_b: true, ..Default::default() }
    }
}

/// Splits `total` rows into blocks of at most `per` rows, where the block size is rounded
/// down to a multiple of 64 when it is at least 64 (keeps the symmetric skip aligned).
fn row_blocks(total: usize, per: usize) -> Vec<(usize, usize)> {
    let mut per = per.max(1).min(total.max(1));
    if per < total && per >= TILE {
        per -= per % TILE;
    }
    let mut v = Vec::new();
    let mut r = 0;
    while r < total {
        let e = (r + per).min(total);
        v.push((r, e - r));
        r = e;
    }
    v
}

/// How the GPU counts a co-occurrence histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CooccurrenceMethod {
    /// The cheaper of the two for the input ([`CooccurrenceMethod::choose`]).
    Auto,
    /// One atomic increment per pair of firings in a chunk: for sparse firings.
    Pairs,
    /// Popcounts of ANDed per-feature chunk bitsets: for dense firings.
    Bitsets,
}

impl CooccurrenceMethod {
    /// The cheaper kernel: pairs cost the sum over chunks of len^2 / 2 atomic increments; bitsets
    /// n^2 / 2 x ceil(chunks / 32) AND + popcount word operations, counted at a quarter of an
    /// increment each (tiled in workgroup memory, no atomics), as the CPU path chooses between
    /// the same two ([`crate::geometry::cooccurrence::cooccurrence_histogram`]).
    pub fn choose(indptr: &[u32], n_features: usize) -> CooccurrenceMethod {
        let pair_ops: f64 = indptr.windows(2).map(|w| (w[1].saturating_sub(w[0]) as f64).powi(2) / 2.0).sum();
        let chunks = indptr.len().saturating_sub(1);
        let bitset_ops = (n_features as f64).powi(2) / 2.0 * chunks.div_ceil(32) as f64 / 4.0;
        if bitset_ops < pair_ops {
            CooccurrenceMethod::Bitsets
        } else {
            CooccurrenceMethod::Pairs
        }
    }

    fn resolve(self, indptr: &[u32], n_features: usize) -> CooccurrenceMethod {
        match self {
            CooccurrenceMethod::Auto => CooccurrenceMethod::choose(indptr, n_features),
            m => m,
        }
    }
}

impl GpuContext {
    fn record_mm(
        &self,
        enc: &mut wgpu::CommandEncoder,
        p: Mm,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        c: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        self.record_tiled(&self.matmul, enc, p, a, b, c)
    }

    /// One dispatch of matmul.wgsl's tiling with `kernel`'s accumulation step (the product, or
    /// squared distances).
    fn record_tiled(
        &self,
        kernel: &super::Kernel,
        enc: &mut wgpu::CommandEncoder,
        p: Mm,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        c: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        let words = [
            to_u32(p.m, "m")?,
            to_u32(p.n, "n")?,
            to_u32(p.k, "k")?,
            to_u32(p.lda, "lda")?,
            to_u32(p.ldb, "ldb")?,
            to_u32(p.ldc, "ldc")?,
            to_u32(p.a_off, "a offset")?,
            to_u32(p.b_off, "b offset")?,
            to_u32(p.c_off, "c offset")?,
            p.trans_a as u32,
            p.trans_b as u32,
            p.accumulate as u32,
            p.sym_skip as u32,
            to_u32(p.c_row_base, "row base")?,
            0,
            0,
        ];
        let u = self.uniform(&words);
        let gx = to_u32(ceil_div(p.n, TILE), "column tiles")?;
        let gy = to_u32(ceil_div(p.m, TILE), "row tiles")?;
        self.dispatch(enc, kernel, &[&u, a, b, c], (gx, gy))
    }

    /// Records the copy of a row block's first `values` 4-byte values from `src` into a new
    /// staging buffer, kept in `stagings` (read back by [`GpuContext::join_row_blocks`]).
    fn stage_block(
        &self,
        enc: &mut wgpu::CommandEncoder,
        src: &wgpu::Buffer,
        values: usize,
        stagings: &mut Vec<wgpu::Buffer>,
    ) -> Result<(), GpuError> {
        let bytes = values as u64 * 4;
        let s = self.staging(bytes)?;
        enc.copy_buffer_to_buffer(src, 0, &s, 0, bytes);
        stagings.push(s);
        Ok(())
    }

    /// Submits `enc` and joins the staged row blocks (`blocks`: first row and rows; `width`
    /// values per row) into one row-major result.
    async fn join_row_blocks<T: bytemuck::Pod>(
        &self,
        scopes: super::Scopes,
        enc: wgpu::CommandEncoder,
        stagings: Vec<wgpu::Buffer>,
        blocks: &[(usize, usize)],
        width: usize,
    ) -> Result<Vec<T>, GpuError> {
        let parts = self.submit::<T>(scopes, enc, stagings).await?;
        let mut out = Vec::with_capacity(blocks.iter().map(|b| b.1).sum::<usize>() * width);
        for (part, &(_, rows)) in parts.iter().zip(blocks) {
            out.extend_from_slice(&part[..rows * width]);
        }
        Ok(out)
    }

    /// A 2D grid covering `count` workgroups: (groups_x, groups_y).
    fn grid(&self, count: usize) -> Result<(u32, u32), GpuError> {
        let max = self.max_groups() as usize;
        let gx = count.min(max).max(1);
        let gy = ceil_div(count, gx);
        if gy > max {
            return Err(GpuError::TooLarge {
                what: "the dispatch grid".into(),
                needed: count as u64,
                limit: (max * max) as u64,
            });
        }
        Ok((gx as u32, gy as u32))
    }

    /// C = X^T X: `x` is n x d row-major, result d x d row-major (f32 accumulation).
    /// X is uploaded in row tiles that each fit one binding; C += Xt^T Xt on the GPU.
    pub async fn gram_columns(&self, x: &[f32], n: usize, d: usize) -> Result<Vec<f32>, GpuError> {
        expect_len(x.len(), n, d, "gram_columns input")?;
        self.check_lost()?;
        if d == 0 {
            return Ok(Vec::new());
        }
        let dd = checked_len(d, d, "gram_columns output")?;
        if n == 0 {
            return Ok(vec![0.0; dd]);
        }
        let out_bytes = dd as u64 * 4;
        self.check_binding("the d x d Gram matrix", out_bytes)?;
        let row_bytes = d as u64 * 4;
        self.check_binding("one row of the input", row_bytes)?;
        let per = (self.max_binding_bytes() / row_bytes) as usize;
        let blocks = row_blocks(n, per);

        let scopes = self.begin()?;
        let out = self.storage("gram output", out_bytes, wgpu::BufferUsages::COPY_SRC)?;
        let mut enc = self.encoder();
        for (t, &(r0, rows)) in blocks.iter().enumerate() {
            let tile = self.upload("a row tile of the input", &x[r0 * d..(r0 + rows) * d])?;
            let p = Mm {
                m: d,
                n: d,
                k: rows,
                lda: d,
                ldb: d,
                ldc: d,
                trans_a: true,
                trans_b: false,
                accumulate: t > 0,
                sym_skip: true,
                ..Default::default()
            };
            self.record_mm(&mut enc, p, &tile, &tile, &out)?;
        }
        let staging = self.staging(out_bytes)?;
        enc.copy_buffer_to_buffer(&out, 0, &staging, 0, out_bytes);
        let mut c = self
            .submit::<f32>(scopes, enc, vec![staging])
            .await?
            .remove(0);
        c.truncate(dd);
        crate::geometry::linalg::mirror_upper_to_lower(&mut c, d);
        Ok(c)
    }

    /// The Gram kernel alone: `X^T X` of a resident `n x d` `x` (one tile), `repeats` dispatches in
    /// one submission after a warm-up one, timed with `clock` (ms); returns ms per dispatch. No
    /// upload or readback is inside the time (a 4-byte copy marks the end). For the benchmark's
    /// fraction of the GPU's peak.
    pub async fn gram_columns_kernel_ms(
        &self,
        x: &[f32],
        n: usize,
        d: usize,
        repeats: usize,
        clock: fn() -> f64,
    ) -> Result<f64, GpuError> {
        expect_len(x.len(), n, d, "gram_columns input")?;
        self.check_lost()?;
        let out_bytes = checked_len(d, d, "gram_columns output")? as u64 * 4;
        self.check_binding("the d x d Gram matrix", out_bytes)?;
        self.check_binding("the input", (n * d) as u64 * 4)?;
        if n == 0 || d == 0 || repeats == 0 {
            return Ok(0.0);
        }
        let tile = self.upload("the input", x)?;
        let out = self.storage("gram output", out_bytes, wgpu::BufferUsages::COPY_SRC)?;
        let p = Mm { m: d, n: d, k: n, lda: d, ldb: d, ldc: d, trans_a: true, sym_skip: true, ..Default::default() };
        let mut elapsed = 0.0;
        for (round, count) in [(0, 1), (1, repeats)] {
            let scopes = self.begin()?;
            let mut enc = self.encoder();
            for _ in 0..count {
                self.record_mm(&mut enc, p, &tile, &tile, &out)?;
            }
            let staging = self.staging(4)?;
            enc.copy_buffer_to_buffer(&out, 0, &staging, 0, 4);
            let t0 = clock();
            self.submit::<f32>(scopes, enc, vec![staging]).await?;
            if round == 1 {
                elapsed = clock() - t0;
            }
        }
        Ok(elapsed / repeats as f64)
    }

    /// G = X X^T: n x n row-major; the output is computed in row blocks that fit one binding.
    pub async fn gram_rows(&self, x: &[f32], n: usize, d: usize) -> Result<Vec<f32>, GpuError> {
        expect_len(x.len(), n, d, "gram_rows input")?;
        self.check_lost()?;
        let nn = checked_len(n, n, "gram_rows output")?;
        if n == 0 {
            return Ok(Vec::new());
        }
        if d == 0 {
            return Ok(vec![0.0; nn]);
        }
        self.check_binding("the input matrix", x.len() as u64 * 4)?;
        let row_bytes = n as u64 * 4;
        self.check_binding("one row of the Gram matrix", row_bytes)?;
        let per = (self.max_binding_bytes() / row_bytes) as usize;
        let blocks = row_blocks(n, per);
        let sym = blocks.len() == 1 || blocks[0].1.is_multiple_of(TILE);
        let blk_rows = blocks[0].1;

        let scopes = self.begin()?;
        let xb = self.upload("the input matrix", x)?;
        let out = self.storage(
            "a row block of the Gram matrix",
            (blk_rows * n) as u64 * 4,
            wgpu::BufferUsages::COPY_SRC,
        )?;
        let mut enc = self.encoder();
        let mut stagings = Vec::new();
        for &(r0, rows) in &blocks {
            let p = Mm { sym_skip: sym, c_row_base: r0, ..Mm::rows_times_transpose(r0, rows, n, d) };
            self.record_mm(&mut enc, p, &xb, &xb, &out)?;
            self.stage_block(&mut enc, &out, rows * n, &mut stagings)?;
        }
        let mut g: Vec<f32> = self.join_row_blocks(scopes, enc, stagings, &blocks, n).await?;
        if sym {
            crate::geometry::linalg::mirror_upper_to_lower(&mut g, n);
        }
        Ok(g)
    }

    /// C = A B: A is m x k, B is k x n, row-major.
    pub async fn matmul(
        &self,
        a: &[f32],
        b: &[f32],
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Vec<f32>, GpuError> {
        expect_len(a.len(), m, k, "matmul A")?;
        expect_len(b.len(), k, n, "matmul B")?;
        self.check_lost()?;
        let mn = checked_len(m, n, "matmul output")?;
        if mn == 0 {
            return Ok(Vec::new());
        }
        if k == 0 {
            return Ok(vec![0.0; mn]);
        }
        self.check_binding("one row of A", k as u64 * 4)?;
        let scopes = self.begin()?;
        let per = (self.max_binding_bytes() / (k as u64 * 4)) as usize;
        let mut blocks = Vec::new();
        for (r0, rows) in row_blocks(m, per) {
            let buf = self.upload("a row block of A", &a[r0 * k..(r0 + rows) * k])?;
            blocks.push((buf, r0, rows));
        }
        let pending = self.product_blocks(scopes, &blocks, k, b, n)?;
        drop(blocks);
        pending.await
    }

    /// Records Y = A X for every row block of A (X: k x n uploaded here) and reads Y back.
    fn product_blocks<'a>(
        &'a self,
        scopes: super::Scopes,
        blocks: &[(wgpu::Buffer, usize, usize)],
        k: usize,
        x: &[f32],
        n: usize,
    ) -> Result<impl std::future::Future<Output = Result<Vec<f32>, GpuError>> + 'a, GpuError> {
        let xb = self.upload("the right-hand matrix", x)?;
        let row_bytes = n as u64 * 4;
        self.check_binding("one row of the product", row_bytes)?;
        let per_out = (self.max_binding_bytes() / row_bytes) as usize;
        let mut enc = self.encoder();
        let mut stagings = Vec::new();
        let mut spans = Vec::new();
        let max_rows = blocks
            .iter()
            .map(|b| b.2)
            .max()
            .unwrap_or(0)
            .min(per_out.max(1));
        let out = self.storage(
            "a row block of the product",
            (max_rows * n) as u64 * 4,
            wgpu::BufferUsages::COPY_SRC,
        )?;
        for (abuf, _, rows) in blocks {
            // an A block may hold more rows than one output block: split it
            for (s0, srows) in row_blocks(*rows, per_out) {
                let p = Mm {
                    m: srows,
                    n,
                    k,
                    lda: k,
                    ldb: n,
                    ldc: n,
                    a_off: s0 * k,
                    ..Default::default()
                };
                self.record_mm(&mut enc, p, abuf, &xb, &out)?;
                let bytes = (srows * n) as u64 * 4;
                let s = self.staging(bytes)?;
                enc.copy_buffer_to_buffer(&out, 0, &s, 0, bytes);
                stagings.push(s);
                spans.push(srows * n);
            }
        }
        let pending = self.submit::<f32>(scopes, enc, stagings);
        Ok(async move {
            let parts = pending.await?;
            let total: usize = spans.iter().sum();
            let mut y = Vec::with_capacity(total);
            for (part, len) in parts.iter().zip(spans) {
                y.extend_from_slice(&part[..len]);
            }
            Ok(y)
        })
    }

    /// Uploads A (rows x cols, row-major) once for repeated products Y = A X.
    pub fn upload_matrix(
        &self,
        a: &[f32],
        rows: usize,
        cols: usize,
    ) -> Result<GpuMatrix, GpuError> {
        expect_len(a.len(), rows, cols, "upload_matrix input")?;
        self.check_lost()?;
        let mut blocks = Vec::new();
        if rows == 0 || cols == 0 {
            return Ok(GpuMatrix { blocks, rows, cols });
        }
        self.check_binding("one row of the matrix", cols as u64 * 4)?;
        let per = (self.max_binding_bytes() / (cols as u64 * 4)) as usize;
        let scopes = self.begin()?;
        for (r0, r) in row_blocks(rows, per) {
            let buf = self.upload("a row block of the matrix", &a[r0 * cols..(r0 + r) * cols])?;
            blocks.push((buf, r0, r));
        }
        self.end_now(scopes)?;
        Ok(GpuMatrix { blocks, rows, cols })
    }

    /// Y = A X: A (rows x cols) kept on the GPU, X (cols x x_cols) row-major; Y rows x x_cols.
    pub async fn matrix_product(
        &self,
        a: &GpuMatrix,
        x: &[f32],
        x_cols: usize,
    ) -> Result<Vec<f32>, GpuError> {
        expect_len(x.len(), a.cols, x_cols, "matrix_product X")?;
        self.check_lost()?;
        let total = checked_len(a.rows, x_cols, "matrix_product output")?;
        if total == 0 {
            return Ok(Vec::new());
        }
        if a.cols == 0 {
            return Ok(vec![0.0; total]);
        }
        let scopes = self.begin()?;
        let pending = self.product_blocks(scopes, &a.blocks, a.cols, x, x_cols)?;
        pending.await
    }

    /// `y = A v` for A kept on the GPU and `v` rounded to f32 (the products of the iterative
    /// eigensolvers): one workgroup per row, f32 partial sums and a tree, returned as f64. Its
    /// error is f32 rounding: the vector's (relative `6e-8`) and the sums' (about `6e-8 sqrt(cols
    /// / 256)` of `sum |a_ij v_j|` for random signs), where the CPU's f64 sums err by `1e-16`.
    /// (A compensated version, two-sum and fma-recovered products, was tried: shader compilers
    /// simplify its error terms away, lavapipe and SwiftShader alike, so it is not offered.)
    pub async fn matvec(&self, a: &GpuMatrix, v: &[f64]) -> Result<Vec<f64>, GpuError> {
        expect_len(v.len(), a.cols, 1, "matvec vector")?;
        self.check_lost()?;
        if a.rows == 0 {
            return Ok(Vec::new());
        }
        if a.cols == 0 {
            return Ok(vec![0.0; a.rows]);
        }
        let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        let cols = to_u32(a.cols, "columns")?;
        let scopes = self.begin()?;
        let xb = self.upload("the vector", &v32)?;
        let yb = self.storage("the product", a.rows as u64 * 4, wgpu::BufferUsages::COPY_SRC)?;
        let mut enc = self.encoder();
        let max = self.max_groups() as usize;
        for (abuf, r0, rows) in &a.blocks {
            let gx = (*rows).min(max);
            let gy = rows.div_ceil(gx);
            let u = self.uniform(&[to_u32(*rows, "rows")?, cols, to_u32(*r0, "first row")?, gx as u32]);
            self.dispatch(&mut enc, &self.matvec, &[&u, abuf, &xb, &yb], (gx as u32, to_u32(gy, "row groups")?))?;
        }
        let bytes = a.rows as u64 * 4;
        let staging = self.staging(bytes)?;
        enc.copy_buffer_to_buffer(&yb, 0, &staging, 0, bytes);
        let parts: Vec<Vec<f32>> = self.submit(scopes, enc, vec![staging]).await?;
        Ok(parts[0][..a.rows].iter().map(|&p| p as f64).collect())
    }

    /// For each of the m rows of `q` (m x d), the `k` rows of `p` (n x d) nearest in squared
    /// Euclidean distance, ascending (ties: lower index first). Returns (indices, distances),
    /// each m x k. With `exclude_self`, q and p are the same points and j == i is skipped.
    #[allow(clippy::too_many_arguments)]
    pub async fn nearest(
        &self,
        q: &[f32],
        m: usize,
        p: &[f32],
        n: usize,
        d: usize,
        k: usize,
        exclude_self: bool,
    ) -> Result<(Vec<u32>, Vec<f32>), GpuError> {
        expect_len(q.len(), m, d, "nearest queries")?;
        expect_len(p.len(), n, d, "nearest points")?;
        self.check_lost()?;
        if k > KMAX {
            return Err(invalid(format!(
                "nearest: k = {k} but at most {KMAX} is supported"
            )));
        }
        if exclude_self && m != n {
            return Err(invalid(format!(
                "nearest: exclude_self needs the same points (m = {m}, n = {n})"
            )));
        }
        let candidates = if exclude_self { n.saturating_sub(1) } else { n };
        if m > 0 && k > candidates {
            return Err(invalid(format!(
                "nearest: k = {k} but only {candidates} candidate points"
            )));
        }
        if m == 0 || k == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        if d == 0 {
            // every distance is 0: the first k indices (skipping self)
            let mut idx = Vec::with_capacity(m * k);
            for i in 0..m {
                idx.extend(
                    (0..n)
                        .filter(|&j| !(exclude_self && j == i))
                        .take(k)
                        .map(|j| j as u32),
                );
            }
            return Ok((idx, vec![0.0; m * k]));
        }
        to_u32(n, "n")?;
        to_u32(m, "m")?;
        let norms = |x: &[f32]| -> Vec<f32> {
            x.chunks_exact(d)
                .map(|r| r.iter().map(|v| v * v).sum::<f32>())
                .collect()
        };
        let pn = norms(p);
        let qn = if exclude_self { pn.clone() } else { norms(q) };
        self.check_binding("the query matrix", q.len() as u64 * 4)?;
        self.check_binding("the point matrix", p.len() as u64 * 4)?;
        let mk = (m * k) as u64 * 4;
        self.check_binding("the neighbour lists", mk)?;
        self.check_binding("one row of distances", n as u64 * 4)?;
        let per = ((self.max_binding_bytes() / (n as u64 * 4)) as usize)
            .min(self.max_groups() as usize * TILE);
        let blocks = row_blocks(m, per);

        let scopes = self.begin()?;
        let qb = self.upload("the query matrix", q)?;
        let pb = if exclude_self {
            None
        } else {
            Some(self.upload("the point matrix", p)?)
        };
        let pb = pb.as_ref().unwrap_or(&qb);
        let qnb = self.upload("query norms", &qn)?;
        let pnb = self.upload("point norms", &pn)?;
        let scratch = self.storage(
            "a block of distances",
            (blocks[0].1 * n) as u64 * 4,
            wgpu::BufferUsages::empty(),
        )?;
        let out_idx = self.storage("the neighbour lists", mk, wgpu::BufferUsages::COPY_SRC)?;
        let out_dist = self.storage("the neighbour distances", mk, wgpu::BufferUsages::COPY_SRC)?;
        let mut enc = self.encoder();
        for &(r0, rows) in &blocks {
            let mm = Mm::rows_times_transpose(r0, rows, n, d);
            self.record_mm(&mut enc, mm, &qb, pb, &scratch)?;
            let (gx, gy) = self.grid(rows)?;
            let u = self.uniform(&[
                n as u32,
                k as u32,
                rows as u32,
                r0 as u32,
                exclude_self as u32,
                gx,
                0,
                0,
            ]);
            self.dispatch(
                &mut enc,
                &self.topk,
                &[&u, &scratch, &qnb, &pnb, &out_idx, &out_dist],
                (gx, gy),
            )?;
        }
        let si = self.staging(mk)?;
        let sd = self.staging(mk)?;
        enc.copy_buffer_to_buffer(&out_idx, 0, &si, 0, mk);
        enc.copy_buffer_to_buffer(&out_dist, 0, &sd, 0, mk);
        let scopes_then = scopes;
        // read both back: indices as u32, distances as f32 (same bytes, two casts)
        let mut parts = self.submit::<u32>(scopes_then, enc, vec![si, sd]).await?;
        let dist_bits = parts.pop().unwrap_or_default();
        let mut idx = parts.pop().unwrap_or_default();
        idx.truncate(m * k);
        let mut dist: Vec<f32> = dist_bits.into_iter().map(f32::from_bits).collect();
        dist.truncate(m * k);
        Ok((idx, dist))
    }

    /// Co-occurrence histogram of CSR chunks: H[i][j] = number of chunks where both i and j
    /// fire (n_features x n_features, u32, full symmetric), by the cheaper of the two kernels for
    /// this input ([`CooccurrenceMethod::choose`]). H is built in row blocks that fit one binding.
    pub async fn cooccurrence(
        &self,
        indptr: &[u32],
        indices: &[u32],
        n_features: usize,
    ) -> Result<Vec<u32>, GpuError> {
        self.cooccurrence_by(CooccurrenceMethod::Auto, indptr, indices, n_features).await
    }

    /// [`GpuContext::cooccurrence`] by the given method (`Auto`: the cheaper one).
    pub async fn cooccurrence_by(
        &self,
        method: CooccurrenceMethod,
        indptr: &[u32],
        indices: &[u32],
        n_features: usize,
    ) -> Result<Vec<u32>, GpuError> {
        self.check_lost()?;
        if indptr.is_empty() {
            return Err(invalid("cooccurrence: indptr must have chunks + 1 entries"));
        }
        let chunks = indptr.len() - 1;
        if indptr[0] != 0 || indptr[chunks] as usize != indices.len() {
            return Err(invalid(format!(
                "cooccurrence: indptr must start at 0 and end at indices.len() = {}",
                indices.len()
            )));
        }
        for c in 0..chunks {
            let (s, e) = (indptr[c] as usize, indptr[c + 1] as usize);
            if e < s {
                return Err(invalid("cooccurrence: indptr is not non-decreasing"));
            }
            let chunk = &indices[s..e];
            if chunk.windows(2).any(|w| w[1] < w[0]) {
                return Err(invalid(format!(
                    "cooccurrence: chunk {c} is not in ascending order"
                )));
            }
            if let Some(&last) = chunk.last() {
                if last as usize >= n_features {
                    return Err(invalid(format!(
                        "cooccurrence: feature {last} in chunk {c} is >= n_features = {n_features}"
                    )));
                }
            }
            if (e - s)
                .checked_mul(e - s)
                .and_then(|v| u32::try_from(v).ok())
                .is_none()
            {
                return Err(invalid(format!("cooccurrence: chunk {c} is too long")));
            }
        }
        let total = checked_len(n_features, n_features, "cooccurrence output")?;
        if n_features == 0 {
            return Ok(Vec::new());
        }
        if chunks == 0 || indices.is_empty() {
            return Ok(vec![0; total]);
        }
        match method.resolve(indptr, n_features) {
            CooccurrenceMethod::Bitsets => self.cooccurrence_by_bitsets(indptr, indices, n_features).await,
            _ => self.cooccurrence_by_pairs(indptr, indices, n_features).await,
        }
    }

    /// The histogram by pairs: one workgroup per chunk, one atomic increment per pair of its
    /// firings (cost: the sum over chunks of len^2). The chunks go in blocks whose offsets and
    /// features each fit one binding, H in row blocks. Input already checked.
    async fn cooccurrence_by_pairs(
        &self,
        indptr: &[u32],
        indices: &[u32],
        n_features: usize,
    ) -> Result<Vec<u32>, GpuError> {
        let chunks = indptr.len() - 1;
        let nf32 = to_u32(n_features, "n_features")?;
        let row_bytes = n_features as u64 * 4;
        self.check_binding("one row of the co-occurrence matrix", row_bytes)?;
        let per = (self.max_binding_bytes() / row_bytes) as usize;
        let blocks = row_blocks(n_features, per);

        // Chunk blocks [c0, c1): offsets (c1 - c0 + 1 words) and features each within a binding.
        let cap = (self.max_binding_bytes() / 4) as usize;
        let mut chunk_blocks = Vec::new();
        let mut c0 = 0;
        while c0 < chunks {
            let mut c1 = c0;
            while c1 < chunks
                && c1 + 1 - c0 < cap
                && (indptr[c1 + 1] - indptr[c0]) as usize <= cap
            {
                c1 += 1;
            }
            if c1 == c0 {
                return Err(GpuError::TooLarge {
                    what: format!("the features of chunk {c0}"),
                    needed: (indptr[c0 + 1] - indptr[c0]) as u64 * 4,
                    limit: self.max_binding_bytes(),
                });
            }
            chunk_blocks.push((c0, c1));
            c0 = c1;
        }

        let scopes = self.begin()?;
        let mut uploaded = Vec::with_capacity(chunk_blocks.len());
        for &(c0, c1) in &chunk_blocks {
            let base = indptr[c0];
            let offsets: Vec<u32> = indptr[c0..=c1].iter().map(|&p| p - base).collect();
            let features = &indices[base as usize..indptr[c1] as usize];
            let ip = self.upload("the chunk offsets", &offsets)?;
            // A binding may not be empty: a block of chunks without firings binds one word.
            let ix = self.upload("the chunk features", if features.is_empty() { &[0u32][..] } else { features })?;
            let (gx, gy) = self.grid(c1 - c0)?;
            uploaded.push((ip, ix, c1 - c0, gx, gy));
        }
        let hbytes = (blocks[0].1 * n_features) as u64 * 4;
        let h = self.storage(
            "a row block of the co-occurrence matrix",
            hbytes,
            wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        )?;
        let mut enc = self.encoder();
        let mut stagings = Vec::new();
        for &(r0, rows) in &blocks {
            let bytes = (rows * n_features) as u64 * 4;
            enc.clear_buffer(&h, 0, Some(bytes.div_ceil(4) * 4));
            for (ip, ix, n_chunks, gx, gy) in &uploaded {
                let u = self.uniform(&[nf32, *n_chunks as u32, r0 as u32, (r0 + rows) as u32, *gx, 0, 0, 0]);
                self.dispatch(&mut enc, &self.cooc, &[&u, ip, ix, &h], (*gx, *gy))?;
            }
            self.stage_block(&mut enc, &h, rows * n_features, &mut stagings)?;
        }
        self.join_row_blocks(scopes, enc, stagings, &blocks, n_features).await
    }

    /// The histogram by bitsets: each feature's chunks as a row of bits, H = popcounts of the
    /// ANDed rows, tiled like a matrix product (cost: n^2 / 2 x chunks / 32 word operations);
    /// the bitsets are split into word blocks that each fit one binding, H into row blocks.
    /// Input already checked.
    async fn cooccurrence_by_bitsets(
        &self,
        indptr: &[u32],
        indices: &[u32],
        n: usize,
    ) -> Result<Vec<u32>, GpuError> {
        let chunks = indptr.len() - 1;
        let words = chunks.div_ceil(32);
        let row_bytes = n as u64 * 4;
        self.check_binding("one row of the co-occurrence matrix", row_bytes)?;
        // One word of every feature per word-block column: at least one column must fit.
        self.check_binding("one word of every feature's chunk bitset", row_bytes)?;
        let per_words = ((self.max_binding_bytes() / row_bytes) as usize).min(words).max(1);
        let word_blocks = row_blocks(words, per_words);
        let blocks = row_blocks(n, (self.max_binding_bytes() / row_bytes) as usize);
        let nf32 = to_u32(n, "n_features")?;

        let scopes = self.begin()?;
        let mut bit_buffers = Vec::with_capacity(word_blocks.len());
        for &(w0, w) in &word_blocks {
            let mut bits = vec![0u32; n * w];
            // Only the chunks of this word block: bits 32 w0 .. 32 (w0 + w).
            for c in w0 * 32..((w0 + w) * 32).min(chunks) {
                let word = c / 32;
                let bit = 1u32 << (c % 32);
                for &f in &indices[indptr[c] as usize..indptr[c + 1] as usize] {
                    bits[f as usize * w + word - w0] |= bit;
                }
            }
            bit_buffers.push((self.upload("the chunk bitsets", &bits)?, w));
        }
        let hbytes = (blocks[0].1 * n) as u64 * 4;
        let h = self.storage(
            "a row block of the co-occurrence matrix",
            hbytes,
            wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        )?;
        let mut enc = self.encoder();
        let mut stagings = Vec::new();
        let gx = to_u32(ceil_div(n, TILE), "column tiles")?;
        for &(r0, rows) in &blocks {
            let gy = to_u32(ceil_div(rows, TILE), "row tiles")?;
            for (b, (bits, w)) in bit_buffers.iter().enumerate() {
                let u = self.uniform(&[nf32, to_u32(*w, "words")?, r0 as u32, rows as u32, (b > 0) as u32, 0, 0, 0]);
                self.dispatch(&mut enc, &self.cooc_bits, &[&u, bits, &h], (gx, gy))?;
            }
            self.stage_block(&mut enc, &h, rows * n, &mut stagings)?;
        }
        let mut out: Vec<u32> = self.join_row_blocks(scopes, enc, stagings, &blocks, n).await?;
        // The kernel skips tiles wholly below the diagonal; their counts are the upper's.
        for i in 1..n {
            for j in 0..i {
                out[i * n + j] = out[j * n + i];
            }
        }
        Ok(out)
    }

    /// Per-cluster sums of Euclidean distances, the silhouette's inner sums:
    /// `sums[i * k + c] = sum_{j in cluster c, j != i} |x_i - x_j|` for `x` (`n x d`, row-major)
    /// whose points are in cluster order, cluster `c` being rows `starts[c]..starts[c + 1]`
    /// (`k + 1` non-decreasing offsets from 0 to `n`). Distances from the coordinates' differences
    /// (no Gram trick), a block of rows at a time (the block's `rows x n` distances in one
    /// binding); sums in f32 (per-thread partial sums, then a tree).
    pub async fn cluster_distance_sums(
        &self,
        x: &[f32],
        n: usize,
        d: usize,
        starts: &[u32],
    ) -> Result<Vec<f32>, GpuError> {
        self.check_lost()?;
        expect_len(x.len(), n, d, "cluster_distance_sums points")?;
        let k = starts.len().saturating_sub(1);
        if k == 0 || starts[0] != 0 || starts[k] as usize != n || starts.windows(2).any(|w| w[1] < w[0]) {
            return Err(invalid(format!(
                "cluster_distance_sums: the cluster offsets must rise from 0 to n = {n} ({} given)",
                starts.len()
            )));
        }
        let total = checked_len(n, k, "cluster_distance_sums output")?;
        if n == 0 || d == 0 {
            return Ok(vec![0.0; total]);
        }
        let (n32, k32) = (to_u32(n, "n")?, to_u32(k, "clusters")?);
        self.check_binding("the points", (n * d) as u64 * 4)?;
        let row_bytes = n as u64 * 4;
        self.check_binding("one row of distances", row_bytes)?;
        // Rows per block: the block's distances in one binding, its workgroups in one grid row.
        let per = ((self.max_binding_bytes() / row_bytes) as usize).min(self.max_groups() as usize);
        let blocks = row_blocks(n, per);

        let scopes = self.begin()?;
        let xb = self.upload("the points", x)?;
        let sb = self.upload("the cluster offsets", starts)?;
        let dist = self.storage("a block of distances", (blocks[0].1 * n) as u64 * 4, wgpu::BufferUsages::empty())?;
        let sums = self.storage("a block of cluster sums", (blocks[0].1 * k) as u64 * 4, wgpu::BufferUsages::COPY_SRC)?;
        let mut enc = self.encoder();
        let mut stagings = Vec::new();
        for &(r0, rows) in &blocks {
            self.record_tiled(&self.sqdist, &mut enc, Mm::rows_times_transpose(r0, rows, n, d), &xb, &xb, &dist)?;
            let u = self.uniform(&[n32, k32, rows as u32, r0 as u32]);
            self.dispatch(&mut enc, &self.cluster_sums, &[&u, &dist, &sb, &sums], (k32, rows as u32))?;
            self.stage_block(&mut enc, &sums, rows * k, &mut stagings)?;
        }
        self.join_row_blocks(scopes, enc, stagings, &blocks, k).await
    }
}
