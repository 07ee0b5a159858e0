//! `analyze galaxy` and `inspect`.

use std::io::Write;

use serde::Serialize;

use super::args::{GalaxyArgs, InspectArgs};
use super::{file_name, read_file, CliError};
use crate::analysis::galaxy_from_bytes;
use crate::formats::{self, FileKind};
use crate::geometry::galaxy::GalaxyParams;

/// `sae-geometry analyze galaxy INPUT`: prints the galaxy report as JSON.
pub fn galaxy(args: &GalaxyArgs) -> Result<(), CliError> {
    let path = args.input.display().to_string();
    let bytes = read_file(&args.input)?;
    let params = GalaxyParams {
        ranks: args.ranks,
        seed: args.seed,
        isotropic: !args.no_isotropic,
    };
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
