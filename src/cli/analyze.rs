//! `analyze galaxy`, `analyze galaxy-layers` and `inspect`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::args::{GalaxyArgs, GalaxyLayersArgs, InspectArgs};
use super::{file_name, read_file, CliError};
use crate::analysis::galaxy_from_bytes;
use crate::formats::{self, FileKind};
use crate::geometry::entropy::ClusteringEntropy;

/// `sae-geometry analyze galaxy INPUT`: prints the galaxy report as JSON.
pub fn galaxy(args: &GalaxyArgs) -> Result<(), CliError> {
    let path = args.input.display().to_string();
    let bytes = read_file(&args.input)?;
    let params = args.galaxy.params();
    let report = galaxy_from_bytes(
        &bytes,
        &file_name(&args.input),
        args.tensor.as_deref(),
        &params,
        &mut |_, _| {},
    )
    .map_err(|source| CliError::Analysis { path, source })?;
    print_json(&report, args.pretty)
}

/// One input of `analyze galaxy-layers`.
struct LayerInput {
    path: PathBuf,
    tensor: Option<String>,
    group: Option<String>,
    layer: Option<usize>,
    id: Option<String>,
}

/// One row of `analyze galaxy-layers`.
#[derive(Debug, Serialize)]
struct LayerRow {
    /// The manifest's layer, else the file's safetensors metadata `layer`, else null.
    layer: Option<usize>,
    /// The manifest's group and id (null for files given directly).
    group: Option<String>,
    id: Option<String>,
    /// The file as given (or as the manifest names it, joined to the manifest's folder).
    file: String,
    tensor: String,
    n: usize,
    d: usize,
    slope: f64,
    ci95: [f64; 2],
    log_volume: f64,
    isotropic_slope: Option<f64>,
    entropy: Option<ClusteringEntropy>,
    /// The clustering entropy of the isotropic reference (same settings), when both were run.
    isotropic_entropy: Option<ClusteringEntropy>,
}

