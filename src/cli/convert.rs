//! `convert`: users' files (Gemma Scope `params.npz`, SAELens safetensors, the authors'
//! co-occurrence `.npz`) into the app's bundles, streaming so that a 1.2 GB 65k-feature file
//! converts in bounded memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use half::f16;

use super::args::{ConvertHistogramArgs, ConvertSaeArgs, OutputDtype};
use super::{file_name, CliError};
use crate::formats::manifest::{self, DatasetEntry};
use crate::formats::stream::{list_arrays, stream_rows};
use crate::formats::{npy, safetensors, Dtype, FormatError, TORCH_DECODER};

/// Rows read per block: a 2304-wide f32 block of 4096 rows is 36 MB.
const BLOCK_ROWS: usize = 4096;

fn format_error(path: &Path) -> impl Fn(FormatError) -> CliError + '_ {
    move |source| CliError::Format { path: path.display().to_string(), source }
}

fn write_error(path: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |source| CliError::Write { path: path.display().to_string(), source }
}

/// Where decoder rows go as they arrive: straight to the file (rows stored N x d) or into a
/// buffer to be transposed first (`decoder.weight`, stored d x N).
enum Sink {
    Direct(BufWriter<File>),
    Transposed(Vec<u16>),
}

/// `convert sae`: one SAE's decoder as the app's bundle (`W_dec`, N x d, f16 or f32, rows as
/// stored), with provenance and row-norm statistics in the metadata. Memory: one block of rows,
/// or the f16 output when the input must be transposed.
pub fn sae(args: &ConvertSaeArgs) -> Result<(), CliError> {
    let input = &args.input;
    let fail = format_error(input);
    let source_bytes = std::fs::metadata(input).map_err(|source| CliError::Read { path: input.display().to_string(), source })?.len();
    let out_dtype = match args.dtype {
        OutputDtype::F16 => Dtype::F16,
        OutputDtype::F32 => Dtype::F32,
    };
    let mut sink: Option<Sink> = None;
    let mut shape = (0usize, 0usize); // (n, d) of the output
    let mut norms: Vec<f64> = Vec::new(); // squared row norms of the output rows
    let out_path = &args.out;
    let partial = out_path.with_extension("partial");

    let array = stream_rows(input, args.tensor.as_deref(), BLOCK_ROWS, &mut |a, first_row, values| {
        let transposed = a.name == TORCH_DECODER;
        if sink.is_none() {
            shape = if transposed { (a.cols, a.rows) } else { (a.rows, a.cols) };
            norms = vec![0.0; shape.0];
            sink = Some(if transposed {
                Sink::Transposed(vec![0u16; a.rows * a.cols])
            } else {
                let f = File::create(&partial).map_err(|e| FormatError::Io { path: partial.display().to_string(), message: e.to_string() })?;
                Sink::Direct(BufWriter::with_capacity(1 << 20, f))
            });
        }
        if let Some(p) = values.iter().position(|v| !v.is_finite()) {
            let (r, c) = (first_row + p / a.cols, p % a.cols);
            return Err(FormatError::BadHeader {
                format: "decoder",
                reason: format!("'{}' has a non-finite value (NaN or infinity) at row {r}, column {c}; the SAE file is damaged", a.name),
            });
        }
        let io = |e: std::io::Error| FormatError::Io { path: partial.display().to_string(), message: e.to_string() };
        match sink.as_mut() {
            Some(Sink::Direct(w)) => {
                // The header (with the row-norm statistics) is written in front at the end.
                for (i, row) in values.chunks(a.cols).enumerate() {
                    norms[first_row + i] = row.iter().map(|&v| v as f64 * v as f64).sum();
                }
                write_values(w, values, out_dtype).map_err(io)?;
            }
            Some(Sink::Transposed(buf)) => {
                // Stored row r is dimension r of every feature: output (feature j, dimension r).
                let n = a.cols;
                for (i, row) in values.chunks(n).enumerate() {
                    let r = first_row + i;
                    for (j, &v) in row.iter().enumerate() {
                        buf[j * a.rows + r] = f16::from_f32(v).to_bits();
                        norms[j] += v as f64 * v as f64;
                    }
                }
            }
            None => {}
        }
        Ok(())
    })
    .map_err(&fail)?;

    let (n, d) = shape;
    let transposed = array.name == TORCH_DECODER;
    let (min_norm, max_norm) = norms.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &s| (lo.min(s.sqrt()), hi.max(s.sqrt())));
    let mut metadata = BTreeMap::new();
    metadata.insert("kind".to_string(), "sae".to_string());
    metadata.insert("source_file".to_string(), file_name(input));
    metadata.insert("source_bytes".to_string(), source_bytes.to_string());
    metadata.insert("source_tensor".to_string(), array.name.clone());
    metadata.insert("source_dtype".to_string(), array.dtype.to_string());
    metadata.insert("transposed".to_string(), transposed.to_string());
    metadata.insert("row_norm_min".to_string(), format!("{min_norm:.6}"));
    metadata.insert("row_norm_max".to_string(), format!("{max_norm:.6}"));
    metadata.insert("produced_by".to_string(), format!("sae-geometry {} convert sae", env!("CARGO_PKG_VERSION")));
    if out_dtype == Dtype::F16 && transposed {
        metadata.insert("conversion".to_string(), format!("{} -> f16, round to nearest even", array.dtype));
    } else if out_dtype != array.dtype {
        metadata.insert("conversion".to_string(), format!("{} -> {out_dtype}", array.dtype));
    }
    for (k, v) in [("model", &args.model), ("source", &args.source)] {
        if let Some(v) = v {
            metadata.insert(k.to_string(), v.clone());
        }
    }
    if let Some(layer) = args.layer {
        metadata.insert("layer".to_string(), layer.to_string());
    }
    let header = safetensors::header_bytes(&[("W_dec", out_dtype, &[n, d])], &metadata).map_err(&fail)?;

    let mut out = BufWriter::with_capacity(1 << 20, File::create(out_path).map_err(write_error(out_path))?);
    out.write_all(&header).map_err(write_error(out_path))?;
    match sink {
        Some(Sink::Direct(w)) => {
            drop(w.into_inner().map_err(|e| write_error(out_path)(e.into_error()))?);
            let mut data = File::open(&partial).map_err(write_error(&partial))?;
            std::io::copy(&mut data, &mut out).map_err(write_error(out_path))?;
            std::fs::remove_file(&partial).map_err(write_error(&partial))?;
        }
        Some(Sink::Transposed(buf)) => {
            let values: Vec<f32> = buf.iter().map(|&b| f16::from_bits(b).to_f32()).collect();
            write_values(&mut out, &values, out_dtype).map_err(write_error(out_path))?;
        }
        None => {}
    }
    out.flush().map_err(write_error(out_path))?;
    let bytes = std::fs::metadata(out_path).map(|m| m.len()).unwrap_or(0);
    eprintln!("wrote {} ({n} x {d} {out_dtype}, {bytes} bytes; rows have norm {min_norm:.4}..{max_norm:.4})", out_path.display());

    if let Some(manifest_path) = &args.manifest {
        let dir = manifest_path.parent().unwrap_or(Path::new("."));
        let file = out_path.strip_prefix(dir).unwrap_or(out_path).display().to_string();
        let id = args.id.clone().unwrap_or_else(|| out_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
        let entry = DatasetEntry {
            title: args.title.clone().unwrap_or_else(|| id.clone()),
            id,
            file,
            tensor: "W_dec".to_string(),
            kind: "points".to_string(),
            group: args.group.clone(),
            layer: args.layer,
            n,
            d,
            dtype: out_dtype.to_string(),
            bytes,
            description: format!("SAE decoder converted from {} ({})", file_name(input), array.name),
            source: args.source.clone().unwrap_or_else(|| file_name(input)),
            metadata,
        };
        update_manifest(manifest_path, entry)?;
    }
    Ok(())
}

