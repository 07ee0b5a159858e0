//! Results as files a researcher keeps: each table as CSV (provenance in `#` comment lines, which
//! `pandas.read_csv(..., comment="#")` and `numpy.loadtxt` skip) and each result as JSON with its
//! provenance beside it. Pure text, so the app's downloads and these tests share one writer.

use serde::Serialize;

use super::lobes::LobesReport;
use super::{GalaxyReport, LayerRow};

/// Where a result came from: the app and its version, the data, and the link that reproduces it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// `sae-geometry <version>`.
    pub app: String,
    /// The data as the user chose it: a bundled dataset's id and source, a URL, or a local file.
    pub data: String,
    /// The address that reproduces this result (none for a local file).
    pub link: Option<String>,
}

impl Provenance {
    pub fn new(data: String, link: Option<String>) -> Self {
        Provenance { app: format!("sae-geometry {}", env!("CARGO_PKG_VERSION")), data, link }
    }

    fn comment_lines(&self) -> String {
        let mut out = format!("# {}\n# data: {}\n", self.app, one_line(&self.data));
        if let Some(link) = &self.link {
            out.push_str(&format!("# link: {link}\n"));
        }
        out
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// `{"provenance": ..., "result": ...}`, pretty-printed.
pub fn result_json<T: Serialize>(result: &T, provenance: &Provenance) -> String {
    #[derive(Serialize)]
    struct Export<'a, T> {
        provenance: &'a Provenance,
        result: &'a T,
    }
    serde_json::to_string_pretty(&Export { provenance, result }).unwrap_or_default()
}

/// The spectrum as a table: `rank,eigenvalue,isotropic_eigenvalue,in_fit` (the isotropic column
/// empty when it was not computed; `in_fit` 1 over the fit's ranks), after comment lines with the
/// provenance, the tensor, the parameters and the fit.
pub fn galaxy_spectrum_csv(report: &GalaxyReport, provenance: &Provenance) -> String {
    let s = &report.spectrum;
    let fit = &s.power_law;
    let mut out = provenance.comment_lines();
    out.push_str(&format!(
        "# tensor {} ({}), {} points x {} dimensions\n# power law over ranks {}-{}: slope {}, 95% interval [{}, {}], log-volume {}\n",
        report.input.tensor, report.input.source_dtype, s.n, s.d, fit.first_rank, fit.last_rank, fit.slope, fit.ci95[0], fit.ci95[1], s.log_volume
    ));
    if let Some(e) = &s.entropy {
        out.push_str(&format!(
            "# clustering entropy {} [{}, {}] ({} rows, {} PCs, {} resamples, k = {}, seed {})\n",
            e.clustering, e.ci95[0], e.ci95[1], e.samples, e.pcs, e.bootstrap, e.k, report.params.seed
        ));
    }
    out.push_str("rank,eigenvalue,isotropic_eigenvalue,in_fit\n");
    for (i, v) in s.eigenvalues.iter().enumerate() {
        let rank = i + 1;
        let iso = s.isotropic_eigenvalues.get(i).map(|v| v.to_string()).unwrap_or_default();
        let in_fit = u8::from(rank >= fit.first_rank && rank <= fit.last_rank);
        out.push_str(&format!("{rank},{v},{iso},{in_fit}\n"));
    }
    out
}

/// Each feature's lobes: `feature,cooccurrence_lobe,geometric_lobe` (feature = row of the decoder,
/// from 0), after comment lines with the provenance, the parameters and the agreement. The rows of
/// one lobe are that lobe's features.
pub fn lobe_labels_csv(report: &LobesReport, provenance: &Provenance) -> String {
    let a = &report.agreement;
    let mut out = provenance.comment_lines();
    out.push_str(&format!(
        "# {} with {}: {} features, k = {}, affinity {}, seed {}\n# AMI {}, balanced accuracy {}\n",
        report.decoder, report.cooccurrence, report.n_features, a.k, a.affinity.name(), report.params.seed, a.ami, a.balanced_accuracy
    ));
    out.push_str("feature,cooccurrence_lobe,geometric_lobe\n");
    for (i, (c, g)) in a.labels_cooccurrence.iter().zip(&a.labels_geometry).enumerate() {
        out.push_str(&format!("{i},{c},{g}\n"));
    }
    out
}

/// The layer sweep as a table: one row per layer with its fit, log-volumes and clustering
/// entropies (empty where not computed).
pub fn layer_rows_csv(rows: &[LayerRow], provenance: &Provenance) -> String {
    let mut out = provenance.comment_lines();
    out.push_str("layer,input,n,d,first_rank,last_rank,slope,slope_ci_low,slope_ci_high,log_volume,isotropic_slope,isotropic_log_volume,clustering_entropy,isotropic_clustering_entropy\n");
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        let f = &r.power_law;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.layer, r.input, r.n, r.d, f.first_rank, f.last_rank, f.slope, f.ci95[0], f.ci95[1], r.log_volume,
            opt(r.isotropic_slope), opt(r.isotropic_log_volume), opt(r.entropy.as_ref().map(|e| e.clustering)),
            opt(r.isotropic_entropy.as_ref().map(|e| e.clustering)),
        ));
    }
    out
}

