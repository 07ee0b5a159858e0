//! `sae-geometry bench paper`: every scale at the paper's sizes, run by the reference Python
//! pipeline (numpy / scipy / scikit-learn, `benches/*_reference.py`), by this CLI, and by the app in
//! headless Chromium (`benches/paper_browser.mjs`), one after the other on the same files, each
//! as a whole process: wall time, peak memory, and the answers side by side; the ratios last.
//!
//! The workloads ([`super::paper_workloads`]) are written once into `--dir` and reused.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::args::BenchPaperArgs;
use super::paper_workloads::{ensure_crystals, ensure_decoder, ensure_firings, WorkloadFiles};
use super::CliError;

/// One workload of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Galaxy scale of a 16384 x 2304 decoder: spectrum, power law, log-volume, isotropic
    /// reference, clustering entropy of both (the paper's defaults).
    Galaxy16k,
    /// The same of a 65536 x 2304 decoder.
    Galaxy65k,
    /// Brain scale: 16384 features over 20,000 chunks, k = 2, Phi.
    Lobes20k,
    /// The same over 200,000 chunks.
    Lobes200k,
    /// Atom scale: the paper's 12 word-pair tasks (18,921 distinct pairs) at d = 2304.
    Crystals,
}

impl Workload {
    pub const ALL: [Workload; 5] = [Workload::Galaxy16k, Workload::Galaxy65k, Workload::Lobes20k, Workload::Lobes200k, Workload::Crystals];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Galaxy16k => "galaxy-16k",
            Workload::Galaxy65k => "galaxy-65k",
            Workload::Lobes20k => "lobes-20k",
            Workload::Lobes200k => "lobes-200k",
            Workload::Crystals => "crystals",
        }
    }

    pub fn parse(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == s)
    }
}

/// Who runs a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    Python,
    Native,
    Browser,
}

impl Runner {
    pub const ALL: [Runner; 3] = [Runner::Python, Runner::Native, Runner::Browser];

