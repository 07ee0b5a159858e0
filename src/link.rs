//! The app's shareable state as the query of its address: which data, which page, and every
//! parameter that changes a number shown, so that opening a copied link reproduces the same
//! numbers and view. Pure (no browser), so the encoding is tested natively.
//!
//! ```text
//! ?dataset=minilm-l6-topk4096-layer3&page=galaxy&ranks=11-150&seed=0&entropy=5000,100,30,1
//! ?data=https://example.org/sae/params.safetensors&tensor=W_dec&embed=1
//! ?dataset=minilm-l6-topk4096-layer3&page=lobes&sae=minilm-l6-topk4096-layer3&affinity=phi&k=3&trials=100&lobes-seed=42
//! ```

use std::collections::BTreeMap;

use crate::chart_view::Zoom;
use crate::geometry::affinity::Affinity;
use crate::geometry::entropy::EntropyParams;
use crate::geometry::galaxy::{GalaxyParams, RankRange};
use crate::neuronpedia::NeuronpediaSae;

/// Where the data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSource {
    /// A dataset of the app's `data/manifest.json`, by id.
    Bundled(String),
    /// A file on the web (`?data=URL`), read with range requests where its server allows them.
    Remote(String),
}

impl LinkSource {
    /// The name a remote file is shown and reported under: the last segment of its path.
    pub fn remote_name(url: &str) -> String {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or(path);
        if last.is_empty() { url.to_string() } else { last.to_string() }
    }
}

/// The 3D view's camera: rotation about the vertical axis (yaw) and the horizontal axis (pitch),
/// in radians, and a zoom factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera3d {
    pub yaw: f64,
    pub pitch: f64,
    pub zoom: f64,
}

impl Default for Camera3d {
    fn default() -> Self {
        Camera3d { yaw: 0.6, pitch: 0.35, zoom: 1.0 }
    }
}

impl Camera3d {
    /// `YAW,PITCH,ZOOM` with three decimals (a thousandth of a radian is below a pixel's turn).
    pub fn to_text(&self) -> String {
        format!("{:.3},{:.3},{:.3}", self.yaw, self.pitch, self.zoom)
    }

    /// The inverse of [`Camera3d::to_text`]: finite numbers, |pitch| <= 1.55, zoom in [0.2, 40].
    pub fn parse(text: &str) -> Option<Camera3d> {
        let v: Vec<f64> = text.split(',').map(|p| p.trim().parse::<f64>().ok().filter(|x| x.is_finite())).collect::<Option<_>>()?;
        let [yaw, pitch, zoom] = v[..] else { return None };
        (pitch.abs() <= 1.55 && (0.2..=40.0).contains(&zoom)).then_some(Camera3d { yaw, pitch, zoom })
    }
}

/// The state a link carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub source: Option<LinkSource>,
    /// The tensor read from npz/safetensors files (`None`: the default choice).
    pub tensor: Option<String>,
    /// The page shown: "galaxy", "lobes", "crystals" or "compute".
    pub page: String,
    /// The galaxy scale's parameters.
    pub galaxy: GalaxyParams,
    /// The lobes page's choices.
    pub lobes: LobesLink,
    /// Selected features (rows of the decoder), ascending.
    pub features: Option<Vec<u32>>,
    /// The crystals page's choices.
    pub crystals: CrystalsLink,
    /// The galaxy page's 3D view, shown with this camera (`None`: not shown).
    pub camera: Option<Camera3d>,
    /// The SAE's id on Neuronpedia, for links from its features (`None`: read from a Gemma Scope
    /// file's path where it can be).
    pub neuronpedia: Option<NeuronpediaSae>,
    /// One plot with minimal chrome, for an iframe.
    pub embed: bool,
    /// This tab's memory budget in MiB (`None`: from the device,
    /// [`crate::analysis::budget::MemoryBudget::for_tab`]).
    pub budget_mib: Option<u64>,
    /// The zoomed charts, by name (the canvas's `data-testid`, e.g. `spectrum-canvas`):
    /// `zoom.NAME=PANEL:XLO,XHI,YLO,YHI;...` ([`Zoom::to_text`]).
    pub zooms: BTreeMap<String, Zoom>,
}

