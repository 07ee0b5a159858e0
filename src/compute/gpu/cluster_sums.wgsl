// Per-cluster sums of distances for a block of rows: S[r][c] = sum over j in cluster c
// (j in starts[c]..starts[c + 1]) of sqrt(D[r][j]), j != row0 + r, where D holds the block's
// squared distances (rows x n, from the squared-distance variant of matmul.wgsl). One workgroup
// per (cluster, row): 64 threads stride over the cluster's columns, then a tree sum.

struct Params {
    n: u32,
    k: u32,
    rows: u32,
    row0: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> D: array<f32>;
@group(0) @binding(2) var<storage, read> starts: array<u32>;
@group(0) @binding(3) var<storage, read_write> S: array<f32>;

var<workgroup> part: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let c = wg.x;
    let r = wg.y;
    if (c >= P.k || r >= P.rows) {
        return;
    }
    let own = P.row0 + r;
    var s = 0.0;
    for (var j = starts[c] + lid.x; j < starts[c + 1u]; j += 64u) {
        if (j != own) {
            s += sqrt(max(D[r * P.n + j], 0.0));
        }
    }
    part[lid.x] = s;
    workgroupBarrier();
    for (var w = 32u; w > 0u; w = w >> 1u) {
        if (lid.x < w) {
            part[lid.x] += part[lid.x + w];
        }
        workgroupBarrier();
    }
    if (lid.x == 0u) {
        S[r * P.k + c] = part[0];
    }
}
