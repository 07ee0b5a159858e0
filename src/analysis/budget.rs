//! The memory an analysis needs, estimated from its input's shape before anything is allocated,
//! and the budget of a browser tab: what fits, and what would fit when something does not.
//!
//! A wasm32 tab addresses at most 4 GiB of linear memory. The estimates count the large buffers
//! each analysis holds at its peak; they are calibrated against the peaks measured in
//! docs/BENCHMARKS.md (galaxy-65k: 1.41 GB renderer for an estimate of 1.33 GB with the tensor's
//! bytes held; lobes of 16,384 features: 2.98 GB native peak for an estimate of 3.29 GB).

use serde::{Deserialize, Serialize};

const MIB: u64 = 1 << 20;

/// Memory an analysis may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryBudget {
    pub bytes: u64,
}

impl MemoryBudget {
    /// wasm32's 4 GiB less 256 MiB for the code, the stack, the allocator's slack and the page.
    pub const WASM32: MemoryBudget = MemoryBudget { bytes: 4096 * MIB - 256 * MIB };

    /// The budget of a tab on a device with `device_memory_gib` of RAM (`navigator.deviceMemory`,
    /// which browsers round and cap at 8): half of it, at most [`Self::WASM32`]; `override_mib`
    /// (the `budget=` link parameter) replaces it, still at most [`Self::WASM32`].
    pub fn for_tab(device_memory_gib: Option<f64>, override_mib: Option<u64>) -> MemoryBudget {
        let bytes = match (override_mib, device_memory_gib) {
            (Some(m), _) => m.saturating_mul(MIB),
            (None, Some(g)) if g.is_finite() && g > 0.0 => (g * 1024.0 / 2.0) as u64 * MIB,
            _ => Self::WASM32.bytes,
        };
        MemoryBudget { bytes: bytes.clamp(64 * MIB, Self::WASM32.bytes) }
    }

    /// The budget a request carries, in bytes (`None`: [`Self::WASM32`]).
    pub fn of_request(bytes: Option<u64>) -> MemoryBudget {
        bytes.map_or(Self::WASM32, |bytes| MemoryBudget { bytes })
    }

    /// The budget in MB (10^6 bytes), for messages.
    pub fn megabytes(&self) -> f64 {
        self.bytes as f64 / 1e6
    }
}

/// Fixed working memory of any analysis: the page's share of the heap, progress buffers, ...
const BASE: u64 = 32 * MIB;

/// Peak bytes of a galaxy analysis of `n` points in `d` dimensions (the spectrum, the isotropic
/// reference and the clustering entropy): the f32 matrix (`4 n d`), `held` bytes of the file
/// kept while it is parsed (0 when it is streamed), and `d x d` f64 workspaces (covariances of
/// the data and of the reference, eigenvectors, blocks: `24 d^2`).
pub fn galaxy_bytes(n: usize, d: usize, held: u64) -> u64 {
    let (n, d) = (n as u64, d as u64);
    BASE.saturating_add(held)
        .saturating_add((4 * n).saturating_mul(d))
        .saturating_add((24 * d).saturating_mul(d))
}

/// The most points of dimension `d` whose galaxy analysis fits `budget` when the matrix is
/// streamed (nothing of the file held); 0 when not even one fits.
pub fn galaxy_rows_within(budget: MemoryBudget, d: usize) -> usize {
    let fixed = galaxy_bytes(0, d, 0);
    if budget.bytes <= fixed {
        return 0;
    }
    ((budget.bytes - fixed) / (4 * d.max(1) as u64)) as usize
}

/// Peak bytes of a lobes analysis of `n` features: the `N x N` u32 co-occurrence histogram and
/// its f64 affinity (`12 N^2`) with the spectral embedding's `N x k` blocks.
pub fn lobes_bytes(n: usize) -> u64 {
    let n = n as u64;
    BASE.saturating_add((12 * n).saturating_mul(n)).saturating_add(64 * n)
}

/// The most features whose lobes analysis fits `budget`.
pub fn lobes_features_within(budget: MemoryBudget) -> usize {
    let mut n = ((budget.bytes.saturating_sub(BASE)) as f64 / 12.0).sqrt() as usize;
    while n > 0 && lobes_bytes(n) > budget.bytes {
        n -= 1;
    }
    n
}

/// Peak bytes of a t-SNE layout of `n` points in `d` dimensions
/// ([`crate::geometry::tsne::tsne`]): the f32 matrix and its f64 copy (`12 n d`, both held while
/// the copy is made) and, per point, its 91 nearest neighbours (perplexity 30: `3 * 30 + 1`) with
/// their distances, conditional and joint probabilities and the sparse symmetric `P` (about
/// 8 KiB a point).
pub fn tsne_bytes(n: usize, d: usize) -> u64 {
    let (n, d) = (n as u64, d as u64);
    BASE.saturating_add((12 * n).saturating_mul(d)).saturating_add(8192 * n)
}

