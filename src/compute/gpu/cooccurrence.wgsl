// Co-occurrence histogram, one tile of rows [row0, row1) of H (n_features x n_features, u32).
// One workgroup per chunk (2D dispatch: chunk = wg.y * groups_x + wg.x). Feature ids in a chunk
// are ascending, so the entries a with row0 <= indices[a] < row1 form one contiguous range,
// found by binary search; the threads stride over the pairs (a, b) of that range x the chunk.

struct Params {
    n_features: u32,
    n_chunks: u32,
    row0: u32,
    row1: u32,
    groups_x: u32,
    _pad0: u32, _pad1: u32, _pad2: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> indptr: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> H: array<atomic<u32>>;

const WG: u32 = 64u;

// first position p in [lo, hi) with indices[p] >= v (hi if none)
fn lower_bound(lo0: u32, hi0: u32, v: u32) -> u32 {
    var lo = lo0;
    var hi = hi0;
    while (lo < hi) {
        let mid = lo + (hi - lo) / 2u;
        if (indices[mid] < v) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let c = wg.y * P.groups_x + wg.x;
    if (c >= P.n_chunks) {
        return;
    }
    let s = indptr[c];
    let e = indptr[c + 1u];
    if (e <= s) {
        return;
    }
    let len = e - s;
    let a_lo = lower_bound(s, e, P.row0);
    let a_hi = lower_bound(a_lo, e, P.row1);
    let pairs = (a_hi - a_lo) * len;
    for (var p = lid.x; p < pairs; p += WG) {
        let a = a_lo + p / len;
        let b = s + p % len;
        let i = indices[a];
        let j = indices[b];
        atomicAdd(&H[(i - P.row0) * P.n_features + j], 1u);
    }
}
