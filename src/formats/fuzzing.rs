//! What each fuzz target does with one input: the one definition shared by the cargo-fuzz
//! targets (`fuzz/fuzz_targets/*.rs`, libFuzzer on nightly) and the stable replay and seeded
//! mutation test (`tests/fuzz_replay.rs`). See `docs/FUZZING.md`.
//!
//! Every function here feeds `data` to the parsers of its target and returns normally whatever
//! the bytes are: a parser that panics, loops or allocates beyond what the bytes can justify is a
//! bug. The results are thrown away, apart from a few cheap consistency checks (`assert!`s) on
//! what a parser accepted, which are bugs too when they fail.

#![doc(hidden)]

use super::{bundle, manifest, npy, npz, partial, read_matrix, safetensors, wordpairs};

/// The fuzz targets, by the name of their directory under `fuzz/corpus/`.
pub const TARGETS: &[&str] = &["npy", "npz", "safetensors", "cooccurrence", "wordpairs", "manifest", "matrix"];

/// At most this many members of an archive or tensors of a file are read per input (each read
/// parses the container again; the fuzzer's inputs are small, but their lists need not be).
const MAX_READS: usize = 16;

/// Runs `data` through the parsers of `target` (one of [`TARGETS`]).
///
/// # Panics
/// On an unknown target name, or where a parser misbehaves.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "npy" => npy_target(data),
        "npz" => npz_target(data),
        "safetensors" => safetensors_target(data),
        "cooccurrence" => cooccurrence_target(data),
        "wordpairs" => wordpairs_target(data),
        "manifest" => manifest_target(data),
        "matrix" => matrix_target(data),
        other => panic!("unknown fuzz target '{other}'; the targets are {TARGETS:?}"),
    }
}

/// `.npy`: the header alone, then the whole file in C order and in any order.
pub fn npy_target(data: &[u8]) {
    let _ = npy::header_size(data);
    let header = npy::read_header(data);
    for array in [npy::read(data), npy::read_any_order(data)].into_iter().flatten() {
        let n: usize = array.shape.iter().product();
        assert_eq!(array.len(), n, "npy: an accepted array's data disagrees with its shape");
        if let Ok(h) = &header {
            assert_eq!(h.shape, array.shape, "npy: read_header and read disagree on the shape");
        }
    }
}

/// `.npz`: the member list, every member's header, and each member read (plus a missing name,
/// whose error lists the members).
pub fn npz_target(data: &[u8]) {
    let _ = npz::entries(data);
    if let Ok(names) = npz::list(data) {
        for name in names.iter().take(MAX_READS) {
            if let Ok(array) = npz::read(data, name) {
                assert_eq!(array.len(), array.shape.iter().product::<usize>(), "npz member '{name}'");
            }
        }
        let _ = npz::read(data, "__no_such_member__");
    }
}

/// `.safetensors`: the header listings and metadata, every tensor, the declared data length, and
/// the range-request planner on prefixes of the file (with and without the file's length).
pub fn safetensors_target(data: &[u8]) {
    let _ = safetensors::header_end(data);
    let _ = safetensors::list(data);
    let _ = safetensors::metadata(data);
    let _ = safetensors::declared_data_len(data);
    if let Ok(entries) = safetensors::list_all(data) {
        for e in entries.iter().take(MAX_READS) {
            if let Ok(array) = safetensors::read(data, &e.name) {
                assert_eq!(array.shape, e.shape, "safetensors tensor '{}'", e.name);
                assert_eq!(array.len(), e.shape.iter().product::<usize>(), "safetensors tensor '{}'", e.name);
            }
        }
        let _ = safetensors::read(data, "__no_such_tensor__");
    }
    let len = data.len();
    let mut cuts = vec![len, len / 2, 8, 9, 64];
    if let Ok(end) = safetensors::header_end(data) {
        cuts.push(usize::try_from(end).unwrap_or(usize::MAX));
    }
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts.into_iter().filter(|&c| c <= len) {
        let prefix = &data[..cut];
        for file_len in [Some(len as u64), None] {
            for tensor in [None, Some("W_dec")] {
                if let Ok(partial::MatrixPlan::Tensor { range, header, .. }) =
                    partial::plan_matrix_read(prefix, file_len, "fuzz.safetensors", tensor)
                {
                    assert!(range.start <= range.end, "plan_matrix_read: a backwards range");
                    // The planned header followed by the planned bytes is a file of its own.
                    if let (Some(file_len), Ok(start), Ok(end)) =
                        (file_len, usize::try_from(range.start), usize::try_from(range.end))
                    {
                        if end <= data.len() && file_len == data.len() as u64 {
                            let mut one = header.clone();
                            one.extend_from_slice(&data[start..end]);
                            let _ = safetensors::list_all(&one);
                        }
                    }
                }
            }
        }
    }
}

/// Co-occurrence inputs: the authors' histogram `.npz`, the `convert histogram` bundle and the
/// firings bundle (both `.safetensors`), through the readers the lobe analysis uses.
pub fn cooccurrence_target(data: &[u8]) {
    for name in ["fuzz.npz", "fuzz.safetensors"] {
        if let Ok(input) = crate::analysis::lobes::read_cooccurrence_with(data, name, None, &mut |_| {}) {
            let n = input.histogram.n_features;
            assert_eq!(input.histogram.counts.len(), n * n, "co-occurrence: the histogram is not N x N");
        }
        let _ = crate::analysis::lobes::counted_firings(data, name);
    }
    let _ = bundle::Firings::from_safetensors(data);
}

/// Word-pair task JSON, from the bytes as (lossy) UTF-8.
pub fn wordpairs_target(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(pairs) = wordpairs::parse(&text, "fuzz.json") {
        assert!(!pairs.is_empty(), "wordpairs: an empty list was accepted");
    }
}

/// The app's `manifest.json`: parse (which validates), and a parsed manifest written back out
/// must parse to the same manifest.
pub fn manifest_target(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = serde_json::from_str::<manifest::Manifest>(&text) {
        let _ = manifest::validate(&m);
    }
    if let Ok(m) = manifest::parse(&text) {
        let again = manifest::parse(&manifest::to_json(&m));
        assert_eq!(again.as_ref(), Ok(&m), "manifest: to_json does not read back");
    }
}

/// The generic matrix loader the app calls on a dropped file, under each extension.
pub fn matrix_target(data: &[u8]) {
    for name in ["fuzz.npy", "fuzz.npz", "fuzz.safetensors"] {
        if let Ok(m) = read_matrix(data, name, None) {
            let (rows, cols) = (m.matrix.rows(), m.matrix.cols());
            assert!(rows > 0 && cols > 0, "read_matrix accepted an empty matrix");
        }
    }
}