/// The inputs: the files as given, or a manifest's grouped `points` datasets ordered by group,
/// then layer (datasets without a layer last in their group, then by id).
fn layer_inputs(args: &GalaxyLayersArgs) -> Result<Vec<LayerInput>, CliError> {
    let is_manifest = |p: &Path| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if args.inputs.iter().any(|p| is_manifest(p)) {
        if args.inputs.len() != 1 {
            return Err(CliError::Other(
                "give either one manifest.json or decoder files, not both".into(),
            ));
        }
        let path = &args.inputs[0];
        let bytes = read_file(path)?;
        let text = String::from_utf8_lossy(&bytes);
        let manifest = formats::manifest::parse(&text).map_err(|source| CliError::Format {
            path: path.display().to_string(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        let entries = formats::manifest::grouped_points(manifest.datasets, args.group.as_deref());
        if entries.is_empty() {
            return Err(CliError::Other(format!(
                "{}: no `points` dataset with a group{}",
                path.display(),
                args.group.as_ref().map(|g| format!(" {g:?}")).unwrap_or_default()
            )));
        }
        return Ok(entries
            .into_iter()
            .map(|e| LayerInput {
                path: dir.join(&e.file),
                tensor: Some(e.tensor),
                group: e.group,
                layer: e.layer,
                id: Some(e.id),
            })
            .collect());
    }
    if args.group.is_some() {
        return Err(CliError::Other(
            "--group selects datasets of a manifest.json".into(),
        ));
    }
    Ok(args
        .inputs
        .iter()
        .map(|p| LayerInput {
            path: p.clone(),
            tensor: args.tensor.clone(),
            group: None,
            layer: None,
            id: None,
        })
        .collect())
}

/// `sae-geometry analyze galaxy-layers INPUTS...`: the galaxy scale of each input (a layer), as
/// one JSON array of rows in input order (a manifest's in group, layer order). A line per input
/// on stderr tells how far it got.
pub fn galaxy_layers(args: &GalaxyLayersArgs) -> Result<(), CliError> {
    let inputs = layer_inputs(args)?;
    let params = args.galaxy.params();
    let mut rows = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let path = input.path.display().to_string();
        let started = std::time::Instant::now();
        let bytes = read_file(&input.path)?;
        let layer = input.layer.or_else(|| {
            formats::safetensors::metadata(&bytes)
                .ok()
                .and_then(|m| m.get("layer").and_then(|l| l.trim().parse().ok()))
        });
        let report = galaxy_from_bytes(
            &bytes,
            &file_name(&input.path),
            input.tensor.as_deref(),
            &params,
            &mut |_, _| {},
        )
        .map_err(|source| CliError::Analysis {
            path: path.clone(),
            source,
        })?;
        eprintln!(
            "[{}/{}] {path}: {:.1} s",
            i + 1,
            inputs.len(),
            started.elapsed().as_secs_f64()
        );
        let s = report.spectrum;
        rows.push(LayerRow {
            layer,
            group: input.group.clone(),
            id: input.id.clone(),
            file: path,
            tensor: report.input.tensor,
            n: s.n,
            d: s.d,
            slope: s.power_law.slope,
            ci95: s.power_law.ci95,
            log_volume: s.log_volume,
            isotropic_slope: s.isotropic_slope,
            entropy: s.entropy,
            isotropic_entropy: s.isotropic_entropy,
        });
    }
    print_json(&rows, args.pretty)
}

/// `sae-geometry inspect FILE`: the arrays in a file and its metadata, as JSON.
pub fn inspect(args: &InspectArgs) -> Result<(), CliError> {
    let path = args.input.display().to_string();
    let bytes = read_file(&args.input)?;
    let name = file_name(&args.input);
    let fail = |source| CliError::Format {
        path: path.clone(),
        source,
    };

    #[derive(Serialize)]
    struct Entry {
        name: String,
        dtype: String,
        shape: Vec<usize>,
    }
    #[derive(Serialize)]
    struct Listing {
        format: &'static str,
        arrays: Vec<Entry>,
        metadata: std::collections::BTreeMap<String, String>,
    }

    let listing = match formats::detect_kind(&bytes, &name).map_err(fail)? {
        FileKind::Npy => {
            let a = formats::npy::read(&bytes).map_err(fail)?;
            Listing {
                format: "npy",
                arrays: vec![Entry {
                    name: name.clone(),
                    dtype: a.dtype.to_string(),
                    shape: a.shape,
                }],
                metadata: Default::default(),
            }
        }
        FileKind::Npz => Listing {
            format: "npz",
            arrays: formats::npz::entries(&bytes)
                .map_err(fail)?
                .into_iter()
                .map(|e| Entry {
                    name: e.name,
                    dtype: e.dtype.to_string(),
                    shape: e.shape,
                })
                .collect(),
            metadata: Default::default(),
        },
        FileKind::Safetensors => Listing {
            format: "safetensors",
            arrays: formats::safetensors::list(&bytes)
                .map_err(fail)?
                .into_iter()
                .map(|(name, dtype, shape)| Entry {
                    name,
                    dtype: dtype.to_string(),
                    shape,
                })
                .collect(),
            metadata: formats::safetensors::metadata(&bytes).map_err(fail)?,
        },
    };
    print_json(&listing, true)
}

/// Writes `value` as one JSON object and a newline on stdout.
pub(crate) fn print_json<T: Serialize>(value: &T, pretty: bool) -> Result<(), CliError> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(|e| CliError::Other(format!("cannot encode the result as JSON: {e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|source| CliError::Write {
        path: "stdout".into(),
        source,
    })
}

/// The null tests as the JSON of `analyze lobes` names them.
#[derive(Debug, Serialize)]
struct NullJson {
    trials: usize,
    ami_mean: f64,
    ami_std: f64,
    ami_sigma: f64,
    bacc_mean: f64,
    bacc_std: f64,
    bacc_sigma: f64,
}

#[derive(Debug, Serialize)]
struct LobesJson {
    #[serde(flatten)]
    report: crate::analysis::lobes::LobesReport,
    null: Option<NullJson>,
}

/// Parses `--k`: `3`, `2,3,4` or `2..8` (inclusive).
pub(crate) fn parse_ks(text: &str) -> Result<Vec<usize>, CliError> {
    let bad = || CliError::Other(format!("--k {text}: give a number of lobes (2), a list (2,3,4) or a range (2..8)"));
    let ks: Vec<usize> = if let Some((a, b)) = text.split_once("..") {
        let (a, b): (usize, usize) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
        (a..=b).collect()
    } else {
        text.split(',').map(|s| s.trim().parse().map_err(|_| bad())).collect::<Result<_, _>>()?
    };
    if ks.is_empty() || ks.contains(&0) {
        return Err(bad());
    }
    Ok(ks)
}

/// `sae-geometry analyze lobes DECODER COOCCURRENCE`: prints the brain-scale report as JSON.
pub fn lobes(args: &super::args::LobesArgs) -> Result<(), CliError> {
    use crate::analysis::lobes::lobes_from_bytes;
    use crate::geometry::affinity::Affinity;
    use crate::geometry::lobes::LobeParams;
    let ks = parse_ks(&args.k)?;
    let affinity = Affinity::parse(&args.affinity).map_err(|e| CliError::Other(format!("--affinity: {e}")))?;
    let params = LobeParams { k: ks[0], affinity, null_trials: args.null_trials, seed: args.seed, ..LobeParams::default() };
    let decoder = read_file(&args.decoder)?;
    let cooccurrence = read_file(&args.cooccurrence)?;
    let path = format!("{} + {}", args.decoder.display(), args.cooccurrence.display());
    let run = lobes_from_bytes(
        (&decoder, &file_name(&args.decoder), args.tensor.as_deref()),
        (&cooccurrence, &file_name(&args.cooccurrence)),
        &[affinity],
        &ks,
        &params,
        false,
        &mut |_, _| {},
    )
    .map_err(|source| CliError::Analysis { path, source })?;
    let rows: Vec<LobesJson> = run
        .reports
        .into_iter()
        .map(|mut report| {
            let a = &mut report.agreement;
            let null = a.ami_null.as_ref().zip(a.bacc_null.as_ref()).map(|(ami, bacc)| NullJson {
                trials: ami.draws.len(),
                ami_mean: ami.mean,
                ami_std: ami.std,
                ami_sigma: ami.sigma,
                bacc_mean: bacc.mean,
                bacc_std: bacc.std,
                bacc_sigma: bacc.sigma,
            });
            if args.brief {
                a.labels_cooccurrence.clear();
                a.labels_geometry.clear();
                for t in [&mut a.ami_null, &mut a.bacc_null].into_iter().flatten() {
                    t.draws.clear();
                }
            }
            LobesJson { report, null }
        })
        .collect();
    if rows.len() == 1 {
        print_json(&rows[0], args.pretty)
    } else {
        print_json(&rows, args.pretty)
    }
}
