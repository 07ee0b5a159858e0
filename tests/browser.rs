//! Browser tests (wasm-bindgen-test in headless Chromium; see scripts/test.sh): the formats and
//! the galaxy math inside the browser against the numpy/scipy golden numbers, the protocol, and
//! the spectrum plot drawn on a real canvas.
#![cfg(target_arch = "wasm32")]

use sae_geometry::analysis::galaxy_from_bytes;
use sae_geometry::geometry::galaxy::{GalaxyParams, RankRange};
use sae_geometry::protocol::{Request, Response, Source};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const POWERLAW_NPY: &[u8] = include_bytes!("golden/galaxy_powerlaw.npy");
const GOLDEN: &str = include_str!("golden/galaxy_golden.json");

fn golden_fit(first: u64, last: u64) -> (serde_json::Value, serde_json::Value) {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    let case = golden["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "powerlaw")
        .unwrap()
        .clone();
    let fit = case["fits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["first"] == first && f["last"] == last)
        .unwrap()
        .clone();
    (case, fit)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[wasm_bindgen_test]
fn galaxy_in_the_browser_matches_numpy() {
    for (first, last) in [(11, 150), (1, 100), (5, 50)] {
        let (case, fit) = golden_fit(first, last);
        let params = GalaxyParams {
            ranks: RankRange::new(first as usize, last as usize),
            seed: 0,
            isotropic: false,
            entropy: None,
            sample: None,
        };
        let report =
            galaxy_from_bytes(POWERLAW_NPY, "galaxy_powerlaw.npy", None, &params, &mut |_, _| {}).unwrap();
        let expected: Vec<f64> = case["eigenvalues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(report.spectrum.eigenvalues.len(), expected.len());
        for (got, want) in report.spectrum.eigenvalues.iter().zip(&expected) {
            assert!(rel(*got, *want) < 1e-9, "eigenvalue {got} vs numpy {want}");
        }
        let p = &report.spectrum.power_law;
        // Tolerances: slope and interval 1e-6 relative (the product promises 1e-4), log-volume 1e-8.
        assert!(
            rel(p.slope, fit["slope"].as_f64().unwrap()) < 1e-6,
            "slope {} vs {}",
            p.slope,
            fit["slope"]
        );
        assert!(rel(p.ci95[0], fit["ci95"][0].as_f64().unwrap()) < 1e-6);
        assert!(rel(p.ci95[1], fit["ci95"][1].as_f64().unwrap()) < 1e-6);
        assert!(rel(report.spectrum.log_volume, fit["log_volume"].as_f64().unwrap()) < 1e-8);
    }
}

#[wasm_bindgen_test]
fn malformed_input_is_an_error_not_a_panic() {
    let truncated = &POWERLAW_NPY[..POWERLAW_NPY.len() / 2];
    let err =
        galaxy_from_bytes(truncated, "x.npy", None, &GalaxyParams::default(), &mut |_, _| {}).unwrap_err();
    assert_eq!(err.kind(), "truncated");
}

#[wasm_bindgen_test]
fn protocol_messages_round_trip() {
    let request = Request::Galaxy {
        job: 3,
        source: Source::Url {
            url: "data/a.safetensors".into(),
            name: "a.safetensors".into(),
        },
        tensor: Some("W_dec".into()),
        params: GalaxyParams::default(),
        backend: sae_geometry::compute::backend::BackendChoice::Webgpu,
        budget: Some(512 << 20),
    };
    assert_eq!(Request::from_json(&request.to_json()).unwrap(), request);
    assert_eq!(
        Response::from_json(&Response::Ready.to_json()).unwrap(),
        Response::Ready
    );
}

#[wasm_bindgen_test]
fn the_spectrum_is_drawn_on_a_canvas() {
    let report = galaxy_from_bytes(
        POWERLAW_NPY,
        "galaxy_powerlaw.npy",
        None,
        &GalaxyParams::default(),
        &mut |_, _| {},
    )
    .unwrap();
    let document = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = document.create_element("canvas").unwrap().unchecked_into();
    canvas.style().set_property("width", "800px").unwrap();
    document.body().unwrap().append_child(&canvas).unwrap();
    let layout = sae_geometry::app::plots::spectrum::draw_spectrum(&canvas, &report, &sae_geometry::chart_view::Zoom::default()).unwrap();
    assert!(canvas.width() >= 800, "sized to its box");
    assert!(!layout.panels.is_empty(), "the chart reports its panel for hover and zoom");
    let ctx: web_sys::CanvasRenderingContext2d = canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    let pixels = ctx
        .get_image_data(0.0, 0.0, canvas.width() as f64, canvas.height() as f64)
        .unwrap()
        .data();
    let count =
        |pred: &dyn Fn(u8, u8, u8) -> bool| pixels.chunks(4).filter(|p| pred(p[0], p[1], p[2])).count();
    // The eigenvalue curve is blue (31, 90, 166), the fit red (214, 69, 32): both must be there.
    let blue = count(&|r, g, b| b > 140 && r < 80 && g < 120);
    let red = count(&|r, g, b| r > 180 && g < 100 && b < 70);
    assert!(blue > 200, "{blue} blue pixels");
    assert!(red > 100, "{red} red pixels");
}

/// The wasm32 `dgemm` (packed, f64x2 SIMD kernel) against the plain product, with sizes that cut
/// every block short, and one row times one column summed bit for bit in order of k (per block of
/// `KC`, as the native oracle of the kernel in src/compute/gemm.rs).
#[wasm_bindgen_test]
fn simd_dgemm_in_the_browser_is_the_product() {
    use sae_geometry::compute::gemm::{dgemm, KC};
    let values = |len: usize, seed: usize| -> Vec<f64> { (0..len).map(|i| (((i * 7919 + seed * 104_729) % 1009) as f64 - 504.0) / 97.0).collect() };
    for &(m, k, n) in &[(5usize, 3usize, 7usize), (67, 300, 9), (130, 513, 70)] {
        let (a, b) = (values(m * k, 1), values(k * n, 2));
        let mut c = vec![f64::NAN; m * n];
        unsafe { dgemm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1, 0.0, c.as_mut_ptr(), n as isize, 1) };
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                assert!((c[i * n + j] - want).abs() <= 1e-12 * (1.0 + want.abs()), "{m} {k} {n} at {i},{j}");
            }
        }
    }
    let k = 700;
    let (a, b) = (values(k, 4), values(k, 5));
    let mut c = [0f64];
    unsafe { dgemm(1, k, 1, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), 1, 1, 0.0, c.as_mut_ptr(), 1, 1) };
    let (mut want, mut block) = (0.0, 0.0);
    for p in 0..k {
        block += a[p] * b[p];
        if p % KC == KC - 1 || p == k - 1 {
            want += block;
            block = 0.0;
        }
    }
    assert_eq!(c[0], want);
}

