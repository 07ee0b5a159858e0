//! Links from a feature to its page on Neuronpedia (<https://www.neuronpedia.org>), where its top
//! activations and explanations are, for the SAEs Neuronpedia hosts: the SAE's Neuronpedia id
//! (`MODEL/SAE`, e.g. `gemma-2-2b/12-gemmascope-res-16k`) is given in the address
//! (`neuronpedia=...`), or read from a Gemma Scope file's path as Google publishes them
//! (`gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82/params.npz`). Pure, tested natively.

/// An SAE on Neuronpedia: the model's id and the SAE's id under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeuronpediaSae {
    pub model: String,
    pub sae: String,
}

/// Characters allowed in a Neuronpedia model or SAE id.
fn is_id(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl NeuronpediaSae {
    /// Reads `MODEL/SAE` (as in a Neuronpedia address after the host); `None` for anything else.
    pub fn parse(id: &str) -> Option<NeuronpediaSae> {
        let (model, sae) = id.trim().trim_matches('/').split_once('/')?;
        (is_id(model) && is_id(sae)).then(|| NeuronpediaSae { model: model.to_string(), sae: sae.to_string() })
    }

    /// `MODEL/SAE`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.model, self.sae)
    }

    /// The page of feature `feature` (a row of the decoder, from 0).
    pub fn feature_url(&self, feature: u32) -> String {
        format!("https://www.neuronpedia.org/{}/{}/{feature}", self.model, self.sae)
    }

    /// The Neuronpedia SAE of a Gemma Scope file, from its path or URL: the repository
    /// (`gemma-scope-{2b,9b,27b}-{pt,it}-{res,mlp,att}`, optionally `-canonical`), `layer_N` and
    /// `width_W`. The canonical SAE of a layer and width is `N-gemmascope-KIND-W`; a path with
    /// `average_l0_L` names that sparsity, `N-gemmascope-KIND-W__l0-L`. `None` when the path does
    /// not say all three.
    pub fn from_gemma_scope_path(path: &str) -> Option<NeuronpediaSae> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let (mut repo, mut layer, mut width, mut l0) = (None, None, None, None);
        for segment in path.split('/') {
            if let Some(rest) = segment.strip_prefix("gemma-scope-") {
                let rest = rest.strip_suffix("-canonical").unwrap_or(rest);
                let parts: Vec<&str> = rest.split('-').collect();
                if let [size @ ("2b" | "9b" | "27b"), tuning @ ("pt" | "it"), kind @ ("res" | "mlp" | "att")] = parts[..] {
                    repo = Some((size, tuning, kind));
                }
            } else if let Some(n) = segment.strip_prefix("layer_") {
                layer = n.parse::<u32>().ok();
            } else if let Some(w) = segment.strip_prefix("width_") {
                width = (w.len() > 1 && w[..w.len() - 1].chars().all(|c| c.is_ascii_digit()) && (w.ends_with('k') || w.ends_with('m')))
                    .then(|| w.to_string());
            } else if let Some(l) = segment.strip_prefix("average_l0_") {
                l0 = l.parse::<u32>().ok();
            }
        }
        let ((size, tuning, kind), layer, width) = (repo?, layer?, width?);
        let model = if tuning == "it" { format!("gemma-2-{size}-it") } else { format!("gemma-2-{size}") };
        let mut sae = format!("{layer}-gemmascope-{kind}-{width}");
        if let Some(l0) = l0 {
            sae += &format!("__l0-{l0}");
        }
        Some(NeuronpediaSae { model, sae })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_and_written() {
        let sae = NeuronpediaSae::parse("gemma-2-2b/12-gemmascope-res-16k").unwrap();
        assert_eq!(sae.id(), "gemma-2-2b/12-gemmascope-res-16k");
        assert_eq!(sae.feature_url(1234), "https://www.neuronpedia.org/gemma-2-2b/12-gemmascope-res-16k/1234");
        assert!(NeuronpediaSae::parse("gemma-2-2b").is_none());
        assert!(NeuronpediaSae::parse("a/b c").is_none(), "no spaces");
        assert!(NeuronpediaSae::parse("javascript:alert(1)/x").is_none(), "nothing that is not an id");
    }

    #[test]
    fn gemma_scope_paths_give_their_neuronpedia_sae() {
        let hf = "https://huggingface.co/google/gemma-scope-2b-pt-res/resolve/main/layer_12/width_16k/average_l0_82/params.npz";
        assert_eq!(NeuronpediaSae::from_gemma_scope_path(hf).unwrap().id(), "gemma-2-2b/12-gemmascope-res-16k__l0-82");
        let canonical = "google/gemma-scope-2b-pt-res-canonical/layer_20/width_65k/canonical/params.npz";
        assert_eq!(NeuronpediaSae::from_gemma_scope_path(canonical).unwrap().id(), "gemma-2-2b/20-gemmascope-res-65k");
        let it = "gemma-scope-9b-it-res/layer_9/width_131k/average_l0_121/params.npz?download=1";
        assert_eq!(NeuronpediaSae::from_gemma_scope_path(it).unwrap().id(), "gemma-2-9b-it/9-gemmascope-res-131k__l0-121");
        let mlp = "gemma-scope-27b-pt-mlp/layer_3/width_1m/canonical";
        assert_eq!(NeuronpediaSae::from_gemma_scope_path(mlp).unwrap().id(), "gemma-2-27b/3-gemmascope-mlp-1m");
    }

    #[test]
    fn other_paths_give_none() {
        for path in [
            "params.npz",
            "data/minilm-l6-topk4096-layer3.safetensors",
            "gemma-scope-2b-pt-res/width_16k/params.npz",
            "gemma-scope-2b-pt-res/layer_x/width_16k/params.npz",
            "gemma-scope-3b-pt-res/layer_1/width_16k/params.npz",
            "gemma-scope-2b-pt-res/layer_1/width_16/params.npz",
        ] {
            assert!(NeuronpediaSae::from_gemma_scope_path(path).is_none(), "{path}");
        }
    }
}
