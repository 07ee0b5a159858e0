//! Every file of tests/fixtures/malformed/ (made by make_malformed.py) gives the error kind that
//! expected.json names, through the same path the CLI and the worker use; the CLI exits with 2.

use std::path::Path;

use sae_geometry::analysis::galaxy_from_bytes;
use sae_geometry::geometry::galaxy::GalaxyParams;

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    let expected: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    expected
        .into_iter()
        .map(|(name, v)| (name, v["kind"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn each_malformed_file_gives_its_error_kind() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
    let fixtures = fixtures();
    assert!(fixtures.len() >= 15, "the fixture set is complete");
    let mut wrong = Vec::new();
    for (name, kind) in &fixtures {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        match galaxy_from_bytes(&bytes, name, None, &GalaxyParams::default(), &mut |_, _| {}) {
            Ok(_) => wrong.push(format!("{name}: analysed without error, expected {kind}")),
            Err(e) if e.kind() != kind => {
                wrong.push(format!("{name}: got {} ({e}), expected {kind}", e.kind()))
            }
            Err(e) => assert!(
                e.to_string().len() > 20,
                "{name}: the message says something: {e}"
            ),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_cli_exits_with_2_and_a_message_on_each_malformed_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
    for (name, _) in fixtures() {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sae-geometry"))
            .args(["analyze", "galaxy"])
            .arg(dir.join(&name))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: exit code; stderr: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(&name),
            "{name}: stderr names the file: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: no panic: {stderr}");
    }
}