/// The lobes page's choices (its "Find lobes" run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LobesChoice {
    pub affinity: Affinity,
    pub k: usize,
    pub trials: usize,
    pub seed: u64,
}

impl Default for LobesChoice {
    /// The page's defaults: Phi, k = 2, 100 null trials, seed 42.
    fn default() -> Self {
        LobesChoice { affinity: Affinity::Phi, k: 2, trials: 100, seed: 42 }
    }
}

/// The lobes in a link: which SAE, with which choices, and whether a run is shown (a link names
/// the lobes only then, and opening it runs them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LobesLink {
    /// A bundled SAE with co-occurrence data, by id (`None`: the page's own choice).
    pub sae: Option<String>,
    /// The co-occurrence file's address, for lobes of the linked data (`data=` or `dataset=`) with a
    /// co-occurrence file from the web.
    pub cooccurrence: Option<String>,
    pub choice: LobesChoice,
    pub shown: bool,
}

/// The crystals page's choices (its "Analyse crystals" run).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CrystalsLink {
    /// A bundled crystal set, by id (`None`: the page's own choice).
    pub set: Option<String>,
    /// The tasks analysed (`None`: the paper's twelve).
    pub tasks: Option<Vec<String>>,
    /// LDA components kept (`None`: tasks - 1).
    pub components: Option<usize>,
    /// Ledoit-Wolf shrinkage (solver eigen) instead of the paper's plain LDA.
    pub shrinkage: bool,
    /// Silhouettes on this many sampled pairs (`None`: all pairs, exact).
    pub sample: Option<usize>,
    pub shown: bool,
}

/// The pages a link may name.
pub const PAGES: [&str; 4] = ["galaxy", "lobes", "crystals", "compute"];

impl Link {
    /// The link of the app as it opens: no data, the galaxy page, `galaxy` parameters.
    pub fn new(galaxy: GalaxyParams) -> Self {
        Link { source: None, tensor: None, page: PAGES[0].to_string(), galaxy, lobes: LobesLink::default(), features: None, crystals: CrystalsLink::default(), camera: None, neuronpedia: None, embed: false, budget_mib: None, zooms: BTreeMap::new() }
    }

