//! The multi-domain corpus (`mini-pile.jsonl`: one JSON object a line with `id`, `category`,
//! `text`, ...) and its seeded held-out split.

use std::path::Path;

use rand::seq::SliceRandom;
use serde::Deserialize;

use super::PipelineError;
use crate::geometry::stats::seeded_rng;

/// One document.
#[derive(Debug, Clone, Deserialize)]
pub struct Document {
    pub id: String,
    pub category: String,
    pub text: String,
}

/// All documents, their categories (sorted names) and which are held out.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub documents: Vec<Document>,
    pub categories: Vec<String>,
    /// Index into `categories`, per document.
    pub category_of: Vec<u16>,
    /// Per document: held out of SAE training and used for lobe specialisation.
    pub heldout: Vec<bool>,
}

/// Reads the corpus and holds out `round(fraction * n)` documents chosen by a seeded shuffle.
pub fn read_corpus(path: &Path, heldout_fraction: f64, seed: u64) -> Result<Corpus, PipelineError> {
    let text = std::fs::read_to_string(path).map_err(|e| PipelineError::io(path, e))?;
    let mut documents = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let doc: Document = serde_json::from_str(line)
            .map_err(|e| PipelineError::Input(format!("{}: line {}: {e}", path.display(), i + 1)))?;
        documents.push(doc);
    }
    if documents.is_empty() {
        return Err(PipelineError::Input(format!("{}: no documents", path.display())));
    }
    let mut categories: Vec<String> = documents.iter().map(|d| d.category.clone()).collect();
    categories.sort();
    categories.dedup();
    let category_of =
        documents.iter().map(|d| categories.binary_search(&d.category).unwrap_or(0) as u16).collect();
    let mut order: Vec<usize> = (0..documents.len()).collect();
    order.shuffle(&mut seeded_rng(seed));
    let n_heldout = (heldout_fraction * documents.len() as f64).round() as usize;
    let mut heldout = vec![false; documents.len()];
    for &i in &order[..n_heldout.min(documents.len())] {
        heldout[i] = true;
    }
    Ok(Corpus { documents, categories, category_of, heldout })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_splits_reproducibly() {
        let dir = std::env::temp_dir().join(format!("sae-geometry-corpus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.jsonl");
        let lines: Vec<String> = (0..50)
            .map(|i| format!(r#"{{"id": "d{i}", "category": "{}", "text": "text {i}", "license": "x"}}"#, ["b", "a"][i % 2]))
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        let c = read_corpus(&path, 0.1, 7).unwrap();
        assert_eq!(c.categories, vec!["a", "b"]);
        assert_eq!(c.category_of[0], 1);
        assert_eq!(c.heldout.iter().filter(|h| **h).count(), 5);
        assert_eq!(read_corpus(&path, 0.1, 7).unwrap().heldout, c.heldout);
        assert_ne!(read_corpus(&path, 0.1, 8).unwrap().heldout, c.heldout);
    }
}
