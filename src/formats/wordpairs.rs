//! Word-pair task files (Todd et al. 2023 function-vector tasks): a JSON list of
//! `{"input": ..., "output": ...}` objects, e.g. `{"input": "Austria", "output": "Vienna"}`.

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
}