fn write_values(w: &mut impl Write, values: &[f32], dtype: Dtype) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(values.len() * dtype.size());
    match dtype {
        Dtype::F16 => values.iter().for_each(|&v| bytes.extend_from_slice(&f16::from_f32(v).to_le_bytes())),
        _ => values.iter().for_each(|&v| bytes.extend_from_slice(&v.to_le_bytes())),
    }
    w.write_all(&bytes)
}

/// `convert histogram`: the authors' co-occurrence `.npz` (`histogram` int N x N, `n_chunks`)
/// into a sparse bundle: the upper triangle (j >= i, diagonal = firing counts) as CSR
/// (`indptr` U32 [N + 1], `indices` U16 or U32, `counts` U16 or U32) with `n_chunks` in the
/// metadata. Two streaming passes; memory O(N) plus one block of rows.
pub fn histogram(args: &ConvertHistogramArgs) -> Result<(), CliError> {
    let input = &args.input;
    let fail = format_error(input);
    let n_chunks = read_scalar(input, "n_chunks")?;
    let arrays = list_arrays(input).map_err(&fail)?;
    let Some((_, shape, _)) = arrays.iter().find(|(name, _, _)| name == "histogram") else {
        return Err(fail(FormatError::MissingTensor {
            name: "histogram".into(),
            available: arrays.iter().map(|(n, s, d)| format!("{n} ({s:?} {d})")).collect(),
        }));
    };
    let n = match shape[..] {
        [a, b] if a == b => a,
        _ => return Err(fail(FormatError::NotAMatrix { name: "histogram (must be square, N x N)".into(), shape: shape.clone() })),
    };

    // Pass 1: non-zeros per row of the upper triangle, the largest count, and sanity checks.
    let mut row_nnz = vec![0u32; n];
    let mut max_count = 0f32;
    let mut bad: Option<String> = None;
    stream_rows(input, Some("histogram"), BLOCK_ROWS, &mut |_, first, values| {
        for (k, row) in values.chunks(n).enumerate() {
            let i = first + k;
            for (j, &v) in row.iter().enumerate().skip(i) {
                if v < 0.0 || v.fract() != 0.0 || v > n_chunks as f32 {
                    bad.get_or_insert_with(|| format!("histogram[{i}][{j}] = {v} is not a count between 0 and n_chunks = {n_chunks}"));
                }
                if v > 0.0 {
                    row_nnz[i] += 1;
                    max_count = max_count.max(v);
                }
            }
        }
        Ok(())
    })
    .map_err(&fail)?;
    if let Some(problem) = bad {
        return Err(CliError::Other(format!("{}: {problem}; is this the authors' co-occurrence file?", input.display())));
    }
    let nnz: u64 = row_nnz.iter().map(|&c| c as u64).sum();
    if nnz > u32::MAX as u64 {
        return Err(CliError::Other(format!("{}: {nnz} non-zero pairs do not fit this bundle (at most 2^32 - 1)", input.display())));
    }
    let index_dtype = if n <= 1 << 16 { Dtype::U16 } else { Dtype::U32 };
    let count_dtype = if max_count <= u16::MAX as f32 { Dtype::U16 } else { Dtype::U32 };
    let mut metadata = BTreeMap::new();
    metadata.insert("kind".to_string(), "cooccurrence-histogram".to_string());
    metadata.insert("n_features".to_string(), n.to_string());
    metadata.insert("n_chunks".to_string(), n_chunks.to_string());
    metadata.insert("layout".to_string(), "upper triangle (j >= i) as CSR; diagonal = chunks where the feature fires".to_string());
    metadata.insert("source_file".to_string(), file_name(input));
    metadata.insert("produced_by".to_string(), format!("sae-geometry {} convert histogram", env!("CARGO_PKG_VERSION")));
    let nnz = nnz as usize;
    let header = safetensors::header_bytes(
        &[("indptr", Dtype::U32, &[n + 1]), ("indices", index_dtype, &[nnz]), ("counts", count_dtype, &[nnz])],
        &metadata,
    )
    .map_err(&fail)?;

    // Pass 2: indices into the output after indptr; counts into a side file appended at the end.
    let out_path = &args.out;
    let counts_path = out_path.with_extension("counts.partial");
    let mut out = BufWriter::with_capacity(1 << 20, File::create(out_path).map_err(write_error(out_path))?);
    let mut counts = BufWriter::with_capacity(1 << 20, File::create(&counts_path).map_err(write_error(&counts_path))?);
    out.write_all(&header).map_err(write_error(out_path))?;
    let mut acc = 0u32;
    out.write_all(&acc.to_le_bytes()).map_err(write_error(out_path))?;
    for &c in &row_nnz {
        acc += c;
        out.write_all(&acc.to_le_bytes()).map_err(write_error(out_path))?;
    }
    let put = |w: &mut BufWriter<File>, dtype: Dtype, v: u32| match dtype {
        Dtype::U16 => w.write_all(&(v as u16).to_le_bytes()),
        _ => w.write_all(&v.to_le_bytes()),
    };
    let mut io_failure: Option<std::io::Error> = None;
    stream_rows(input, Some("histogram"), BLOCK_ROWS, &mut |_, first, values| {
        for (k, row) in values.chunks(n).enumerate() {
            for (j, &v) in row.iter().enumerate().skip(first + k) {
                if v > 0.0 {
                    if let Err(e) = put(&mut out, index_dtype, j as u32).and_then(|_| put(&mut counts, count_dtype, v as u32)) {
                        io_failure.get_or_insert(e);
                    }
                }
            }
        }
        Ok(())
    })
    .map_err(&fail)?;
    if let Some(e) = io_failure {
        return Err(write_error(out_path)(e));
    }
    drop(counts.into_inner().map_err(|e| write_error(&counts_path)(e.into_error()))?);
    let mut side = File::open(&counts_path).map_err(write_error(&counts_path))?;
    std::io::copy(&mut side, &mut out).map_err(write_error(out_path))?;
    out.flush().map_err(write_error(out_path))?;
    std::fs::remove_file(&counts_path).map_err(write_error(&counts_path))?;
    let density = nnz as f64 / (n as f64 * (n as f64 + 1.0) / 2.0);
    eprintln!(
        "wrote {} ({n} features, {n_chunks} chunks, {nnz} non-zero pairs = {:.1}% of the upper triangle)",
        out_path.display(),
        density * 100.0
    );
    Ok(())
}

