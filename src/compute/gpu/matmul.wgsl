// Tiled f32 matrix product: C (M x N) (+)= op(A) (M x K) * op(B) (K x N).
// op(A): trans_a == 0 -> A[i * lda + k + a_off]; trans_a == 1 -> A[k * lda + i + a_off].
// op(B): trans_b == 0 -> B[k * ldb + j + b_off]; trans_b == 1 -> B[j * ldb + k + b_off].
// Workgroup 16 x 16 threads, 64 x 64 output tile, each thread a 4 x 4 block (strided by 16),
// K loop over workgroup-memory tiles of 16.
// The accumulation step `acc(a, b, c)` is prepended by the host (gpu/mod.rs): `fma(a, b, c)` for
// the product, or `c + (a - b)^2` for squared Euclidean distances (op(B) = B^T: D[i][j] =
// sum_k (A[i][k] - B[j][k])^2, exact up to f32 rounding of each difference, no Gram trick).
// sym_skip == 1: the product is symmetric; only tiles with global row tile <= column tile
// are computed (row tile index = (c_row_base + wg.y * 64) / 64, c_row_base a multiple of 64).

struct Params {
    m: u32, n: u32, k: u32,
    lda: u32, ldb: u32, ldc: u32,
    a_off: u32, b_off: u32, c_off: u32,
    trans_a: u32, trans_b: u32, accumulate: u32,
    sym_skip: u32, c_row_base: u32, _pad0: u32, _pad1: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

const TS: u32 = 64u;
const TK: u32 = 16u;
// Row stride of the workgroup tiles: 65, not 64, so that the 16 threads storing one column of a
// tile (consecutive kk) hit 16 different banks.
const LS: u32 = 65u;

var<workgroup> As: array<f32, 1040>; // [TK][LS]: As[kk * LS + r]
var<workgroup> Bs: array<f32, 1040>; // [TK][LS]: Bs[kk * LS + c]

fn store(gi: u32, gj: u32, v: f32) {
    if (gi < P.m && gj < P.n) {
        let ci = P.c_off + gi * P.ldc + gj;
        if (P.accumulate == 1u) {
            C[ci] = C[ci] + v;
        } else {
            C[ci] = v;
        }
    }
}

fn store_row(gi: u32, col: u32, v: vec4<f32>) {
    store(gi, col, v.x);
    store(gi, col + 16u, v.y);
    store(gi, col + 32u, v.z);
    store(gi, col + 48u, v.w);
}

// 16 x 16 threads, each a 4 x 4 block of the 64 x 64 tile (rows ty + 16 i, columns tx + 16 j).
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wg.y * TS;
    let col0 = wg.x * TS;
    if (P.sym_skip == 1u && (P.c_row_base + row0) / TS > col0 / TS) {
        return;
    }
    let tx = lid.x;
    let ty = lid.y;
    let t = ty * 16u + tx;
    // One vec4 per output row, no arrays (a dynamically indexed private array would live in slow
    // local memory).
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    let nk = (P.k + TK - 1u) / TK;
    for (var kt = 0u; kt < nk; kt++) {
        let k0 = kt * TK;
        for (var l = 0u; l < 4u; l++) {
            let idx = t + 256u * l;
            var r: u32;
            var kk: u32;
            if (P.trans_a == 0u) {
                r = idx / TK;
                kk = idx % TK;
            } else {
                r = idx % TS;
                kk = idx / TS;
            }
            let gi = row0 + r;
            let gk = k0 + kk;
            var v = 0.0;
            if (gi < P.m && gk < P.k) {
                if (P.trans_a == 0u) {
                    v = A[P.a_off + gi * P.lda + gk];
                } else {
                    v = A[P.a_off + gk * P.lda + gi];
                }
            }
            As[kk * LS + r] = v;
        }
        for (var l = 0u; l < 4u; l++) {
            let idx = t + 256u * l;
            var c: u32;
            var kk: u32;
            if (P.trans_b == 0u) {
                c = idx % TS;
                kk = idx / TS;
            } else {
                c = idx / TK;
                kk = idx % TK;
            }
            let gj = col0 + c;
            let gk = k0 + kk;
            var v = 0.0;
            if (gj < P.n && gk < P.k) {
                if (P.trans_b == 0u) {
                    v = B[P.b_off + gk * P.ldb + gj];
                } else {
                    v = B[P.b_off + gj * P.ldb + gk];
                }
            }
            Bs[kk * LS + c] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let ab = kk * LS + ty;
            let bb = kk * LS + tx;
            let a = vec4<f32>(As[ab], As[ab + 16u], As[ab + 32u], As[ab + 48u]);
            let b = vec4<f32>(Bs[bb], Bs[bb + 16u], Bs[bb + 32u], Bs[bb + 48u]);
            c0 = acc(a.x, b, c0);
            c1 = acc(a.y, b, c1);
            c2 = acc(a.z, b, c2);
            c3 = acc(a.w, b, c3);
        }
        workgroupBarrier();
    }
    let col = col0 + tx;
    store_row(row0 + ty, col, c0);
    store_row(row0 + ty + 16u, col, c1);
    store_row(row0 + ty + 32u, col, c2);
    store_row(row0 + ty + 48u, col, c3);
}