/// The most points of dimension `d` whose t-SNE layout fits `budget`.
pub fn tsne_rows_within(budget: MemoryBudget, d: usize) -> usize {
    (budget.bytes.saturating_sub(BASE) / (12 * d.max(1) as u64 + 8192)) as usize
}

/// Peak bytes of a crystal search among `m` of the `n` rows (dimension `d`) of a decoder
/// ([`crate::geometry::crystal_search::crystal_search`]): the f32 decoder (`4 n d`), the `m x m`
/// f64 Gram matrix and, per pair of the `m (m - 1) / 2`, its k-means distance, labels and (when
/// normalised) inverse length: `33 m^2` bytes in all (measured: 552 MB natively for m = 4096,
/// normalised).
pub fn crystal_search_bytes(n: usize, d: usize, m: usize) -> u64 {
    let (n, d, m) = (n as u64, d as u64, m as u64);
    BASE.saturating_add((4 * n).saturating_mul(d)).saturating_add((33 * m).saturating_mul(m))
}

/// The most features of an `n x d` decoder that a crystal search within `budget` can take.
pub fn crystal_search_features_within(budget: MemoryBudget, n: usize, d: usize) -> usize {
    let fixed = crystal_search_bytes(n, d, 0);
    if budget.bytes <= fixed {
        return 0;
    }
    let mut m = (((budget.bytes - fixed) as f64 / 33.0).sqrt() as usize).min(n);
    while m > 0 && crystal_search_bytes(n, d, m) > budget.bytes {
        m -= 1;
    }
    m
}

/// Megabytes, rounded for messages: "604 MB", "1.2 GB".
pub fn show_bytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb >= 1000.0 {
        format!("{:.1} GB", mb / 1000.0)
    } else {
        format!("{mb:.0} MB")
    }
}

/// Why a galaxy input does not fit `budget`, and what would: `None` when it fits.
pub fn galaxy_refusal(n: usize, d: usize, budget: MemoryBudget) -> Option<String> {
    let need = galaxy_bytes(n, d, 0);
    if need <= budget.bytes {
        return None;
    }
    let rows = galaxy_rows_within(budget, d);
    Some(format!(
        "{n} x {d} needs about {} for the galaxy analysis and this tab's memory budget is {}: \
         a random sample of up to {rows} of the {n} features fits (set 'sample' to at most {rows}), \
         or run the CLI (`sae-geometry analyze galaxy`), which has no such limit",
        show_bytes(need),
        show_bytes(budget.bytes),
    ))
}

/// Why a lobes input of `n` features does not fit `budget`, and what would: `None` when it fits.
pub fn lobes_refusal(n: usize, budget: MemoryBudget) -> Option<String> {
    let need = lobes_bytes(n);
    if need <= budget.bytes {
        return None;
    }
    let fits = lobes_features_within(budget);
    Some(format!(
        "{n} features need about {} for the N x N co-occurrence and affinity matrices, and this \
         tab's memory budget is {}: at most {fits} features fit; keep at most {fits} features \
         (an SAE with fewer features, or a subset of its decoder and firings), or run the CLI \
         (`sae-geometry analyze lobes`)",
        show_bytes(need),
        show_bytes(budget.bytes),
    ))
}

/// Why a t-SNE layout of an `n x d` matrix does not fit `budget`, and what would: `None` when it
/// fits.
pub fn tsne_refusal(n: usize, d: usize, budget: MemoryBudget) -> Option<String> {
    let need = tsne_bytes(n, d);
    if need <= budget.bytes {
        return None;
    }
    let rows = tsne_rows_within(budget, d);
    Some(format!(
        "a t-SNE layout of {n} x {d} needs about {} and this tab's memory budget is {}: at most {rows} \
         features of {d} dimensions fit; the PCA layout of the lobe map needs no more than the lobes",
        show_bytes(need),
        show_bytes(budget.bytes),
    ))
}