    pub fn name(self) -> &'static str {
        match self {
            Runner::Python => "python",
            Runner::Native => "native",
            Runner::Browser => "browser",
        }
    }

    pub fn parse(s: &str) -> Option<Runner> {
        Runner::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// What one runner measured on one workload.
#[derive(Debug, Clone)]
struct Measured {
    seconds: f64,
    /// Largest resident set of the process (VmHWM), bytes; the browser's is its renderer process's.
    peak_bytes: Option<u64>,
    /// The answers, by name (the same names for every runner).
    answers: Vec<(String, f64)>,
    note: String,
}

/// A finished child process: its stdout, wall time and peak resident memory.
struct Finished {
    stdout: String,
    seconds: f64,
    peak_bytes: Option<u64>,
}

/// Peak resident memory of a live process (`VmHWM` of /proc/PID/status), bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `program args` to the end, timing it and sampling its peak memory every 20 ms (VmHWM only
/// grows, so the last sample before the exit is the peak up to its last 20 ms).
fn run_timed(program: &str, args: &[String], cwd: &Path) -> Result<Finished, CliError> {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| CliError::Other(format!("cannot start {program}: {e}")))?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let pid = child.id();
    let mut peak = None;
    let status = loop {
        if let Some(p) = peak_rss(pid) {
            peak = Some(p);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(CliError::Other(format!("{program}: {e}"))),
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let stdout = reader.join().ok().and_then(|r| r.ok()).unwrap_or_default();
    if !status.success() {
        return Err(CliError::Other(format!("{program} {} failed ({status})", args.join(" "))));
    }
    Ok(Finished { stdout, seconds, peak_bytes: peak })
}

/// The last line of `stdout` that parses as JSON.
fn last_json(stdout: &str, who: &str) -> Result<Value, CliError> {
    stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .ok_or_else(|| CliError::Other(format!("{who} printed no JSON")))
}

/// `v` at the JSON pointer `path` as a number.
fn number(v: &Value, path: &str) -> Option<f64> {
    v.pointer(path).and_then(Value::as_f64)
}

fn answers(v: &Value, picks: &[(&str, &str)]) -> Vec<(String, f64)> {
    picks.iter().filter_map(|(name, path)| number(v, path).map(|x| (name.to_string(), x))).collect()
}

/// The files one workload reads, written if absent.
struct Inputs {
    decoder: Option<PathBuf>,
    firings: Option<PathBuf>,
    crystals: Option<PathBuf>,
    /// The crystal set's words file.
    words: Option<PathBuf>,
}

fn prepare(w: Workload, files: &WorkloadFiles, a: &BenchPaperArgs, log: &mut dyn FnMut(&str)) -> Result<Inputs, CliError> {
    let mut inputs = Inputs { decoder: None, firings: None, crystals: None, words: None };
    match w {
        Workload::Galaxy16k => inputs.decoder = Some(ensure_decoder(files, 16384, a.seed, log)?),
        Workload::Galaxy65k => inputs.decoder = Some(ensure_decoder(files, 65536, a.seed, log)?),
        Workload::Lobes20k | Workload::Lobes200k => {
            let chunks = if w == Workload::Lobes20k { 20_000 } else { 200_000 };
            inputs.decoder = Some(ensure_decoder(files, 16384, a.seed, log)?);
            inputs.firings = Some(ensure_firings(files, 16384, chunks, a.seed, log)?);
        }
        Workload::Crystals => {
            inputs.crystals = Some(ensure_crystals(files, &a.word_pairs, a.seed, log)?);
            inputs.words = Some(files.crystal_words());
        }
    }
    Ok(inputs)
}

fn path_arg(p: &Option<PathBuf>) -> String {
    p.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
}

/// The answers compared across runners, per scale: (name, JSON pointer) in the CLI's output, the
/// Python reference's, and the browser script's.
const GALAXY_CLI: &[(&str, &str)] = &[
    ("slope", "/power_law/slope"),
    ("log_volume", "/log_volume"),
    ("isotropic_slope", "/isotropic_slope"),
    ("clustering_entropy", "/entropy/clustering"),
    ("isotropic_clustering_entropy", "/isotropic_entropy/clustering"),
];
const GALAXY_REF: &[(&str, &str)] = &[
    ("slope", "/slope"),
    ("log_volume", "/log_volume"),
    ("isotropic_slope", "/isotropic_slope"),
    ("clustering_entropy", "/clustering"),
    ("isotropic_clustering_entropy", "/isotropic_clustering"),
];
const LOBES_CLI: &[(&str, &str)] = &[("ami", "/ami"), ("balanced_accuracy", "/balanced_accuracy")];
const LOBES_REF: &[(&str, &str)] = &[("ami", "/ami"), ("balanced_accuracy", "/balanced_accuracy")];
const CRYSTALS_CLI: &[(&str, &str)] = &[
    ("silhouette_raw", "/silhouette_raw"),
    ("silhouette_lda_11", "/silhouette_lda/11"),
    ("word_length_r", "/word_length/r"),
];
const CRYSTALS_REF: &[(&str, &str)] = &[
    ("silhouette_raw", "/silhouette_raw"),
    ("silhouette_lda_11", "/silhouette_lda/11"),
    ("word_length_r", "/word_length_r"),
];

fn run_python(w: Workload, inputs: &Inputs, a: &BenchPaperArgs, root: &Path) -> Result<Measured, CliError> {
    let py = |args: &[&str]| run_timed(&a.python, &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(), root);
    match w {
        Workload::Galaxy16k | Workload::Galaxy65k => {
            let dec = path_arg(&inputs.decoder);
            let spectrum = py(&["benches/galaxy_reference.py", &dec])?;
            let entropy = py(&["benches/entropy_reference.py", &dec, "--isotropic", "--json"])?;
            let mut v = last_json(&spectrum.stdout, "galaxy_reference.py")?;
            let e = last_json(&entropy.stdout, "entropy_reference.py")?;
            v["clustering"] = e["clustering"].clone();
            v["isotropic_clustering"] = e["isotropic_clustering"].clone();
            Ok(Measured {
                seconds: spectrum.seconds + entropy.seconds,
                peak_bytes: spectrum.peak_bytes.max(entropy.peak_bytes),
                answers: answers(&v, GALAXY_REF),
                note: format!("spectrum {:.1} s + entropy {:.1} s", spectrum.seconds, entropy.seconds),
            })
        }
        Workload::Lobes20k | Workload::Lobes200k => {
            let trials = a.null_trials.to_string();
            let run = py(&[
                "benches/lobes_reference.py",
                &path_arg(&inputs.decoder),
                &path_arg(&inputs.firings),
                "--k",
                "2",
                "--null-trials",
                &trials,
            ])?;
            let v = last_json(&run.stdout, "lobes_reference.py")?;
            Ok(Measured { seconds: run.seconds, peak_bytes: run.peak_bytes, answers: answers(&v, LOBES_REF), note: stage_seconds(&v) })
        }
        Workload::Crystals => {
            let vectors = path_arg(&inputs.crystals);
            let words = path_arg(&inputs.words);
            let run = py(&["benches/crystals_reference.py", &vectors, &words])?;
            let v = last_json(&run.stdout, "crystals_reference.py")?;
            Ok(Measured { seconds: run.seconds, peak_bytes: run.peak_bytes, answers: answers(&v, CRYSTALS_REF), note: stage_seconds(&v) })
        }
    }
}

/// A reference script's `seconds` object as "stage 1.2, ...", without its total.
fn stage_seconds(v: &Value) -> String {
    v["seconds"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| *k != "total")
                .map(|(k, s)| format!("{k} {:.1}", s.as_f64().unwrap_or(0.0)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn run_native(w: Workload, inputs: &Inputs, a: &BenchPaperArgs, root: &Path) -> Result<Measured, CliError> {
    let exe = std::env::current_exe().map_err(|e| CliError::Other(format!("cannot find this program: {e}")))?;
    let exe = exe.display().to_string();
    let cli = |args: Vec<String>| run_timed(&exe, &args, root);
    let s = |x: &str| x.to_string();
    let (run, picks) = match w {
        Workload::Galaxy16k | Workload::Galaxy65k => (cli(vec![s("analyze"), s("galaxy"), path_arg(&inputs.decoder)])?, GALAXY_CLI),
        Workload::Lobes20k | Workload::Lobes200k => (
            cli(vec![
                s("analyze"),
                s("lobes"),
                path_arg(&inputs.decoder),
                path_arg(&inputs.firings),
                s("--k"),
                s("2"),
                s("--null-trials"),
                a.null_trials.to_string(),
                s("--brief"),
            ])?,
            LOBES_CLI,
        ),
        Workload::Crystals => (cli(vec![s("analyze"), s("crystals"), path_arg(&inputs.crystals)])?, CRYSTALS_CLI),
    };
    let v = last_json(&run.stdout, "sae-geometry")?;
    Ok(Measured {
        seconds: run.seconds,
        peak_bytes: run.peak_bytes,
        answers: answers(&v, picks),
        note: format!("{} threads", crate::compute::par::threads()),
    })
}

fn run_browser(w: Workload, inputs: &Inputs, a: &BenchPaperArgs, root: &Path) -> Result<Measured, CliError> {
    let mut args = vec!["benches/paper_browser.mjs".to_string(), w.name().to_string()];
    for p in [&inputs.decoder, &inputs.firings, &inputs.crystals, &inputs.words].into_iter().flatten() {
        args.push(p.display().to_string());
    }
    args.push(format!("--null-trials={}", a.null_trials));
    let run = run_timed(&a.node, &args, root)?;
    let v = last_json(&run.stdout, "paper_browser.mjs")?;
    if let Some(err) = v.get("error").and_then(Value::as_str) {
        return Err(CliError::Other(format!("browser: {err}")));
    }
    let picks = match w {
        Workload::Galaxy16k | Workload::Galaxy65k => GALAXY_REF,
        Workload::Lobes20k | Workload::Lobes200k => LOBES_REF,
        Workload::Crystals => CRYSTALS_REF,
    };
    Ok(Measured {
        seconds: number(&v, "/seconds").unwrap_or(run.seconds),
        peak_bytes: number(&v, "/peak_bytes").map(|b| b as u64),
        answers: answers(&v, picks),
        note: v.get("note").and_then(Value::as_str).unwrap_or("").to_string(),
    })
}

/// Answers that depend on random draws (the isotropic Gaussian cloud, the entropy's samples and
/// resamples), which numpy and this crate make with different generators.
const RANDOM_ANSWERS: &[&str] = &["isotropic_slope", "clustering_entropy", "isotropic_clustering_entropy"];

/// Each workload's row: what each runner measured, or why it failed.
type Results = Vec<(Workload, Vec<(Runner, Result<Measured, String>)>)>;

fn mb(b: Option<u64>) -> String {
    b.map_or("-".into(), |b| format!("{:.0}", b as f64 / 1e6))
}

/// `sae-geometry bench paper`.
pub fn paper(a: &BenchPaperArgs) -> Result<(), CliError> {
    let workloads: Vec<Workload> = a
        .workloads
        .split(',')
        .map(|s| Workload::parse(s.trim()).ok_or_else(|| CliError::Other(format!("unknown workload {s:?}; the workloads are {}", Workload::ALL.map(Workload::name).join(", ")))))
        .collect::<Result<_, _>>()?;
    let runners: Vec<Runner> = a
        .runners
        .split(',')
        .map(|s| Runner::parse(s.trim()).ok_or_else(|| CliError::Other(format!("unknown runner {s:?}; the runners are python, native, browser"))))
        .collect::<Result<_, _>>()?;
    std::fs::create_dir_all(&a.dir).map_err(|source| CliError::Write { path: a.dir.display().to_string(), source })?;
    let files = WorkloadFiles { dir: a.dir.canonicalize().unwrap_or_else(|_| a.dir.clone()) };
    let root = std::env::current_dir().map_err(|e| CliError::Other(e.to_string()))?;
    let mut log = |s: &str| eprintln!("[bench paper] {s}");
    let mut results: Results = Vec::new();
    for &w in &workloads {
        let inputs = prepare(w, &files, a, &mut log)?;
        let mut row = Vec::new();
        for &r in &runners {
            log(&format!("{} on {}", w.name(), r.name()));
            let m = match r {
                Runner::Python => run_python(w, &inputs, a, &root),
                Runner::Native => run_native(w, &inputs, a, &root),
                Runner::Browser => run_browser(w, &inputs, a, &root),
            };
            match &m {
                Ok(m) => log(&format!("  {:.1} s, peak {} MB, {}", m.seconds, mb(m.peak_bytes), m.note)),
                Err(e) => log(&format!("  failed: {e}")),
            }
            row.push((r, m.map_err(|e| e.to_string())));
        }
        results.push((w, row));
    }
    print_report(&results, a);
    Ok(())
}

fn print_report(results: &Results, a: &BenchPaperArgs) {
    println!();
    println!("## Answers (each runner on the same files; in brackets the relative difference from the Python reference)");
    for (w, row) in results {
        println!("{}:", w.name());
        let reference = row.iter().find(|(r, _)| *r == Runner::Python).and_then(|(_, m)| m.as_ref().ok());
        for (r, m) in row {
            match m {
                Ok(m) => println!(
                    "  {:<8} {}",
                    r.name(),
                    m.answers
                        .iter()
                        .map(|(k, v)| {
                            let rel = reference
                                .filter(|_| *r != Runner::Python)
                                .and_then(|p| p.answers.iter().find(|(pk, _)| pk == k))
                                .map(|(_, p)| format!(" [{:.1e}]", (v - p).abs() / p.abs().max(f64::MIN_POSITIVE)))
                                .unwrap_or_default();
                            let rng = if RANDOM_ANSWERS.contains(&k.as_str()) { "*" } else { "" };
                            format!("{k}{rng} {v:.6}{rel}")
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Err(e) => println!("  {:<8} failed: {e}", r.name()),
            }
        }
    }
    println!("  (* drawn with random numbers: numpy's generators differ from ours, so these agree only up to sampling noise)");
    println!();
    println!("## Time and peak memory (whole process; browser: from the click, the renderer process)");
    println!("{:<12} {:<8} {:>10} {:>10}  notes", "workload", "runner", "seconds", "peak MB");
    for (w, row) in results {
        for (r, m) in row {
            if let Ok(m) = m {
                println!("{:<12} {:<8} {:>10.2} {:>10}  {}", w.name(), r.name(), m.seconds, mb(m.peak_bytes), m.note);
            }
        }
    }
    println!();
    println!(
        "## Ratios: the Python reference's time / ours (higher is faster; the goal: native >= 3, browser >= 1). {} null trials for the lobes; machine: {} cores, {}",
        a.null_trials,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::consts::ARCH
    );
    for (w, row) in results {
        let time = |who: Runner| row.iter().find(|(r, _)| *r == who).and_then(|(_, m)| m.as_ref().ok()).map(|m| m.seconds);
        let Some(python) = time(Runner::Python) else { continue };
        let ratio = |who: Runner| time(who).map_or("-".to_string(), |s| format!("{:.1}x", python / s));
        println!("{:<12} native {:>7}   browser {:>7}", w.name(), ratio(Runner::Native), ratio(Runner::Browser));
    }
}
