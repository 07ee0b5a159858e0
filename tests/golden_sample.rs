//! The galaxy analysis of a random sample of rows (a browser tab's memory budget, the CLI's
//! `--sample N`) against numpy/scipy on the same rows (tests/golden/make_sample_golden.py):
//! the rows kept are numpy's `sorted(RandomState(seed).choice(N, m, replace=False))` exactly, and
//! the spectrum of those rows matches numpy's at the galaxy golden tolerances (eigenvalues 1e-9
//! relative, slope 1e-6, intercept and log-volume 1e-8). The streamed sample (the browser's path:
//! ranges of a file, here a row-major npy and a transposed `decoder.weight`) gives the same report
//! bit for bit as the sample of the matrix read whole (the CLI's path).

use std::path::PathBuf;

use sae_geometry::analysis::{galaxy_from_bytes, galaxy_report, RowSample};
use sae_geometry::formats::range_reader::RangeReader;
use sae_geometry::formats::rows::{plan_stream, sample_rows_from};
use sae_geometry::geometry::galaxy::GalaxyParams;
use serde_json::Value;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn rel_close(a: f64, b: f64, rtol: f64) -> bool {
    (a - b).abs() <= rtol * a.abs().max(b.abs())
}

fn streamed(bytes: &[u8], name: &str, sample: &RowSample, params: &GalaxyParams) -> sae_geometry::analysis::GalaxyReport {
    let mut reader = RangeReader::new(bytes.len() as u64, |start, len| {
        let s = start as usize;
        Ok(bytes[s..(s + len).min(bytes.len())].to_vec())
    });
    let plan = plan_stream(&mut reader, bytes.len() as u64, name, None).unwrap();
    assert_eq!((plan.features, plan.dims), (1200, 200));
    let loaded = sample_rows_from(&mut reader, bytes.len() as u64, name, &plan, &sample.indices(), &mut |_| {}).unwrap();
    let mut report = galaxy_report(&loaded, bytes.len() as u64, name, params, None, &mut |_, _| {}).unwrap();
    report.sample = Some(sample.clone());
    report
}

#[test]
fn a_sample_of_rows_is_numpys_sample_with_numpys_spectrum() {
    let text = std::fs::read_to_string(golden("galaxy_sample_golden.json")).unwrap();
    let g: Value = serde_json::from_str(&text).unwrap();
    let npy = std::fs::read(golden("galaxy_powerlaw.npy")).unwrap();
    let torch = std::fs::read(golden("galaxy_powerlaw_decoder.safetensors")).unwrap();
    for case in g["cases"].as_array().unwrap() {
        let (m, seed) = (case["sample"].as_u64().unwrap() as usize, case["seed"].as_u64().unwrap());
        let params = GalaxyParams { seed, isotropic: false, sample: Some(m), ..GalaxyParams::default() };
        let report = galaxy_from_bytes(&npy, "galaxy_powerlaw.npy", None, &params, &mut |_, _| {}).unwrap();
        let sample = report.sample.clone().expect("the report discloses its sample");
        assert_eq!((sample.rows, sample.of, sample.seed as u64), (m, 1200, seed));
        let want: Vec<usize> = case["indices"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(sample.indices(), want, "numpy's rows for sample {m}, seed {seed}");
        let eigs: Vec<f64> = case["eigenvalues"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let got = &report.spectrum.eigenvalues;
        assert_eq!(got.len(), eigs.len());
        let top = eigs[0];
        for (r, (a, b)) in got.iter().zip(&eigs).enumerate() {
            assert!(rel_close(*a, *b, 1e-9) || (b.abs() < 1e-10 * top && (a - b).abs() < 1e-12 * top), "rank {}: {a} vs {b}", r + 1);
        }
        let fit = &report.spectrum.power_law;
        assert!(rel_close(fit.slope, case["slope"].as_f64().unwrap(), 1e-6), "slope {}", fit.slope);
        assert!(rel_close(fit.intercept, case["intercept"].as_f64().unwrap(), 1e-8));
        assert!(rel_close(report.spectrum.log_volume, case["log_volume"].as_f64().unwrap(), 1e-8));
        assert_eq!(report.params.sample, Some(m));
        // The browser's path: the same rows streamed from ranges of the file, row-major or
        // stored transposed, give the same report bit for bit (but for the file's name and size).
        for (bytes, name) in [(&npy, "galaxy_powerlaw.npy"), (&torch, "galaxy_powerlaw_decoder.safetensors")] {
            let s = streamed(bytes, name, &sample, &params);
            assert_eq!(s.spectrum, report.spectrum, "{name}");
        }
    }
    // Asking for as many rows as there are (or more) is no sample.
    let all = GalaxyParams { isotropic: false, sample: Some(5000), ..GalaxyParams::default() };
    assert!(galaxy_from_bytes(&npy, "galaxy_powerlaw.npy", None, &all, &mut |_, _| {}).unwrap().sample.is_none());
    // numpy's RandomState takes seeds below 2^32: a larger one is named, not wrapped.
    let big = GalaxyParams { seed: 1 << 33, isotropic: false, sample: Some(10), ..GalaxyParams::default() };
    let e = galaxy_from_bytes(&npy, "galaxy_powerlaw.npy", None, &big, &mut |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("2^32"), "{e}");
}