/// Why a crystal search among `m` features of an `n x d` decoder does not fit `budget`, and what
/// would: `None` when it fits.
pub fn crystal_search_refusal(n: usize, d: usize, m: usize, budget: MemoryBudget) -> Option<String> {
    let need = crystal_search_bytes(n, d, m);
    if need <= budget.bytes {
        return None;
    }
    let fits = crystal_search_features_within(budget, n, d);
    Some(format!(
        "a crystal search among {m} features ({} pairs) needs about {} and this tab's memory budget \
         is {}: at most {fits} features fit (set N to at most {fits}), or run the CLI \
         (`sae-geometry analyze crystal-search`)",
        m * m.saturating_sub(1) / 2,
        show_bytes(need),
        show_bytes(budget.bytes),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimates_cover_the_measured_peaks() {
        // docs/BENCHMARKS.md: galaxy-65k (tensor bytes held while parsed) peaked at 1,411 MB in
        // the renderer, 1,383 MB natively; galaxy-16k at 504 MB; lobes of 16,384 features at
        // 2,979 MB natively. Each estimate is within 20% of the peak.
        let g65 = galaxy_bytes(65_536, 2_304, 65_536 * 2_304 * 4) as f64 / 1e6;
        assert!((1_383.0 * 0.8..1_411.0 * 1.2).contains(&g65), "{g65}");
        let g16 = galaxy_bytes(16_384, 2_304, 16_384 * 2_304 * 4) as f64 / 1e6;
        assert!((504.0 * 0.8..504.0 * 1.2).contains(&g16), "{g16}");
        let l16 = lobes_bytes(16_384) as f64 / 1e6;
        assert!((2_979.0 * 0.9..2_979.0 * 1.2).contains(&l16), "{l16}");
    }

    #[test]
    fn the_paper_sizes_fit_a_tab_and_a_million_features_do_not() {
        let tab = MemoryBudget::WASM32;
        assert!(galaxy_refusal(65_536, 2_304, tab).is_none());
        assert!(lobes_refusal(16_384, tab).is_none());
        let m = galaxy_refusal(1 << 20, 2_304, tab).unwrap();
        let rows = galaxy_rows_within(tab, 2_304);
        assert!(rows > 400_000 && rows < 1 << 20, "{rows}");
        assert!(m.contains(&format!("up to {rows} of the 1048576")), "{m}");
        assert!(galaxy_bytes(rows, 2_304, 0) <= tab.bytes && galaxy_bytes(rows + 1, 2_304, 0) > tab.bytes);
        let fits = lobes_features_within(tab);
        assert!(lobes_bytes(fits) <= tab.bytes && lobes_bytes(fits + 1) > tab.bytes);
        assert!(lobes_refusal(65_536, tab).unwrap().contains(&format!("at most {fits} features")));
    }

    #[test]
    fn tsne_and_crystal_search_estimates_and_refusals() {
        // Measured natively (this machine, `/usr/bin/time -v`): a crystal search among 4,096
        // features of the 4,096 x 384 bundled decoder peaked at 552 MB normalised, 483 MB raw;
        // 2,048 features at 152 MB. The estimates are at most 20% above.
        for (m, peak) in [(4096, 552.0), (2048, 152.0)] {
            let e = crystal_search_bytes(4096, 384, m) as f64 / 1e6;
            assert!((peak..peak * 1.2).contains(&e), "m = {m}: {e} MB for a peak of {peak} MB");
        }
        let small = MemoryBudget { bytes: 64 * MIB };
        let fits = crystal_search_features_within(small, 4096, 384);
        assert!(crystal_search_bytes(4096, 384, fits) <= small.bytes && crystal_search_bytes(4096, 384, fits + 1) > small.bytes);
        let why = crystal_search_refusal(4096, 384, 4096, small).unwrap();
        assert!(why.contains(&format!("at most {fits} features fit")) && why.contains("8386560 pairs"), "{why}");
        assert!(crystal_search_refusal(4096, 384, fits, small).is_none());
        assert_eq!(crystal_search_features_within(MemoryBudget { bytes: 1 }, 10, 10), 0);
        // The paper's largest search (8,192 features, the crystal search's cap) fits a tab.
        assert!(crystal_search_refusal(16_384, 2_304, 8_192, MemoryBudget::WASM32).is_none());

        let rows = tsne_rows_within(small, 384);
        assert!(tsne_bytes(rows, 384) <= small.bytes && tsne_bytes(rows + 1, 384) > small.bytes);
        let why = tsne_refusal(4096, 384, small).unwrap();
        assert!(why.contains(&format!("at most {rows} features of 384 dimensions fit")), "{why}");
        assert!(tsne_refusal(16_384, 2_304, MemoryBudget::WASM32).is_none());
        assert!(tsne_refusal(rows, 384, small).is_none());
    }

    #[test]
    fn a_tab_budget_follows_the_device_and_the_link() {
        assert_eq!(MemoryBudget::for_tab(None, None), MemoryBudget::WASM32);
        assert_eq!(MemoryBudget::for_tab(Some(8.0), None), MemoryBudget::WASM32);
        assert_eq!(MemoryBudget::for_tab(Some(2.0), None).bytes, 1024 * MIB);
        assert_eq!(MemoryBudget::for_tab(Some(8.0), Some(100)).bytes, 100 * MIB);
        assert_eq!(MemoryBudget::for_tab(None, Some(1)).bytes, 64 * MIB, "at least 64 MiB");
        assert_eq!(MemoryBudget::for_tab(None, Some(1 << 40)), MemoryBudget::WASM32);
        assert_eq!(MemoryBudget::for_tab(Some(f64::NAN), None), MemoryBudget::WASM32);
        assert_eq!(galaxy_rows_within(MemoryBudget { bytes: 1 }, 10), 0);
    }
}
