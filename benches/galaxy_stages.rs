//! Stage timings of the galaxy spectrum on one file: covariance, eigenvalues (ours, and nalgebra's
//! unblocked solver for comparison), the isotropic reference, and the whole `galaxy_spectrum`.
//! Best of R runs per stage. Release build:
//!
//!   cargo bench --bench galaxy_stages -- FILE [R] [--nalgebra]
//!
//! `SAE_GEOMETRY_THREADS=1` gives the single-threaded numbers (results are bit-identical).

use std::time::{Duration, Instant};

use sae_geometry::compute::{cpu, par};
use sae_geometry::formats::read_matrix;
use sae_geometry::geometry::galaxy::{galaxy_spectrum, isotropic_spectrum, GalaxyParams};
use sae_geometry::geometry::linalg::symmetric_eigenvalues_desc;

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        out = Some(v);
    }
    (best, out.expect("runs >= 1"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        // `cargo test --all-targets` runs benches without arguments: nothing to time.
        println!("usage: cargo bench --bench galaxy_stages -- FILE [RUNS] [--nalgebra]");
        return;
    };
    let runs: usize = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let with_nalgebra = args.iter().any(|a| a == "--nalgebra");
    let bytes = std::fs::read(path).expect("read the file");
    let name = std::path::Path::new(path).file_name().unwrap().to_string_lossy().to_string();
    let m = read_matrix(&bytes, &name, None).expect("a matrix").matrix;
    let (n, d) = (m.rows(), m.cols());
    println!("{name}: {n} x {d}, {} thread(s), best of {runs}", par::threads());

    let (t, c) = best(runs, || cpu::covariance(&m, &mut |_| {}));
    println!("  covariance            {:8.3} s", t.as_secs_f64());
    let (t, e) = best(runs, || symmetric_eigenvalues_desc(c.clone(), d));
    println!("  eigenvalues (ours)    {:8.3} s   top {:.6e}", t.as_secs_f64(), e[0]);
    if with_nalgebra {
        let (t, e2) = best(1, || {
            let mm = nalgebra::DMatrix::from_row_slice(d, d, &c);
            let mut v: Vec<f64> = mm.symmetric_eigenvalues().iter().copied().collect();
            v.sort_by(|x, y| y.total_cmp(x));
            v
        });
        let worst = e
            .iter()
            .zip(&e2)
            .filter(|(_, b)| **b > 1e-10 * e2[0])
            .map(|(a, b)| ((a - b) / b).abs())
            .fold(0f64, f64::max);
        println!(
            "  eigenvalues (nalgebra){:8.3} s   worst relative difference {worst:.1e}",
            t.as_secs_f64()
        );
    }
    let trace: f64 = (0..d).map(|i| c[i * d + i]).sum();
    let (t, _) = best(runs, || isotropic_spectrum(n, d, trace / d as f64, 0, &mut |_| {}).unwrap());
    println!("  isotropic reference   {:8.3} s", t.as_secs_f64());
    let (t, g) = best(runs, || galaxy_spectrum(&m, &GalaxyParams::default(), &mut |_, _| {}).unwrap());
    println!("  galaxy_spectrum       {:8.3} s   slope {:.6}", t.as_secs_f64(), g.power_law.slope);
}
