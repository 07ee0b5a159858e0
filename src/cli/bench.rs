//! `sae-geometry bench kernels`: the kernel suite ([`crate::compute::suite`]) natively, on the CPU
//! backend and on the GPU through wgpu (Vulkan/Metal), with the galaxy scale end to end on each.

use super::args::BenchKernelsArgs;
use super::CliError;

#[cfg(feature = "gpu")]
pub fn kernels(a: &BenchKernelsArgs) -> Result<(), CliError> {
    use super::args::SuiteSize;
    use crate::compute::backend::SuiteMode;
    use crate::compute::gpu::GpuContext;
    use crate::compute::offload::galaxy_covariances;
    use crate::compute::suite::{now_ms, run_suite};
    use crate::geometry::galaxy::{galaxy_spectrum_with_covariances, GalaxyParams};

    let mode = match a.size {
        SuiteSize::Check => SuiteMode::Check,
        SuiteSize::Bench => SuiteMode::Bench,
        SuiteSize::Paper => SuiteMode::Paper,
    };
    let real = match &a.real {
        Some(path) => {
            let bytes = super::read_file(path)?;
            let name = super::file_name(path);
            let loaded = crate::formats::read_matrix(&bytes, &name, a.tensor.as_deref())
                .map_err(|source| CliError::Format { path: path.display().to_string(), source })?;
            Some((loaded.matrix, name))
        }
        None => None,
    };
    let gpu = pollster::block_on(GpuContext::new());
    let gpu = match gpu {
        Ok(g) => {
            eprintln!("GPU: {}", g.adapter_name());
            Some(g)
        }
        Err(e) => {
            eprintln!("no GPU column: {e}");
            None
        }
    };
    let threads = crate::compute::par::threads();
    let rows = pollster::block_on(run_suite(
        gpu.as_ref(),
        mode,
        real.as_ref().map(|(m, n)| (m, n.as_str())),
        &mut |f| eprint!("\r{:.0}%", 100.0 * f),
    ));
    eprintln!();
    println!(
        "{:<20} {:<50} {:<30} {:>10} {:>9} {:>10} {:>9} {:>10} {:>9} {:>6}",
        "kernel", "shape", "input", "CPU ms", "CPU rate", "GPU ms", "GPU rate", "max error", "tol", "agrees"
    );
    let rate = |work: f64, ms: Option<f64>| ms.map_or("-".into(), |ms| format!("{:.2}", work / (ms * 1e-3) / 1e9));
    let mut failed = 0;
    for r in &rows {
        if r.passed == Some(false) {
            failed += 1;
        }
        println!(
            "{:<20} {:<50} {:<30} {:>10.1} {:>9} {:>10} {:>9} {:>10} {:>9.0e} {:>6}",
            r.kernel,
            r.shape,
            r.input,
            r.cpu_ms,
            rate(r.work, Some(r.cpu_ms)),
            r.gpu_ms.map_or("-".into(), |m| format!("{m:.1}")),
            rate(r.work, r.gpu_ms),
            match (&r.gpu_error, r.max_error) {
                (Some(e), _) => format!("error: {e}"),
                (None, Some(e)) => format!("{e:.2e}"),
                _ => "-".into(),
            },
            r.tolerance,
            match r.passed {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            }
        );
    }
    println!("(rates: GFLOP/s, cooccurrence G increments/s; CPU: {threads} threads, f64 accumulation)");
    // The galaxy scale end to end: on the real decoder, else on a seeded random matrix of the
    // suite's decoder shape.
    let galaxy_input = match real {
        Some(r) => Some(r),
        None if mode != SuiteMode::Check => {
            let (n, d) = if mode == SuiteMode::Paper { (16384, 2304) } else { (4096, 768) };
            Some((crate::compute::suite::random_matrix(n, d, 16), format!("random {n} x {d} (seed 16)")))
        }
        None => None,
    };
    if let (Some((m, name)), Some(g)) = (&galaxy_input, &gpu) {
        let params = GalaxyParams::default();
        let t0 = now_ms();
        let cpu = galaxy_spectrum_with_covariances(m, &params, None, &mut |_, _| {})
            .map_err(|e| CliError::Other(format!("{name}: {e}")))?;
        let cpu_ms = now_ms() - t0;
        let t0 = now_ms();
        let given = pollster::block_on(galaxy_covariances(g, m, &params, &mut |_, _| {}))
            .map_err(|e| CliError::Other(format!("{name}: {e}")))?;
        let gpu_spectrum = galaxy_spectrum_with_covariances(m, &params, Some(given), &mut |_, _| {})
            .map_err(|e| CliError::Other(format!("{name}: {e}")))?;
        let gpu_ms = now_ms() - t0;
        println!(
            "galaxy scale of {name} ({} x {}): CPU {cpu_ms:.0} ms (slope {:.6}), GPU {gpu_ms:.0} ms (slope {:.6}), {:.2}x",
            m.rows(),
            m.cols(),
            cpu.power_law.slope,
            gpu_spectrum.power_law.slope,
            cpu_ms / gpu_ms
        );
    }
    // The lobe scale's spectral step: the embedding of an affinity with planted lobes, Lanczos's
    // products on each backend.
    if let (Some(g), true) = (&gpu, mode != SuiteMode::Check) {
        use crate::geometry::spectral::spectral_embedding;
        let n = if mode == SuiteMode::Paper { 16384 } else { 4096 };
        let dims = 5;
        let a = planted_lobes(n, dims, 20);
        let t0 = now_ms();
        let cpu = spectral_embedding(a.clone(), n, dims, 0, &mut |_| {}).map_err(|e| CliError::Other(e.to_string()))?;
        let cpu_ms = now_ms() - t0;
        let t0 = now_ms();
        let on_gpu = pollster::block_on(crate::compute::offload::spectral_embedding(g, a, n, dims, 0, &mut |_| {}))
            .map_err(|e| CliError::Other(e.to_string()))?;
        let gpu_ms = now_ms() - t0;
        let gap = cpu.eigenvalues.iter().zip(&on_gpu.eigenvalues).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
        println!(
            "spectral embedding of a {n} x {n} affinity ({dims} planted lobes), Lanczos: CPU {cpu_ms:.0} ms ({} steps), GPU {gpu_ms:.0} ms ({} steps), {:.2}x, eigenvalues {:.1e} apart",
            cpu.lanczos_steps,
            on_gpu.lanczos_steps,
            cpu_ms / gpu_ms,
            gap
        );
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    }
    if failed > 0 {
        return Err(CliError::Other(format!("{failed} GPU results disagree with the CPU oracle")));
    }
    Ok(())
}

/// A symmetric `n x n` affinity with `lobes` planted groups (0.8 within, 0.05 across, plus up to
/// 0.1 of seeded noise): the spectral benchmark's input.
#[cfg(feature = "gpu")]
fn planted_lobes(n: usize, lobes: usize, seed: u64) -> Vec<f32> {
    let noise = crate::compute::suite::random(n * n, seed);
    let group = |i: usize| (i * lobes) / n;
    let mut a = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v = if group(i) == group(j) { 0.8 } else { 0.05 } + 0.1 * noise[i * n + j].abs();
            a[i * n + j] = v;
            a[j * n + i] = v;
        }
    }
    a
}

#[cfg(not(feature = "gpu"))]
pub fn kernels(_: &BenchKernelsArgs) -> Result<(), CliError> {
    Err(CliError::Other(
        "this sae-geometry was built without the GPU kernels: rebuild it with `cargo build --release --features gpu` \
         (needs a Vulkan or Metal driver at run time)"
            .into(),
    ))
}