/// Reads a small (at most 1 MB) array member of an npz as one number.
fn read_scalar(path: &Path, name: &str) -> Result<u64, CliError> {
    let fail = format_error(path);
    let file = File::open(path).map_err(|source| CliError::Read { path: path.display().to_string(), source })?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| fail(FormatError::Zip(e.to_string())))?;
    let mut member = zip.by_name(&format!("{name}.npy")).map_err(|_| {
        fail(FormatError::MissingTensor { name: name.to_string(), available: Vec::new() })
    })?;
    if member.size() > 1 << 20 {
        return Err(fail(FormatError::TooLarge { what: format!("'{name}'"), bytes: member.size() }));
    }
    let mut bytes = Vec::new();
    member.read_to_end(&mut bytes).map_err(|source| CliError::Read { path: path.display().to_string(), source })?;
    let array = npy::read(&bytes).map_err(&fail)?;
    match array.to_f64_vec()[..] {
        [v] if v >= 0.0 && v.fract() == 0.0 => Ok(v as u64),
        _ => Err(CliError::Other(format!("{}: '{name}' should be one non-negative integer", path.display()))),
    }
}

/// Replaces (by id) or appends `entry` in the manifest at `path`, creating it if absent.
pub(crate) fn update_manifest(path: &Path, entry: DatasetEntry) -> Result<(), CliError> {
    let mut m = if path.exists() {
        let text = String::from_utf8_lossy(&super::read_file(path)?).into_owned();
        manifest::parse(&text).map_err(format_error(path))?
    } else {
        manifest::Manifest { datasets: Vec::new() }
    };
    m.upsert(entry);
    std::fs::write(path, manifest::to_json(&m) + "\n").map_err(write_error(path))
}
