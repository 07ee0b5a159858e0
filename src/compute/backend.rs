//! Which backend runs the heavy kernels: the user's choice ([`BackendChoice`]) and what it became.
//!
//! `Auto` takes WebGPU when the browser (or, natively with the `gpu` feature, Vulkan/Metal) gives
//! an adapter and the CPU otherwise; `Cpu` and `Webgpu` force one. A GPU that is missing, refuses a
//! device, runs out of memory or is lost never gives a number: the work is redone on the CPU and the
//! reason is reported beside the result ([`BackendUsed::fallback`]).

use serde::{Deserialize, Serialize};

/// The backend a request asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// WebGPU where there is an adapter, else the CPU.
    #[default]
    Auto,
    /// Always the CPU.
    Cpu,
    /// WebGPU; the CPU (with a message) when it fails.
    Webgpu,
}

impl BackendChoice {
    /// All choices, in the order the UI lists them.
    pub const ALL: [BackendChoice; 3] = [BackendChoice::Auto, BackendChoice::Cpu, BackendChoice::Webgpu];

    /// The name used in URLs, requests and the CLI (`auto`, `cpu`, `webgpu`).
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Webgpu => "webgpu",
        }
    }

    /// Reads [`BackendChoice::name`] (also `gpu`).
    pub fn parse(s: &str) -> Option<BackendChoice> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(BackendChoice::Auto),
            "cpu" => Some(BackendChoice::Cpu),
            "webgpu" | "gpu" => Some(BackendChoice::Webgpu),
            _ => None,
        }
    }

    /// Whether this choice tries the GPU first.
    pub fn wants_gpu(self) -> bool {
        self != BackendChoice::Cpu
    }
}

/// What ran an analysis, for the line under its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendUsed {
    /// "WebGPU (adapter)" or "CPU (wasm)" / "CPU (native)".
    pub name: String,
    /// Why the GPU was not used although it was asked for (no adapter, lost, out of memory).
    pub fallback: Option<String>,
}

impl BackendUsed {
    /// The CPU of this build, with an optional reason why it is not the GPU.
    pub fn cpu(fallback: Option<String>) -> BackendUsed {
        let name = if cfg!(target_arch = "wasm32") { "CPU (wasm)" } else { "CPU (native)" };
        BackendUsed { name: name.into(), fallback }
    }

    /// One line: the name, and the fallback reason when there is one.
    pub fn describe(&self) -> String {
        match &self.fallback {
            Some(why) => format!("{} (WebGPU not used: {why})", self.name),
            None => self.name.clone(),
        }
    }
}

/// Which shapes to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuiteMode {
    /// Small, awkward shapes and forced tiling: correctness.
    Check,
    /// Shapes a browser tab runs in seconds: speed.
    Bench,
    /// The paper's sizes (decoder 16384 x 2304, co-occurrence of 16384 features over 20k chunks):
    /// natively on a real GPU.
    Paper,
}

/// One kernel run on one input, on both backends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelRow {
    /// The kernel: `gram_columns` (X^T X), `gram_rows` (X X^T), `matmul`, `matrix_product`
    /// (resident A times a block of vectors), `nearest` (k-NN with top-k), `cooccurrence`,
    /// `covariance` (the galaxy scale's, tiles on the GPU, sums in f64).
    pub kernel: String,
    /// Its shape, e.g. "16384 x 2304".
    pub shape: String,
    /// "random (seed 1)" or "real: <file>".
    pub input: String,
    /// Floating-point operations (or, for `cooccurrence`, counter increments) of one run.
    pub work: f64,
    /// The unit of `work` per second: "GFLOP/s" or "G increments/s".
    pub unit: String,
    /// Wall time on the CPU backend, ms (upload, compute and readback all included for the GPU).
    pub cpu_ms: f64,
    /// Wall time on the GPU backend, ms; `None` without a GPU.
    pub gpu_ms: Option<f64>,
    /// The largest difference from the CPU result, relative to the largest CPU value (for
    /// `cooccurrence`, the number of differing counts; for `nearest`, relative to the k-th distance).
    pub max_error: Option<f64>,
    /// The tolerance `max_error` is held to.
    pub tolerance: f64,
    /// `max_error <= tolerance` (and, for `nearest`, the same neighbours except at near-ties).
    pub passed: Option<bool>,
    /// What the GPU said when it failed on this row.
    pub gpu_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in BackendChoice::ALL {
            assert_eq!(BackendChoice::parse(c.name()), Some(c));
        }
        assert_eq!(BackendChoice::parse("GPU"), Some(BackendChoice::Webgpu));
        assert_eq!(BackendChoice::parse("tpu"), None);
        let used = BackendUsed::cpu(Some("no adapter".into()));
        assert!(used.describe().contains("no adapter"));
    }
}
