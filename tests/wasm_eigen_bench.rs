//! Timings of the symmetric eigenvalue solver in the browser (wasm32, one thread), against
//! nalgebra's (the solver before the two-stage one; now the tests' oracle). Not part of CI's
//! browser run (`--test browser`); run it by hand:
//!
//!   CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=600 \
//!   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!   cargo test --release --target wasm32-unknown-unknown --test wasm_eigen_bench
#![cfg(target_arch = "wasm32")]

use sae_geometry::geometry::linalg::symmetric_eigenvalues_desc;
use sae_geometry::geometry::sterf::tridiagonal_eigenvalues;
use sae_geometry::geometry::sytrd::tridiagonalize_one_stage;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn random_symmetric(n: usize) -> Vec<f64> {
    let mut s = 1u64;
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            a[i * n + j] = v;
            a[j * n + i] = v;
        }
    }
    a
}

fn now() -> f64 {
    js_sys::Date::now() / 1000.0
}

#[wasm_bindgen_test]
fn eigenvalue_timings() {
    for &n in &[384usize, 1024, 2304] {
        let a = random_symmetric(n);
        let t = now();
        let ours = symmetric_eigenvalues_desc(a.clone(), n);
        let t_ours = now() - t;

        let mut b = a.clone();
        let t = now();
        let (d, e) = tridiagonalize_one_stage(&mut b, n, &mut |_| {});
        let mut one = tridiagonal_eigenvalues(&d, &e);
        one.reverse();
        let t_one = now() - t;
        let diff = ours.iter().zip(&one).map(|(x, y)| (x - y).abs()).fold(0f64, f64::max);

        let t_nal = if n <= 1024 {
            let t = now();
            let m = nalgebra::DMatrix::from_row_slice(n, n, &a);
            let mut v: Vec<f64> = m.symmetric_eigenvalues().iter().copied().collect();
            v.sort_by(|x, y| y.total_cmp(x));
            let dt = now() - t;
            let diff = ours.iter().zip(&v).map(|(x, y)| (x - y).abs()).fold(0f64, f64::max);
            assert!(diff < 1e-11 * ours[0].abs().max(ours[n - 1].abs()), "{diff}");
            format!("{dt:.3} s")
        } else {
            "(skipped)".to_string()
        };
        console_log!(
            "wasm32 n = {n}: two-stage {t_ours:.3} s, one-stage (dsytrd) {t_one:.3} s (max diff {diff:.1e}), nalgebra {t_nal}"
        );
    }
}
