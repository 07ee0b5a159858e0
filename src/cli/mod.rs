//! The native command-line tool: `sae-geometry analyze | inspect | precompute | convert`.
//!
//! Results go to stdout as one JSON object; errors go to stderr as `error: ...` with exit code 2.

mod analyze;
mod bench;
mod args;
mod convert;
mod crystals;
mod paper_bench;
mod paper_workloads;
mod precompute;

use std::process::ExitCode;

use clap::Parser;

pub use args::{AnalyzeCommand, BenchCommand, Cli, Command, ConvertCommand, PrecomputeCommand};

/// A CLI failure: its message is printed after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Analysis {
        path: String,
        source: crate::analysis::AnalysisError,
    },
    #[error("{path}: {source}")]
    Format {
        path: String,
        source: crate::formats::FormatError,
    },
    #[error("{0}")]
    Other(String),
}

/// Runs the CLI with the process arguments and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs one parsed command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Analyze(AnalyzeCommand::Galaxy(a)) => analyze::galaxy(&a),
        Command::Analyze(AnalyzeCommand::GalaxyLayers(a)) => analyze::galaxy_layers(&a),
        Command::Analyze(AnalyzeCommand::Lobes(a)) => analyze::lobes(&a),
        Command::Analyze(AnalyzeCommand::Crystals(a)) => crystals::crystals(&a),
        Command::Analyze(AnalyzeCommand::CrystalSearch(a)) => crystals::crystal_search(&a),
        Command::Inspect(a) => analyze::inspect(&a),
        Command::Precompute(PrecomputeCommand::TokenEmbeddings(a)) => precompute::token_embeddings(&a),
        Command::Precompute(PrecomputeCommand::Minilm(a)) => precompute::minilm(&a),
        Command::Convert(ConvertCommand::Sae(a)) => convert::sae(&a),
        Command::Convert(ConvertCommand::Histogram(a)) => convert::histogram(&a),
        Command::Bench(BenchCommand::Kernels(a)) => bench::kernels(&a),
        Command::Bench(BenchCommand::Paper(a)) => paper_bench::paper(&a),
    }
}

/// Reads a whole file, with the path in the error.
pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// The last component of `path` (the whole path if it has none), as shown in reports.
pub(crate) fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