    /// Reads a query (with or without its leading `?`) over `defaults`. Unknown keys are left
    /// alone; values that cannot be read are skipped, each with a message for the user.
    pub fn parse(query: &str, defaults: &Link) -> (Link, Vec<String>) {
        let mut link = defaults.clone();
        let mut problems = Vec::new();
        let query = query.strip_prefix('?').unwrap_or(query);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.trim().to_string();
            let mut bad = |why: &str| problems.push(format!("the link's {key}={value} was ignored: {why}"));
            match key.as_ref() {
                "dataset" if !value.is_empty() => link.source = Some(LinkSource::Bundled(value)),
                "data" if !value.is_empty() => link.source = Some(LinkSource::Remote(value)),
                "tensor" => link.tensor = Some(value).filter(|t| !t.is_empty()),
                "page" => match PAGES.iter().find(|p| **p == value) {
                    Some(p) => link.page = p.to_string(),
                    None => bad(&format!("the pages are {}", PAGES.join(", "))),
                },
                "ranks" => match parse_ranks(&value) {
                    Some(ranks) => link.galaxy.ranks = ranks,
                    None => bad("write the fit's first and last rank as FIRST-LAST, e.g. 11-150"),
                },
                "seed" => match value.parse() {
                    Ok(seed) => link.galaxy.seed = seed,
                    Err(_) => bad("the seed is a whole number"),
                },
                "sample" => match value.parse() {
                    Ok(m) if m >= 1 => link.galaxy.sample = Some(m),
                    _ if value == "all" => link.galaxy.sample = None,
                    _ => bad("sample is all, or the number of features (rows) analysed, at least 1"),
                },
                "budget" => match value.parse() {
                    Ok(m) if m >= 64 => link.budget_mib = Some(m),
                    _ => bad("the memory budget is a whole number of MiB, at least 64"),
                },
                "entropy" => match parse_entropy(&value, link.galaxy.seed) {
                    Some(entropy) => link.galaxy.entropy = entropy,
                    None => bad("write off, or SAMPLES,PCS,RESAMPLES,K, e.g. 5000,100,30,1"),
                },
                "crystals" if !value.is_empty() => {
                    link.crystals.set = Some(value.clone());
                    link.crystals.shown = true;
                }
                "tasks" => {
                    let tasks: Vec<String> = value.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
                    if tasks.len() >= 2 {
                        link.crystals.tasks = Some(tasks);
                        link.crystals.shown = true;
                    } else {
                        bad("name at least two tasks, separated by commas");
                    }
                }
                "lda" => match value.parse() {
                    Ok(m) if m >= 1 => {
                        link.crystals.components = Some(m);
                        link.crystals.shown = true;
                    }
                    _ => bad("the LDA components are a whole number, at least 1"),
                },
                "shrinkage" => match value.as_str() {
                    "none" | "auto" => {
                        link.crystals.shrinkage = value == "auto";
                        link.crystals.shown = true;
                    }
                    _ => bad("shrinkage is none or auto"),
                },
                "pairs" => match value.as_str() {
                    "all" => {
                        link.crystals.sample = None;
                        link.crystals.shown = true;
                    }
                    n => match n.parse() {
                        Ok(n) if n >= 2 => {
                            link.crystals.sample = Some(n);
                            link.crystals.shown = true;
                        }
                        _ => bad("pairs is all, or the number of pairs sampled for the silhouettes"),
                    },
                },
                "camera" => match Camera3d::parse(&value) {
                    Some(c) => link.camera = Some(c),
                    None => bad("write the 3D view's camera as YAW,PITCH,ZOOM, e.g. 0.6,0.35,1 (pitch within ±1.55, zoom 0.2 to 40)"),
                },
                "neuronpedia" => match NeuronpediaSae::parse(&value) {
                    Some(sae) => link.neuronpedia = Some(sae),
                    None => bad("write the SAE's Neuronpedia id as MODEL/SAE, e.g. gemma-2-2b/12-gemmascope-res-16k"),
                },
                "embed" => link.embed = matches!(value.as_str(), "" | "1" | "true" | "yes"),
                "features" => match decode_indices(&value) {
                    Some(f) => link.features = Some(f),
                    None => bad("write the selected features as indices and ranges, e.g. 3,7,10-20 (at most 16 million)"),
                },
                "sae" if !value.is_empty() => {
                    link.lobes.sae = Some(value.clone());
                    link.lobes.shown = true;
                }
                "cooccurrence" if !value.is_empty() => {
                    link.lobes.cooccurrence = Some(value.clone());
                    link.lobes.shown = true;
                }
                "affinity" => match Affinity::parse(&value) {
                    Ok(a) => {
                        link.lobes.choice.affinity = a;
                        link.lobes.shown = true;
                    }
                    Err(e) => bad(&e.to_string()),
                },
                "k" => match value.parse() {
                    Ok(k) if k >= 2 => {
                        link.lobes.choice.k = k;
                        link.lobes.shown = true;
                    }
                    _ => bad("k is a whole number of lobes, at least 2"),
                },
                "trials" => match value.parse() {
                    Ok(t) => {
                        link.lobes.choice.trials = t;
                        link.lobes.shown = true;
                    }
                    Err(_) => bad("the null trials are a whole number"),
                },
                chart if chart.starts_with("zoom.") => {
                    let name = &chart["zoom.".len()..];
                    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                        bad("name a chart after zoom., e.g. zoom.spectrum-canvas");
                    } else if value.is_empty() {
                        link.zooms.remove(name);
                    } else {
                        match Zoom::parse(&value) {
                            Some(z) => {
                                link.zooms.insert(name.to_string(), z);
                            }
                            None => bad("write a chart's zoom as PANEL:XLO,XHI,YLO,YHI (several joined by ;), e.g. 0:11,150,0.0001,0.01"),
                        }
                    }
                }
                "lobes-seed" => match value.parse() {
                    Ok(seed) => {
                        link.lobes.choice.seed = seed;
                        link.lobes.shown = true;
                    }
                    Err(_) => bad("the seed is a whole number"),
                },
                _ => {}
            }
        }
        // The entropy draws with the analysis's seed (the page and the CLI pass one seed to both).
        if let Some(e) = link.galaxy.entropy.as_mut() {
            e.seed = link.galaxy.seed;
        }
        (link, problems)
    }

    /// The query for this state, `?` included, keys in a fixed order.
    pub fn to_query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        match &self.source {
            Some(LinkSource::Bundled(id)) => {
                q.append_pair("dataset", id);
            }
            Some(LinkSource::Remote(url)) => {
                q.append_pair("data", url);
            }
            None => {}
        }
        if let Some(t) = &self.tensor {
            q.append_pair("tensor", t);
        }
        q.append_pair("page", &self.page);
        let RankRange { first, last } = self.galaxy.ranks;
        q.append_pair("ranks", &format!("{first}-{last}"));
        q.append_pair("seed", &self.galaxy.seed.to_string());
        if let Some(m) = self.galaxy.sample {
            q.append_pair("sample", &m.to_string());
        }
        q.append_pair(
            "entropy",
            &match &self.galaxy.entropy {
                None => "off".to_string(),
                Some(e) => format!("{},{},{},{}", e.samples, e.pcs, e.bootstrap, e.k),
            },
        );
        if self.lobes.shown {
            if let Some(sae) = &self.lobes.sae {
                q.append_pair("sae", sae);
            }
            if let Some(url) = &self.lobes.cooccurrence {
                q.append_pair("cooccurrence", url);
            }
            let c = self.lobes.choice;
            q.append_pair("affinity", c.affinity.name());
            q.append_pair("k", &c.k.to_string());
            q.append_pair("trials", &c.trials.to_string());
            q.append_pair("lobes-seed", &c.seed.to_string());
        }
        if let Some(f) = &self.features {
            q.append_pair("features", &encode_indices(f));
        }
        if self.crystals.shown {
            let c = &self.crystals;
            if let Some(set) = &c.set {
                q.append_pair("crystals", set);
            }
            if let Some(tasks) = &c.tasks {
                q.append_pair("tasks", &tasks.join(","));
            }
            if let Some(m) = c.components {
                q.append_pair("lda", &m.to_string());
            }
            q.append_pair("shrinkage", if c.shrinkage { "auto" } else { "none" });
            q.append_pair("pairs", &c.sample.map_or("all".to_string(), |n| n.to_string()));
        }
        if let Some(c) = &self.camera {
            q.append_pair("camera", &c.to_text());
        }
        if let Some(sae) = &self.neuronpedia {
            q.append_pair("neuronpedia", &sae.id());
        }
        if self.embed {
            q.append_pair("embed", "1");
        }
        if let Some(m) = self.budget_mib {
            q.append_pair("budget", &m.to_string());
        }
        for (chart, zoom) in &self.zooms {
            if let Some(text) = zoom.to_text() {
                q.append_pair(&format!("zoom.{chart}"), &text);
            }
        }
        format!("?{}", q.finish())
    }
}