/// A tensor of 512 MiB or more (here 2^29 + 8 bytes of u8, as large in bits as 2^32 + 64) is read
/// on wasm32, whose `usize` is 32 bits: the `safetensors` crate's validation overflowed there
/// (a 65536 x 2304 f32 decoder is 604 MB). And headers declaring 1.5 GB and 3 GB are
/// checked without their data.
#[wasm_bindgen_test]
fn a_safetensors_tensor_over_512_mib_is_read_on_wasm32() {
    use sae_geometry::formats::{safetensors, ArrayData, Dtype};
    use std::collections::BTreeMap;
    let len = (1usize << 29) + 8;
    let mut file = safetensors::header_bytes(&[("big", Dtype::U8, &[len])], &BTreeMap::new()).unwrap();
    let start = file.len();
    file.resize(start + len, 0);
    file[start + 7] = 7;
    file[start + len - 1] = 255;
    let array = safetensors::read(&file, "big").unwrap();
    assert_eq!(array.shape, vec![len]);
    match &array.data {
        ArrayData::U8(v) => assert_eq!((v.len(), v[7], v[len - 1], v[len - 2]), (len, 7, 255, 0)),
        _ => panic!("expected u8 data, got {:?}", array.dtype),
    }
    drop(array);
    drop(file);
    // Header-only checks: a 1.5 GB tensor (163840 x 2304 f32) is accepted; one of 3 GB cannot be
    // held in a wasm32 Vec (isize::MAX bytes) and is refused as too large, not overflowed.
    for (rows, ok) in [(163_840u64, true), (327_680, false)] {
        let bytes = rows * 2304 * 4;
        let json = format!(r#"{{"decoder":{{"dtype":"F32","shape":[{rows},2304],"data_offsets":[0,{bytes}]}}}}"#);
        let mut header = (json.len() as u64).to_le_bytes().to_vec();
        header.extend_from_slice(json.as_bytes());
        let total = header.len() as u64 + bytes;
        match safetensors::read_header(&header, total) {
            Ok((entries, _)) => assert!(ok && entries[0].shape == vec![rows as usize, 2304]),
            Err(e) => assert!(!ok && e.kind() == "too-large", "{rows} rows: {e}"),
        }
    }
}
