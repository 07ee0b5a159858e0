// Top-k selection over one block of query rows.
// dots: rows x n dot products q.p (from matmul.wgsl); qn / pn: squared norms.
// Distance = max(|q|^2 + |p|^2 - 2 q.p, 0). One workgroup per query row; each thread keeps a
// private sorted top-k over columns j = lid, lid + WG, ...; then k rounds of a workgroup
// arg-min over the heads of the per-thread lists. Order: (distance, index) ascending.

struct Params {
    n: u32,          // number of candidate points (columns of dots)
    k: u32,          // neighbours per query (<= 64)
    rows: u32,       // query rows in this block
    q_row0: u32,     // global index of the first query row of the block
    exclude_self: u32,
    groups_x: u32,   // workgroups per row of the 2D dispatch
    _pad0: u32, _pad1: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> dots: array<f32>;
@group(0) @binding(2) var<storage, read> qn: array<f32>;
@group(0) @binding(3) var<storage, read> pn: array<f32>;
@group(0) @binding(4) var<storage, read_write> out_idx: array<u32>;
@group(0) @binding(5) var<storage, read_write> out_dist: array<f32>;

const WG: u32 = 64u;
const KMAX: u32 = 64u;
const INF: f32 = 0x1.fffffep+127f; // the largest finite f32 (a decimal literal rounds above it in Tint)
const NONE: u32 = 0xffffffffu;

var<workgroup> red_d: array<f32, WG>;
var<workgroup> red_i: array<u32, WG>;
var<workgroup> red_t: array<u32, WG>;

fn less(d1: f32, i1: u32, d2: f32, i2: u32) -> bool {
    return d1 < d2 || (d1 == d2 && i1 < i2);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = wg.y * P.groups_x + wg.x;
    // r is uniform across the workgroup, so this early return keeps barriers uniform.
    if (r >= P.rows) {
        return;
    }
    let tid = lid.x;
    let k = P.k;
    let gq = P.q_row0 + r;
    let qnorm = qn[gq];

    var ld: array<f32, KMAX>;
    var li: array<u32, KMAX>;
    var cnt = 0u;
    for (var j = tid; j < P.n; j += WG) {
        if (P.exclude_self == 1u && j == gq) {
            continue;
        }
        let d = max(qnorm + pn[j] - 2.0 * dots[r * P.n + j], 0.0);
        if (cnt == k) {
            if (!less(d, j, ld[k - 1u], li[k - 1u])) {
                continue;
            }
        } else {
            cnt += 1u;
        }
        // insertion: shift larger entries right
        var pos = cnt - 1u;
        loop {
            if (pos == 0u) { break; }
            let pd = ld[pos - 1u];
            let pi = li[pos - 1u];
            if (!less(d, j, pd, pi)) { break; }
            ld[pos] = pd;
            li[pos] = pi;
            pos -= 1u;
        }
        ld[pos] = d;
        li[pos] = j;
    }

    var head = 0u;
    for (var round = 0u; round < k; round++) {
        var hd = INF;
        var hi = NONE;
        if (head < cnt) {
            hd = ld[head];
            hi = li[head];
        }
        red_d[tid] = hd;
        red_i[tid] = hi;
        red_t[tid] = tid;
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s >>= 1u) {
            if (tid < s) {
                let od = red_d[tid + s];
                let oi = red_i[tid + s];
                if (less(od, oi, red_d[tid], red_i[tid])) {
                    red_d[tid] = od;
                    red_i[tid] = oi;
                    red_t[tid] = red_t[tid + s];
                }
            }
            workgroupBarrier();
        }
        let winner = red_t[0];
        if (tid == 0u) {
            out_idx[gq * k + round] = red_i[0];
            out_dist[gq * k + round] = red_d[0];
        }
        if (tid == winner) {
            head += 1u;
        }
        workgroupBarrier();
    }
}
