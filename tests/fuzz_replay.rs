//! The fuzzers' findings, kept: (a) every file of `fuzz/corpus/<target>/` (the minimised libFuzzer
//! corpus), `fuzz/regressions/<target>/` (the inputs that once crashed a parser) and
//! `fuzz/seeds/<target>/` (the seeds, see `fuzz/make_seeds.py`) is run through the parsers of its
//! target; (b) a short deterministic mutation run from the seeds (bit flips, bytes set to 0, 0xff
//! or random, truncation, chunks duplicated or deleted, the safetensors header length and the npy
//! header length overwritten, numbers in text replaced by extreme ones), with a fixed xorshift
//! seed so any failure reproduces.
//!
//! Both use `sae_geometry::formats::fuzzing`, the same code the cargo-fuzz targets run (see
//! docs/FUZZING.md), on stable Rust. A failure names the file (and for a mutant: the seed, the
//! mutant's number, and where the mutant was written).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sae_geometry::formats::fuzzing;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted (none when the folder does not exist).
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Runs one input; `Err` with the panic's message when a parser panicked.
fn try_run(target: &str, data: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| fuzzing::run(target, data))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

#[test]
fn corpus_regressions_and_seeds_do_not_panic() {
    let start = Instant::now();
    let mut failures = Vec::new();
    let mut ran = 0;
    for target in fuzzing::TARGETS {
        for kind in ["seeds", "corpus", "regressions"] {
            for path in files(kind, target) {
                let data = match std::fs::read(&path) {
                    Ok(data) => data,
                    // A fuzzer running beside the test may have just replaced it.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => panic!("{}: {e}", path.display()),
                };
                ran += 1;
                if let Err(msg) = try_run(target, &data) {
                    failures.push(format!("target {target}: {}: {msg}", path.display()));
                }
            }
        }
    }
    println!("fuzz replay: {ran} corpus, regression and seed files in {:.1} s", start.elapsed().as_secs_f64());
    assert!(ran > 0, "no fuzz corpus found under {}", fuzz_dir().display());
    assert!(failures.is_empty(), "{} inputs panicked:\n{}", failures.len(), failures.join("\n"));
}

/// xorshift64*: small, fixed and reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Numbers a parser must not trust: zero, off by one, the edges of u16/u32/u64, negative.
const EXTREME_TEXT: &[&str] =
    &["0", "1", "-1", "65536", "4294967295", "4294967296", "18446744073709551615", "18446744073709551616", "99999999999999999999", "1e308", "3.5"];
const EXTREME_U64: &[u64] = &[0, 1, 7, 8, 9, 0xff, 0xffff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000, 100_000_000, 100_000_001, u64::MAX / 2, u64::MAX];

/// One mutant of `seed`: one to three stacked mutations.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut m = seed.to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = m.len();
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                m[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                m[i] = [0, 0xff, rng.next() as u8, 0x7f, 0x80][rng.below(5)];
            }
            2 => m.truncate(rng.below(len + 1)),
            3 if len > 0 => {
                // Duplicate a chunk somewhere.
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                let chunk = m[a..b].to_vec();
                let at = rng.below(len + 1);
                m.splice(at..at, chunk);
            }
            4 if len > 0 => {
                // Delete a chunk.
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                m.drain(a..b);
            }
            5 if len >= 8 => {
                // The safetensors header length (the little-endian u64 at the front).
                let old = u64::from_le_bytes(m[..8].try_into().unwrap());
                let new = match rng.below(3) {
                    0 => EXTREME_U64[rng.below(EXTREME_U64.len())],
                    1 => old.wrapping_add(rng.below(17) as u64).wrapping_sub(8),
                    _ => rng.next() >> rng.below(64),
                };
                m[..8].copy_from_slice(&new.to_le_bytes());
            }
            6 if len >= 12 && m.starts_with(b"\x93NUMPY") => {
                // The npy header length (u16 at 8 for version 1, u32 at 8 for versions 2 and 3).
                let v = EXTREME_U64[rng.below(EXTREME_U64.len())] as u32 ^ (rng.below(4) as u32);
                if m[6] == 1 {
                    m[8..10].copy_from_slice(&(v as u16).to_le_bytes());
                } else {
                    m[8..12].copy_from_slice(&v.to_le_bytes());
                }
                if rng.below(4) == 0 {
                    m[6] = [1, 2, 3, 4, 0][rng.below(5)];
                }
            }
            7 if len > 0 => {
                // A number in text (a JSON header, an npy dict, metadata) made extreme.
                let start = rng.below(len);
                if let Some(i) = (start..len).chain(0..start).find(|&i| m[i].is_ascii_digit()) {
                    let mut j = i;
                    while j < len && m[j].is_ascii_digit() {
                        j += 1;
                    }
                    let mut k = i;
                    while k > 0 && m[k - 1].is_ascii_digit() {
                        k -= 1;
                    }
                    let new = EXTREME_TEXT[rng.below(EXTREME_TEXT.len())].as_bytes().to_vec();
                    m.splice(k..j, new);
                }
            }
            8 if len > 0 => {
                // Splice in bytes copied from elsewhere in the input (a zip header, a JSON key).
                let a = rng.below(len);
                let b = (a + 1 + rng.below(32)).min(len);
                let chunk = m[a..b].to_vec();
                let at = rng.below(len);
                let end = (at + chunk.len()).min(len);
                m[at..end].copy_from_slice(&chunk[..end - at]);
            }
            _ => {
                let i = rng.below(len + 1);
                m.insert(i, rng.next() as u8);
            }
        }
    }
    m
}

