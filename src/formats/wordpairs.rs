//! Word-pair task files (Todd et al. 2023 function-vector tasks): a JSON list of
//! `{"input": ..., "output": ...}` objects, e.g. `{"input": "Austria", "output": "Vienna"}`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::error::FormatError;

/// One pair of a task: `input` -> `output` (country -> capital, present -> past, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordPair {
    pub input: String,
    pub output: String,
}

/// Parses a task file; empty words and an empty list are errors.
pub fn parse(text: &str, file_name: &str) -> Result<Vec<WordPair>, FormatError> {
    let pairs: Vec<WordPair> = serde_json::from_str(text).map_err(|e| FormatError::BadHeader {
        format: "word-pair JSON",
        reason: format!("{file_name}: expected a list of {{\"input\": ..., \"output\": ...}} objects ({e})"),
    })?;
    if pairs.is_empty() {
        return Err(FormatError::Empty { name: file_name.to_string() });
    }
    if let Some(i) = pairs.iter().position(|p| p.input.trim().is_empty() || p.output.trim().is_empty()) {
        return Err(FormatError::BadHeader {
            format: "word-pair JSON",
            reason: format!("{file_name}: pair #{} has an empty word", i + 1),
        });
    }
    Ok(pairs)
}

/// One task's pairs, as indices into [`CrystalSet::words`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskPairs {
    pub name: String,
    pub pairs: Vec<[u32; 2]>,
    /// Pairs in the task file.
    pub total: usize,
    /// Pairs dropped (a word out of the vocabulary, or a duplicate pair).
    pub dropped: usize,
}

/// The words and task pairs of one crystal source (a model's tokenisation, or GloVe's vocabulary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrystalSet {
    /// Where the vectors come from (e.g. "all-MiniLM-L6-v2 residual stream", "GloVe 6B 50d").
    pub source: String,
    pub words: Vec<String>,
    /// Per word, the string of the token whose residual was taken (MiniLM: the last real token,
    /// e.g. "##na"); empty for GloVe. The word-length distractor uses its length.
    #[serde(default)]
    pub last_token: Vec<String>,
    pub tasks: Vec<TaskPairs>,
    /// Free-form provenance.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Builds the word list and pair indices. `normalise` maps a word to the form looked up (GloVe:
/// lower case); `keep` says whether a normalised word has a vector. Words are listed in order of
/// first appearance; a pair whose words are missing, or that repeats, is dropped and counted.
pub fn build_set(
    source: &str,
    tasks: &[(String, Vec<WordPair>)],
    normalise: &dyn Fn(&str) -> String,
    keep: &dyn Fn(&str) -> bool,
) -> CrystalSet {
    let mut words = Vec::new();
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut out = Vec::new();
    for (name, pairs) in tasks {
        let mut seen = std::collections::HashSet::new();
        let mut kept = Vec::new();
        for p in pairs {
            let (a, b) = (normalise(&p.input), normalise(&p.output));
            if !keep(&a) || !keep(&b) || !seen.insert((a.clone(), b.clone())) {
                continue;
            }
            let mut id = |w: String| {
                *index.entry(w.clone()).or_insert_with(|| {
                    words.push(w);
                    (words.len() - 1) as u32
                })
            };
            kept.push([id(a), id(b)]);
        }
        out.push(TaskPairs { name: name.clone(), total: pairs.len(), dropped: pairs.len() - kept.len(), pairs: kept });
    }
    CrystalSet { source: source.to_string(), words, last_token: Vec::new(), tasks: out, metadata: BTreeMap::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let p = parse(r#"[{"input": "Austria", "output": "Vienna"}]"#, "t.json").unwrap();
        assert_eq!(p[0].output, "Vienna");
        assert_eq!(parse("[]", "t.json").unwrap_err().kind(), "empty");
        assert_eq!(parse(r#"[{"input": "", "output": "x"}]"#, "t.json").unwrap_err().kind(), "bad-header");
        assert_eq!(parse(r#"{"input": "a"}"#, "t.json").unwrap_err().kind(), "bad-header");
    }

    fn pair(a: &str, b: &str) -> WordPair {
        WordPair { input: a.into(), output: b.into() }
    }

    #[test]
    fn builds_indices_and_counts_drops() {
        let tasks = vec![
            ("capital".to_string(), vec![pair("Austria", "Vienna"), pair("France", "Paris"), pair("Austria", "Vienna")]),
            ("lang".to_string(), vec![pair("France", "French"), pair("Xx", "y")]),
        ];
        let set = build_set("t", &tasks, &|w| w.to_lowercase(), &|w| w != "xx");
        assert_eq!(set.words, vec!["austria", "vienna", "france", "paris", "french"]);
        assert_eq!(set.tasks[0].pairs, vec![[0, 1], [2, 3]]);
        assert_eq!((set.tasks[0].total, set.tasks[0].dropped), (3, 1));
        assert_eq!(set.tasks[1].pairs, vec![[2, 4]]);
        assert_eq!(set.tasks[1].dropped, 1);
    }
}
