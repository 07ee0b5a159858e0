// Co-occurrence histogram from chunk bitsets: H[i][j] = popcount(bits_i AND bits_j) summed over
// the words of the two features' bitsets (bit c of feature f's row: f fired in chunk c). One row
// block [row0, row0 + rows) of H at a time, over one block of `w` words (the host sums word
// blocks with `accumulate`). The same tiling as matmul.wgsl: 16 x 16 threads, 64 x 64 output
// tile, each thread a 4 x 4 block (rows ty + 16 i, columns tx + 16 j), 16 words per step.
// Tiles wholly below the diagonal are skipped: the host mirrors the upper triangle.

struct Params {
    n: u32,          // features (rows of the bitset matrix, rows and columns of H)
    w: u32,          // words per feature in this word block
    row0: u32,       // first row of H in this block
    rows: u32,       // rows of H in this block
    accumulate: u32, // 1: add to the block's counts; 0: overwrite
    _pad0: u32, _pad1: u32, _pad2: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> bits: array<u32>;
@group(0) @binding(2) var<storage, read_write> H: array<u32>;

const TS: u32 = 64u;
const TK: u32 = 16u;
const LS: u32 = 65u; // padded row stride of the workgroup tiles (see matmul.wgsl)

var<workgroup> As: array<u32, 1040>; // [TK][LS]
var<workgroup> Bs: array<u32, 1040>;

fn store(lr: u32, gj: u32, v: u32) {
    if (lr < P.rows && gj < P.n) {
        let hi = lr * P.n + gj;
        if (P.accumulate == 1u) {
            H[hi] = H[hi] + v;
        } else {
            H[hi] = v;
        }
    }
}

fn store_row(lr: u32, col: u32, v: vec4<u32>) {
    store(lr, col, v.x);
    store(lr, col + 16u, v.y);
    store(lr, col + 32u, v.z);
    store(lr, col + 48u, v.w);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let lrow0 = wg.y * TS;          // first row of the tile within the block
    let grow0 = P.row0 + lrow0;     // ... and in H
    let col0 = wg.x * TS;
    if (col0 + TS <= grow0) {
        return; // every (i, j) of the tile has j < i
    }
    let tx = lid.x;
    let ty = lid.y;
    let t = ty * 16u + tx;
    var c0 = vec4<u32>(0u);
    var c1 = vec4<u32>(0u);
    var c2 = vec4<u32>(0u);
    var c3 = vec4<u32>(0u);
    let nk = (P.w + TK - 1u) / TK;
    for (var kt = 0u; kt < nk; kt++) {
        let k0 = kt * TK;
        for (var l = 0u; l < 4u; l++) {
            let idx = t + 256u * l;
            let r = idx / TK;
            let kk = idx % TK;
            let gk = k0 + kk;
            var a = 0u;
            if (lrow0 + r < P.rows && grow0 + r < P.n && gk < P.w) {
                a = bits[(grow0 + r) * P.w + gk];
            }
            As[kk * LS + r] = a;
            var b = 0u;
            if (col0 + r < P.n && gk < P.w) {
                b = bits[(col0 + r) * P.w + gk];
            }
            Bs[kk * LS + r] = b;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let ab = kk * LS + ty;
            let bb = kk * LS + tx;
            let b = vec4<u32>(Bs[bb], Bs[bb + 16u], Bs[bb + 32u], Bs[bb + 48u]);
            c0 += countOneBits(vec4<u32>(As[ab]) & b);
            c1 += countOneBits(vec4<u32>(As[ab + 16u]) & b);
            c2 += countOneBits(vec4<u32>(As[ab + 32u]) & b);
            c3 += countOneBits(vec4<u32>(As[ab + 48u]) & b);
        }
        workgroupBarrier();
    }
    let col = col0 + tx;
    store_row(lrow0 + ty, col, c0);
    store_row(lrow0 + ty + 16u, col, c1);
    store_row(lrow0 + ty + 32u, col, c2);
    store_row(lrow0 + ty + 48u, col, c3);
}