/// Indices as `3,7,10-20`: ascending, runs of consecutive indices as ranges.
pub fn encode_indices(indices: &[u32]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if j > i + 1 { format!("{}-{}", sorted[i], sorted[j]) } else if j == i + 1 { format!("{},{}", sorted[i], sorted[j]) } else { sorted[i].to_string() });
        i = j + 1;
    }
    parts.join(",")
}

/// The inverse of [`encode_indices`] (any order, repeats allowed), ascending and distinct; `None`
/// for anything else, or more than 2^24 indices (a hostile `0-4000000000` is refused, not
/// allocated).
pub fn decode_indices(text: &str) -> Option<Vec<u32>> {
    const MAX: u64 = 1 << 24;
    let mut spans = Vec::new();
    let mut total = 0u64;
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let v = part.parse::<u32>().ok()?;
                (v, v)
            }
        };
        if a > b {
            return None;
        }
        total += (b - a) as u64 + 1;
        if total > MAX {
            return None;
        }
        spans.push((a, b));
    }
    let mut out: Vec<u32> = spans.into_iter().flat_map(|(a, b)| a..=b).collect();
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// `FIRST-LAST` (or `FIRST..LAST`), 1 <= FIRST < LAST.
fn parse_ranks(text: &str) -> Option<RankRange> {
    let (a, b) = text.split_once("..").or_else(|| text.split_once('-'))?;
    let (first, last) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (first >= 1 && first < last).then_some(RankRange { first, last })
}