/// Mutants per seed: 2,000 for small seeds, fewer for large ones, and 25 for the co-occurrence
/// bundles cut from the real MiniLM data (each run computes a 4,096 x 4,096 histogram), so that
/// the whole run stays well under a minute in the debug test profile.
fn mutants_for(target: &str, seed: &[u8]) -> usize {
    match target {
        "cooccurrence" if seed.len() > 2048 => 25,
        "cooccurrence" => 1000,
        _ => (2000 * 4096 / seed.len().max(4096)).max(50),
    }
}

#[test]
fn seeded_mutations_do_not_panic() {
    let start = Instant::now();
    let mut rng = Rng(0x5ae6_e0a1_f022_2024);
    let mut failures = Vec::new();
    let mut ran = 0usize;
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-replay-failures");
    for target in fuzzing::TARGETS {
        let t0 = Instant::now();
        let mut ran_here = 0usize;
        for path in files("seeds", target) {
            let seed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for i in 0..mutants_for(target, &seed) {
                let m = mutate(&seed, &mut rng);
                ran_here += 1;
                if let Err(msg) = try_run(target, &m) {
                    let _ = std::fs::create_dir_all(&out_dir);
                    let name = format!("{target}-{}-{i}", path.file_name().unwrap().to_string_lossy());
                    let saved = out_dir.join(&name);
                    let _ = std::fs::write(&saved, &m);
                    failures.push(format!(
                        "target {target}: mutant {i} of {} panicked ({msg}); saved as {}",
                        path.display(),
                        saved.display()
                    ));
                }
            }
        }
        println!("fuzz mutations: {target}: {ran_here} inputs in {:.1} s", t0.elapsed().as_secs_f64());
        ran += ran_here;
    }
    println!("fuzz mutations: {ran} inputs in {:.1} s", start.elapsed().as_secs_f64());
    assert!(ran > 0, "no seeds under {}", fuzz_dir().join("seeds").display());
    assert!(failures.is_empty(), "{} mutants panicked:\n{}", failures.len(), failures.join("\n"));
}

/// The findings' fixes give the documented errors, not just no panic: a co-occurrence bundle whose
/// metadata declares more features than the N x N histogram may have is refused as too large,
/// before anything N x N is allocated, with the limit in the message.
#[test]
fn oversized_cooccurrence_bundles_are_refused_before_allocating() {
    use sae_geometry::analysis::lobes::{counted_firings, read_cooccurrence_with, MAX_HISTOGRAM_FEATURES};
    let dir = fuzz_dir().join("regressions").join("cooccurrence");
    for name in ["firings-n_features-overflow.safetensors", "firings-n_features-40000-oom.safetensors"] {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let Err(e) = read_cooccurrence_with(&bytes, name, None, &mut |_| {}) else {
            panic!("{name}: accepted");
        };
        assert_eq!(e.kind(), "too-large", "{name}: {e}");
        assert!(e.to_string().contains(&MAX_HISTOGRAM_FEATURES.to_string()), "{name}: {e}");
        let Err(e) = counted_firings(&bytes, name) else { panic!("{name}: counted") };
        assert_eq!(e.kind(), "too-large", "{name}: {e}");
    }
}
