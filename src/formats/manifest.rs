//! The app's `public/data/manifest.json`: the list of bundled datasets.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::error::FormatError;

/// The whole manifest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Manifest {
    pub datasets: Vec<DatasetEntry>,
}

/// One bundled dataset: a point matrix in `file` (relative to the manifest), tensor `tensor`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DatasetEntry {
    /// Unique, non-empty identifier (used in URLs and the UI).
    pub id: String,
    /// Human-readable title.
    pub title: String,
    /// File name relative to the manifest's folder; no `..` components, no leading `/`.
    pub file: String,
    /// Array name inside the file (npz/safetensors), or the file name for `.npy`.
    pub tensor: String,
    /// What the data is: `"points"` (a point matrix: SAE decoder rows, embeddings),
    /// `"cooccurrence"` (per-chunk firings, see [`super::bundle`]) or `"crystals"`.
    pub kind: String,
    /// Datasets that belong together (e.g. one SAE per layer of one model) share a group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The layer within the group, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// Number of points (rows).
    pub n: usize,
    /// Dimension of each point (columns).
    pub d: usize,
    /// Stored dtype, as [`super::Dtype`] displays it ("f16", "f32", ...).
    pub dtype: String,
    /// File size in bytes.
    pub bytes: u64,
    /// Longer description.
    pub description: String,
    /// Where the data came from (URL or citation).
    pub source: String,
    /// Free-form extra information.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl Manifest {
    /// Replaces the entry with `entry`'s id, or appends `entry` if there is none.
    pub fn upsert(&mut self, entry: DatasetEntry) {
        match self.datasets.iter_mut().find(|e| e.id == entry.id) {
            Some(slot) => *slot = entry,
            None => self.datasets.push(entry),
        }
    }
}

/// The `points` datasets that belong to a group (only `group`'s if given), ordered by group, then
/// layer (datasets without a layer last in their group), then id: the layers of a layer sweep.
pub fn grouped_points(datasets: impl IntoIterator<Item = DatasetEntry>, group: Option<&str>) -> Vec<DatasetEntry> {
    let mut entries: Vec<DatasetEntry> = datasets
        .into_iter()
        .filter(|e| e.kind == "points" && e.group.is_some())
        .filter(|e| group.is_none_or(|g| e.group.as_deref() == Some(g)))
        .collect();
    entries.sort_by(|a, b| (&a.group, a.layer.is_none(), a.layer, &a.id).cmp(&(&b.group, b.layer.is_none(), b.layer, &b.id)));
    entries
}

/// Parses and validates a manifest (see [`validate`]).
pub fn parse(text: &str) -> Result<Manifest, FormatError> {
    let manifest: Manifest = serde_json::from_str(text)
        .map_err(|e| FormatError::Manifest(format!("not a valid manifest.json ({e})")))?;
    validate(&manifest)?;
    Ok(manifest)
}

/// Checks that ids are non-empty and unique and that file names are safe relative paths.
pub fn validate(manifest: &Manifest) -> Result<(), FormatError> {
    let mut seen = BTreeSet::new();
    for (i, d) in manifest.datasets.iter().enumerate() {
        if d.id.trim().is_empty() {
            return Err(FormatError::Manifest(format!(
                "dataset #{} has an empty id; give every dataset a unique id",
                i + 1
            )));
        }
        if !seen.insert(d.id.as_str()) {
            return Err(FormatError::Manifest(format!(
                "the id '{}' is used by more than one dataset; ids must be unique",
                d.id
            )));
        }
        check_file_name(&d.id, &d.file)?;
    }
    Ok(())
}

/// Serializes a manifest as pretty JSON (what `parse` reads back).
pub fn to_json(manifest: &Manifest) -> String {
    serde_json::to_string_pretty(manifest).unwrap_or_default()
}

fn check_file_name(id: &str, file: &str) -> Result<(), FormatError> {
    let problem = if file.is_empty() {
        Some("is empty")
    } else if file.starts_with('/') || file.starts_with('\\') {
        Some("starts with '/'")
    } else if file.split(['/', '\\']).any(|part| part == "..") {
        Some("contains '..'")
    } else if file.contains(':') {
        Some("contains ':' (a URL scheme or drive letter)")
    } else {
        None
    };
    match problem {
        Some(p) => Err(FormatError::Manifest(format!(
            "dataset '{id}': file '{file}' {p}; use a plain path relative to the manifest's folder"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, file: &str) -> DatasetEntry {
        DatasetEntry {
            id: id.into(),
            title: "Gemma Scope L12 16k".into(),
            file: file.into(),
            tensor: "W_dec".into(),
            kind: "points".into(),
            group: None,
            layer: None,
            n: 16384,
            d: 2304,
            dtype: "f16".into(),
            bytes: 75_497_600,
            description: "decoder directions".into(),
            source: "https://huggingface.co/google/gemma-scope-2b-pt-res".into(),
            metadata: BTreeMap::new(),
        }
    }

    #[test]
    fn round_trip_and_default_metadata() {
        let m = Manifest {
            datasets: vec![entry("a", "a.safetensors"), entry("b", "sub/b.npz")],
        };
        assert_eq!(parse(&to_json(&m)).unwrap(), m);
        let text = r#"{"datasets":[{"id":"x","title":"t","file":"x.npy","tensor":"x.npy","kind":"points",
            "n":3,"d":2,"dtype":"f32","bytes":152,"description":"","source":""}]}"#;
        let m = parse(text).unwrap();
        assert!(m.datasets[0].metadata.is_empty());
        assert!(parse(r#"{"datasets":[]}"#).unwrap().datasets.is_empty());
    }

    #[test]
    fn error_manifest_cases() {
        let bad = [
            Manifest {
                datasets: vec![entry("", "a.npy")],
            },
            Manifest {
                datasets: vec![entry("a", "a.npy"), entry("a", "b.npy")],
            },
            Manifest {
                datasets: vec![entry("a", "../secret.npy")],
            },
            Manifest {
                datasets: vec![entry("a", "x/../../y.npy")],
            },
            Manifest {
                datasets: vec![entry("a", "/etc/passwd")],
            },
            Manifest {
                datasets: vec![entry("a", "")],
            },
            Manifest {
                datasets: vec![entry("a", "https://evil/x.npy")],
            },
        ];
        for m in bad {
            let e = parse(&to_json(&m)).unwrap_err();
            assert_eq!(e.kind(), "manifest", "{e}");
        }
        for text in [
            "",
            "[]",
            "{}",
            r#"{"datasets":[{"id":"x"}]}"#,
            r#"{"datasets":[{"id":1}]}"#,
        ] {
            assert_eq!(parse(text).unwrap_err().kind(), "manifest", "{text}");
        }
        let e = parse(&to_json(&Manifest {
            datasets: vec![entry("a", "a.npy"), entry("a", "b.npy")],
        }))
        .unwrap_err();
        assert!(e.to_string().contains("'a'") && e.to_string().contains("unique"));
    }
}