/// `off`, or `SAMPLES,PCS,RESAMPLES,K` (each at least 1; the worker checks them against the data).
fn parse_entropy(text: &str, seed: u64) -> Option<Option<EntropyParams>> {
    if text == "off" {
        return Some(None);
    }
    let parts: Vec<usize> = text.split(',').map(|p| p.trim().parse().ok().filter(|v| *v >= 1)).collect::<Option<_>>()?;
    let [samples, pcs, bootstrap, k] = parts[..] else { return None };
    Some(Some(EntropyParams { samples, pcs, bootstrap, k, seed, ..EntropyParams::default() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Link {
        Link::new(GalaxyParams { entropy: Some(EntropyParams::default()), ..GalaxyParams::default() })
    }

    #[test]
    fn a_link_reads_back_as_itself() {
        let mut link = defaults();
        link.source = Some(LinkSource::Remote("https://example.org/a b/params.safetensors?x=1&y=2".into()));
        link.tensor = Some("W_dec".into());
        link.page = "lobes".into();
        link.galaxy.ranks = RankRange { first: 5, last: 77 };
        link.galaxy.seed = 9;
        link.galaxy.sample = Some(40_000);
        link.budget_mib = Some(512);
        link.galaxy.entropy = Some(EntropyParams { samples: 3000, pcs: 50, bootstrap: 10, k: 2, seed: 9, ..EntropyParams::default() });
        link.embed = true;
        link.neuronpedia = NeuronpediaSae::parse("gemma-2-2b/12-gemmascope-res-16k");
        link.camera = Some(Camera3d { yaw: -1.25, pitch: 0.5, zoom: 2.375 });
        for (chart, text) in [("spectrum-canvas", "0:13.7,151.25,0.000123,0.0456"), ("sweep-canvas", "1:-0.5,6.5,-930.1,-900;2:0,1,2,3")] {
            link.zooms.insert(chart.into(), Zoom::parse(text).unwrap());
        }
        link.crystals = CrystalsLink {
            set: Some("crystals-minilm-l6-layer0".into()),
            tasks: Some(vec!["country-capital".into(), "male-female".into()]),
            components: Some(1),
            shrinkage: true,
            sample: Some(5000),
            shown: true,
        };
        link.lobes = LobesLink {
            sae: Some("minilm-l6-topk4096-layer3".into()),
            cooccurrence: Some("https://example.org/histogram.npz".into()),
            choice: LobesChoice { affinity: Affinity::Jaccard, k: 3, trials: 10, seed: 7 },
            shown: true,
        };
        let query = link.to_query();
        assert!(query.starts_with("?data=https%3A%2F%2Fexample.org"), "{query}");
        assert!(query.contains("&zoom.spectrum-canvas=0%3A13.7%2C151.25%2C0.000123%2C0.0456&zoom.sweep-canvas=1%3A"), "{query}");
        assert_eq!(Link::parse(&query, &defaults()), (link.clone(), vec![]));
        link.source = Some(LinkSource::Bundled("minilm-l6-topk4096-layer3".into()));
        link.galaxy.entropy = None;
        link.galaxy.sample = None;
        link.budget_mib = None;
        link.embed = false;
        link.neuronpedia = None;
        link.camera = None;
        link.zooms.clear();
        link.crystals = CrystalsLink::default();
        link.lobes = LobesLink::default();
        let query = link.to_query();
        assert_eq!(query, "?dataset=minilm-l6-topk4096-layer3&tensor=W_dec&page=lobes&ranks=5-77&seed=9&entropy=off");
        assert_eq!(Link::parse(&query, &defaults()).0, link);
    }

    #[test]
    fn an_empty_query_is_the_defaults_and_bad_values_are_named() {
        assert_eq!(Link::parse("", &defaults()), (defaults(), vec![]));
        let (link, problems) = Link::parse("?ranks=150-11&seed=x&page=atoms&entropy=1,2&other=1&embed&neuronpedia=x&camera=0,2,1&tasks=a&pairs=1&sample=0&budget=10&zoom.spectrum-canvas=0:1,2&zoom.=0:1,2,3,4", &defaults());
        assert_eq!(link.galaxy, defaults().galaxy);
        assert_eq!(link.page, "galaxy");
        assert!(link.embed);
        assert_eq!(problems.len(), 12, "{problems:?}");
        assert!(problems[10].contains("PANEL:XLO,XHI,YLO,YHI") && problems[11].contains("name a chart") && link.zooms.is_empty(), "{problems:?}");
        assert!(problems[8].contains("sample") && problems[9].contains("at least 64") && link.budget_mib.is_none(), "{problems:?}");
        assert!(problems[6].contains("two tasks") && problems[7].contains("pairs") && !link.crystals.shown, "{problems:?}");
        assert!(problems[5].contains("YAW,PITCH,ZOOM") && link.camera.is_none(), "{problems:?}");
        assert!(problems[4].contains("MODEL/SAE") && link.neuronpedia.is_none(), "{problems:?}");
        assert!(problems[0].contains("ranks=150-11") && problems[0].contains("11-150"), "{problems:?}");
        assert!(problems[2].contains("galaxy, lobes, crystals, compute"), "{problems:?}");
        // The entropy takes the analysis's seed, wherever the seed stands in the query.
        let (link, _) = Link::parse("entropy=100,10,5,1&seed=4&ranks=2..40", &defaults());
        assert_eq!(link.galaxy.entropy.unwrap().seed, 4);
        assert_eq!(link.galaxy.ranks, RankRange { first: 2, last: 40 });
    }

    #[test]
    fn remote_names() {
        assert_eq!(LinkSource::remote_name("https://h.org/x/params.npz?download=1"), "params.npz");
        assert_eq!(LinkSource::remote_name("data/a.safetensors"), "a.safetensors");
        assert_eq!(LinkSource::remote_name("https://h.org/dir/"), "dir");
    }

    #[test]
    fn lobes_are_in_a_link_only_when_shown() {
        let (link, problems) = Link::parse("?page=lobes&k=4", &defaults());
        assert!(problems.is_empty());
        assert_eq!(link.lobes, LobesLink { sae: None, cooccurrence: None, choice: LobesChoice { k: 4, ..LobesChoice::default() }, shown: true });
        assert!(link.to_query().ends_with("&affinity=phi&k=4&trials=100&lobes-seed=42"), "{}", link.to_query());
        let (link, problems) = Link::parse("?page=lobes&k=1&affinity=cosine", &defaults());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(!link.lobes.shown);
        assert!(!link.to_query().contains("affinity"));
    }

    #[test]
    fn feature_indices_round_trip_as_ranges() {
        let f = vec![0, 1, 2, 3, 7, 9, 10, 4000, 4001, 4002, 4095];
        let text = encode_indices(&[4095, 3, 2, 1, 0, 7, 9, 10, 4001, 4000, 4002, 7]);
        assert_eq!(text, "0-3,7,9,10,4000-4002,4095");
        assert_eq!(decode_indices(&text), Some(f.clone()));
        assert_eq!(decode_indices(""), Some(vec![]));
        for bad in ["x", "5-3", "1-", "-4", "0-4294967295", "1,,2x"] {
            assert_eq!(decode_indices(bad), None, "{bad}");
        }
        let mut link = defaults();
        link.features = Some(f.clone());
        assert_eq!(Link::parse(&link.to_query(), &defaults()).0.features, Some(f));
    }
}