/// A list of features: `feature` (row of the decoder, from 0) per line, after the provenance and
/// what they are.
pub fn feature_list_csv(features: &[u32], what: &str, provenance: &Provenance) -> String {
    let mut out = provenance.comment_lines();
    out.push_str(&format!("# {}: {} features\nfeature\n", one_line(what), features.len()));
    for f in features {
        out.push_str(&format!("{f}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::galaxy_from_bytes;
    use crate::formats::npy;
    use crate::geometry::galaxy::{GalaxyParams, RankRange};

    fn report() -> GalaxyReport {
        let (n, d) = (60, 8);
        let data: Vec<f32> = (0..n * d).map(|i| (((i * 7919) % 101) as f32 - 50.0) / (1.0 + (i % d) as f32)).collect();
        let bytes = npy::write_f32(&[n, d], &data);
        let params = GalaxyParams { ranks: RankRange { first: 1, last: 6 }, ..GalaxyParams::default() };
        galaxy_from_bytes(&bytes, "cloud.npy", None, &params, &mut |_, _| {}).unwrap()
    }

    #[test]
    fn the_csv_holds_every_eigenvalue_exactly_after_its_provenance() {
        let r = report();
        let p = Provenance::new("bundled dataset 'x' (trained here)\nsecond line".into(), Some("https://h/?dataset=x".into()));
        let csv = galaxy_spectrum_csv(&r, &p);
        let comments: Vec<&str> = csv.lines().take_while(|l| l.starts_with('#')).collect();
        assert!(comments[0].starts_with("# sae-geometry "), "{comments:?}");
        assert!(comments.iter().any(|l| l.contains("link: https://h/?dataset=x")));
        assert!(comments.iter().any(|l| l.contains(&format!("slope {}", r.spectrum.power_law.slope))));
        let rows: Vec<&str> = csv.lines().skip(comments.len()).collect();
        assert_eq!(rows[0], "rank,eigenvalue,isotropic_eigenvalue,in_fit");
        assert_eq!(rows.len(), 1 + r.spectrum.d);
        for (i, row) in rows[1..].iter().enumerate() {
            let cells: Vec<&str> = row.split(',').collect();
            assert_eq!(cells[0].parse::<usize>().unwrap(), i + 1);
            assert_eq!(cells[1].parse::<f64>().unwrap(), r.spectrum.eigenvalues[i]);
            assert_eq!(cells[2].parse::<f64>().unwrap(), r.spectrum.isotropic_eigenvalues[i]);
            assert_eq!(cells[3], if i < 6 { "1" } else { "0" });
        }
    }

    #[test]
    fn the_json_is_the_report_with_its_provenance() {
        let r = report();
        let p = Provenance::new("cloud.npy (a local file)".into(), None);
        let json: serde_json::Value = serde_json::from_str(&result_json(&r, &p)).unwrap();
        assert_eq!(json["provenance"]["data"], "cloud.npy (a local file)");
        assert!(json["provenance"]["link"].is_null());
        let back: GalaxyReport = serde_json::from_value(json["result"].clone()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn the_layer_table_has_a_row_per_layer() {
        let r = report();
        let rows = vec![LayerRow::from_report(0, &r), LayerRow::from_report(3, &r)];
        let csv = layer_rows_csv(&rows, &Provenance::new("x".into(), None));
        let lines: Vec<&str> = csv.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines.len(), 3);
        let header: Vec<&str> = lines[0].split(',').collect();
        let cells: Vec<&str> = lines[2].split(',').collect();
        assert_eq!(header.len(), cells.len());
        assert_eq!(cells[0], "3");
        assert_eq!(cells[6].parse::<f64>().unwrap(), r.spectrum.power_law.slope);
        assert_eq!(cells[12], "", "no entropy was computed");
    }
}
