// y = A x for a block of rows of A (f32, row-major, rows x cols) and x (f32): the products of
// the iterative eigensolvers (Lanczos), which read A once per product and so are bound by memory,
// not arithmetic. One workgroup per row: 256 threads stride over the columns (coalesced reads),
// each keeping its own partial sum, then a tree of the 256 partial sums.

struct Params {
    rows: u32,
    cols: u32,
    // first output row of this block in y
    y_row0: u32,
    // workgroups per grid row (the grid is 2D when rows exceed one dimension's limit)
    groups_x: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = wg.y * P.groups_x + wg.x;
    if (r >= P.rows) {
        return;
    }
    let base = r * P.cols;
    var s = 0.0;
    for (var j = lid.x; j < P.cols; j += 256u) {
        s = fma(A[base + j], x[j], s);
    }
    part[lid.x] = s;
    workgroupBarrier();
    for (var w = 128u; w > 0u; w = w >> 1u) {
        if (lid.x < w) {
            part[lid.x] += part[lid.x + w];
        }
        workgroupBarrier();
    }
    if (lid.x == 0u) {
        y[P.y_row0 + r] = part[0];
    }
}
