//! `sae-geometry convert`: Gemma Scope params.npz (stored and deflated), SAELens safetensors
//! (W_dec, and decoder.weight stored d x N in f16 and bf16) and the authors' co-occurrence .npz,
//! all written by numpy / safetensors (tests/golden/formats, tests/golden/convert), into the app's
//! bundles; and one 65,536 x 2,304 params.npz made on the fly (not committed) converted under a
//! memory cap that a non-streaming converter would exceed.

use std::path::{Path, PathBuf};
use std::process::Command;

use sae_geometry::formats::{self, safetensors, ArrayData};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sae-geometry-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sae-geometry")).args(args).current_dir(root()).output().unwrap()
}

fn f16_round(v: f32) -> f32 {
    half::f16::from_f32(v).to_f32()
}

#[test]
fn sae_decoders_convert_to_w_dec_bundles() {
    for (input, transposed) in [
        ("tests/golden/formats/params_stored.npz", false),
        ("tests/golden/formats/params_compressed.npz", false),
        ("tests/golden/formats/sae_f32.safetensors", false),
        ("tests/golden/formats/sae_f16.safetensors", true),
        ("tests/golden/formats/sae_bf16.safetensors", true),
    ] {
        let out = scratch(&format!("{}.safetensors", Path::new(input).file_stem().unwrap().to_string_lossy()));
        let manifest = scratch("manifest.json");
        let o = run(&["convert", "sae", input, "--out", out.to_str().unwrap(), "--layer", "12", "--model", "test-model",
            "--manifest", manifest.to_str().unwrap(), "--group", "tests"]);
        assert!(o.status.success(), "{input}: {}", String::from_utf8_lossy(&o.stderr));

        let original = formats::read_matrix(&std::fs::read(root().join(input)).unwrap(), input, None).unwrap();
        assert_eq!(original.transposed, transposed, "{input}");
        let bytes = std::fs::read(&out).unwrap();
        let converted = formats::read_matrix(&bytes, "out.safetensors", None).unwrap();
        assert_eq!(converted.tensor, "W_dec");
        assert!(!converted.transposed, "the bundle stores N x d");
        assert_eq!((converted.matrix.rows(), converted.matrix.cols()), (original.matrix.rows(), original.matrix.cols()));
        let expected: Vec<f32> = original.matrix.as_slice().iter().map(|&v| f16_round(v)).collect();
        assert_eq!(converted.matrix.as_slice(), &expected[..], "{input}: values are the f16 rounding of the input");
        let meta = safetensors::metadata(&bytes).unwrap();
        assert_eq!(meta["layer"], "12");
        assert_eq!(meta["model"], "test-model");
        assert_eq!(meta["transposed"], transposed.to_string());
        let m = formats::manifest::parse(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        let entry = m.datasets.iter().find(|e| out.ends_with(&e.file)).unwrap();
        assert_eq!((entry.layer, entry.group.as_deref(), entry.n), (Some(12), Some("tests"), original.matrix.rows()));
    }
}

#[test]
fn f32_output_is_exact() {
    let out = scratch("exact.safetensors");
    let o = run(&["convert", "sae", "tests/golden/formats/params_compressed.npz", "--out", out.to_str().unwrap(), "--dtype", "f32"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let original = formats::read_matrix(&std::fs::read(root().join("tests/golden/formats/params_compressed.npz")).unwrap(), "p.npz", None).unwrap();
    let converted = formats::read_matrix(&std::fs::read(&out).unwrap(), "o.safetensors", None).unwrap();
    assert_eq!(converted.matrix, original.matrix);
}

#[test]
fn the_authors_histogram_converts_to_its_upper_triangle() {
    let input = "tests/golden/convert/authors_histogram.npz";
    let out = scratch("histogram.safetensors");
    let o = run(&["convert", "histogram", input, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let source = std::fs::read(root().join(input)).unwrap();
    let h = formats::npz::read(&source, "histogram").unwrap();
    let n = h.shape[0];
    let h = h.to_f64_vec();
    let bytes = std::fs::read(&out).unwrap();
    let indptr = safetensors::read(&bytes, "indptr").unwrap().to_f64_vec();
    let indices = safetensors::read(&bytes, "indices").unwrap();
    assert!(matches!(indices.data, ArrayData::U16(_)), "30 features fit u16 indices");
    let (indices, counts) = (indices.to_f64_vec(), safetensors::read(&bytes, "counts").unwrap().to_f64_vec());
    assert_eq!(indptr.len(), n + 1);
    for i in 0..n {
        let (a, b) = (indptr[i] as usize, indptr[i + 1] as usize);
        let row: Vec<(usize, f64)> = (a..b).map(|p| (indices[p] as usize, counts[p])).collect();
        let expected: Vec<(usize, f64)> = (i..n).filter(|&j| h[i * n + j] > 0.0).map(|j| (j, h[i * n + j])).collect();
        assert_eq!(row, expected, "row {i}");
    }
    let meta = safetensors::metadata(&bytes).unwrap();
    assert_eq!(meta["n_chunks"], "200");
    assert_eq!(meta["n_features"], "30");
}

#[test]
fn broken_inputs_exit_with_2() {
    let out = scratch("never.safetensors");
    for (args, what) in [
        (vec!["convert", "histogram", "tests/golden/formats/params_stored.npz"], "no histogram in a params.npz"),
        (vec!["convert", "sae", "tests/fixtures/malformed/truncated.npy"], "truncated input"),
        (vec!["convert", "sae", "tests/fixtures/malformed/missing_w_dec.npz"], "no W_dec"),
        (vec!["convert", "sae", "tests/fixtures/malformed/nan.npy"], "NaN in the decoder"),
    ] {
        let mut args = args.clone();
        args.extend(["--out", out.to_str().unwrap()]);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: "), "{what}");
    }
}

/// A Gemma Scope 65k params.npz (W_dec 65,536 x 2,304 f32 = 604 MB, stored as numpy's savez does:
/// uncompressed, zip64) written on the fly, then converted under a 400 MB address-space cap: a
/// converter that read the whole file or held the f32 matrix would be killed.
#[test]
fn a_65k_gemma_scope_file_converts_in_bounded_memory() {
    use std::io::Write;
    let (n, d) = (65_536usize, 2_304usize);
    let input = scratch("params_65k.npz");
    {
        let file = std::fs::File::create(&input).unwrap();
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        zip.start_file("W_dec.npy", options).unwrap();
        let header = formats::npy::write_f32(&[n, d], &[]);
        // write_f32 with no data gives the header of an n x d array followed by nothing.
        zip.write_all(&header).unwrap();
        let mut row = vec![0u8; d * 4];
        for i in 0..n {
            for (j, chunk) in row.chunks_mut(4).enumerate() {
                let v = (((i * 31 + j * 17) % 1000) as f32 - 500.0) / 10_000.0;
                chunk.copy_from_slice(&v.to_le_bytes());
            }
            zip.write_all(&row).unwrap();
        }
        zip.start_file("b_dec.npy", options).unwrap();
        zip.write_all(&formats::npy::write_f32(&[d], &vec![0.0; d])).unwrap();
        zip.finish().unwrap();
    }
    let out = scratch("params_65k.safetensors");
    let exe = env!("CARGO_BIN_EXE_sae-geometry");
    let script = format!("ulimit -v 400000 && exec '{exe}' convert sae '{}' --out '{}'", input.display(), out.display());
    let o = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let len = std::fs::metadata(&out).unwrap().len();
    assert!(len > (n * d * 2) as u64 && len < (n * d * 2 + 4096) as u64, "f16 output of {len} bytes");
    // Spot-check one row without reading 300 MB into a Matrix twice.
    let bytes = std::fs::read(&out).unwrap();
    let list = safetensors::list(&bytes).unwrap();
    assert_eq!(list, vec![("W_dec".to_string(), formats::Dtype::F16, vec![n, d])]);
    let data_start = safetensors::header_end(&bytes).unwrap() as usize;
    let i = 40_000;
    for j in [0, 1, 2303] {
        let p = data_start + (i * d + j) * 2;
        let got = half::f16::from_le_bytes([bytes[p], bytes[p + 1]]).to_f32();
        let want = (((i * 31 + j * 17) % 1000) as f32 - 500.0) / 10_000.0;
        assert_eq!(got, f16_round(want));
    }
    std::fs::remove_file(&input).ok();
    std::fs::remove_file(&out).ok();
}
