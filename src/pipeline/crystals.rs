//! Word-pair crystal sets: the words of the function-vector tasks, their pairs as indices into
//! one word list, and (per source) one vector per word.

use std::path::Path;

use super::PipelineError;
use crate::formats::wordpairs::{self, WordPair};
pub use crate::formats::wordpairs::{build_set, CrystalSet, TaskPairs};

/// Reads every `*.json` task of `dir`, sorted by name.
pub fn read_tasks(dir: &Path) -> Result<Vec<(String, Vec<WordPair>)>, PipelineError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| PipelineError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut tasks = Vec::new();
    for path in files {
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(|e| PipelineError::io(&path, e))?;
        let pairs = wordpairs::parse(&text, &name).map_err(|e| PipelineError::Input(e.to_string()))?;
        tasks.push((name, pairs));
    }
    if tasks.is_empty() {
        return Err(PipelineError::Input(format!("{}: no word-pair task files (*.json)", dir.display())));
    }
    Ok(tasks)
}
