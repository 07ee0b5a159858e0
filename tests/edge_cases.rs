//! Every file of tests/fixtures/edge/ (made by make_edge.py: constant columns, duplicated rows,
//! zero-norm rows, N < d, d < 150, rank one, all zeros, an infinity, float32's extremes, f16
//! overflow) gives what expected.json says, through the path the CLI and the worker use: numpy's
//! slope and log-volume (relative 1e-9), or the named error, never a number that is not one.
//! tests/e2e/run.mjs checks the same files in the page.

use std::path::Path;

use sae_geometry::analysis::galaxy_from_bytes;
use sae_geometry::geometry::galaxy::GalaxyParams;

#[test]
fn each_edge_case_gives_numpys_numbers_or_its_named_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/edge");
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    let expected: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(expected.len() >= 15, "the edge-case set is complete");
    let params = GalaxyParams { isotropic: false, entropy: None, ..GalaxyParams::default() };
    let mut wrong = Vec::new();
    for (name, want) in &expected {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let got = galaxy_from_bytes(&bytes, name, None, &params, &mut |_, _| {});
        match (want["kind"].as_str(), got) {
            (Some(kind), Ok(r)) => wrong.push(format!("{name}: slope {} where numpy has none ({kind} expected)", r.spectrum.power_law.slope)),
            (Some(kind), Err(e)) if e.kind() != kind => wrong.push(format!("{name}: got {} ({e}), expected {kind}", e.kind())),
            (Some(_), Err(e)) => assert!(e.to_string().len() > 30, "{name}: the message says what to do: {e}"),
            (None, Err(e)) => wrong.push(format!("{name}: {} ({e}), expected numpy's numbers", e.kind())),
            (None, Ok(r)) => {
                let (slope, volume) = (want["slope"].as_f64().unwrap(), want["log_volume"].as_f64().unwrap());
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
                if !close(r.spectrum.power_law.slope, slope) || !close(r.spectrum.log_volume, volume) {
                    wrong.push(format!(
                        "{name}: slope {} log-volume {}, numpy {slope} {volume}",
                        r.spectrum.power_law.slope, r.spectrum.log_volume
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
