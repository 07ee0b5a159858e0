//! `Read + Seek` over a file that is read in byte ranges by someone else: a browser `Blob`
//! (`FileReaderSync` on `Blob.slice`) or a remote file (HTTP `Range` requests). The reader asks
//! for windows of [`RangeReader::WINDOW`] bytes, so that a 1.2 GB Gemma Scope `params.npz` is read
//! member by member in bounded memory ([`super::stream::stream_rows_from`]).

use std::io::{self, Read, Seek, SeekFrom};

/// Reads `len` bytes starting at `start` of the underlying file (fewer only at its end).
pub type FetchRange<'a> = dyn FnMut(u64, usize) -> io::Result<Vec<u8>> + 'a;

/// A buffered `Read + Seek` over `fetch`, a file of `len` bytes.
pub struct RangeReader<'a> {
    fetch: Box<FetchRange<'a>>,
    len: u64,
    pos: u64,
    /// The window held: `window` holds the bytes from `window_start`.
    window_start: u64,
    window: Vec<u8>,
    /// The size of the next window: it starts at [`Self::FIRST_WINDOW`] and doubles while reads
    /// run on from the last window (up to [`Self::WINDOW`]), so that reading headers here and
    /// there costs little and reading a tensor costs few fetches.
    next: usize,
    /// Bytes fetched so far (for progress).
    pub fetched: u64,
}

impl<'a> RangeReader<'a> {
    /// Bytes fetched at a time: large enough that a remote file costs few requests, small
    /// enough to leave the tab's memory to the analysis.
    pub const WINDOW: usize = 8 << 20;
    /// The first window, and the window after a seek elsewhere.
    pub const FIRST_WINDOW: usize = 64 << 10;

    pub fn new(len: u64, fetch: impl FnMut(u64, usize) -> io::Result<Vec<u8>> + 'a) -> RangeReader<'a> {
        RangeReader { fetch: Box::new(fetch), len, pos: 0, window_start: 0, window: Vec::new(), next: Self::FIRST_WINDOW, fetched: 0 }
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let in_window = self.pos >= self.window_start && self.pos < self.window_start + self.window.len() as u64;
        if !in_window {
            let runs_on = !self.window.is_empty() && self.pos == self.window_start + self.window.len() as u64;
            self.next = if runs_on { (self.next * 2).min(Self::WINDOW) } else { Self::FIRST_WINDOW };
            let want = (self.len - self.pos).min(self.next.max(buf.len()) as u64) as usize;
            let bytes = (self.fetch)(self.pos, want)?;
            if bytes.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("no bytes at offset {}", self.pos)));
            }
            if bytes.len() > want {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("asked for {want} bytes, got {}", bytes.len())));
            }
            self.fetched += bytes.len() as u64;
            self.window_start = self.pos;
            self.window = bytes;
        }
        let from = (self.pos - self.window_start) as usize;
        let n = (self.window.len() - from).min(buf.len());
        buf[..n].copy_from_slice(&self.window[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RangeReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::stream::{list_arrays_from, stream_rows_from};
    use crate::formats::{npz, safetensors, Array};

    fn reader<'a>(bytes: &'a [u8], calls: &'a std::cell::Cell<usize>) -> RangeReader<'a> {
        RangeReader::new(bytes.len() as u64, move |start, len| {
            calls.set(calls.get() + 1);
            let s = start as usize;
            Ok(bytes[s..(s + len).min(bytes.len())].to_vec())
        })
    }

    #[test]
    fn streams_an_npz_member_and_a_safetensors_tensor_through_ranges() {
        let values: Vec<f32> = (0..300 * 7).map(|i| (i % 97) as f32 - 40.0).collect();
        let w = Array::f32(vec![300, 7], values.clone());
        let enc = Array::f32(vec![7, 300], vec![1.0; 2100]);
        for compressed in [false, true] {
            let file = npz::write(&[("W_enc", &enc), ("W_dec", &w)], compressed);
            let calls = std::cell::Cell::new(0);
            let mut r = reader(&file, &calls);
            let listed = list_arrays_from(&mut r, file.len() as u64, "params.npz").unwrap();
            assert_eq!(listed.len(), 2);
            let mut got = Vec::new();
            let a = stream_rows_from(&mut r, file.len() as u64, "params.npz", None, 64, &mut |_, _, v| {
                got.extend_from_slice(v);
                Ok(())
            })
            .unwrap();
            assert_eq!((a.name.as_str(), a.rows, a.cols), ("W_dec", 300, 7));
            assert_eq!(got, values);
        }
        let file = safetensors::write(&[("W_dec", &w), ("W_enc", &enc)], &Default::default());
        let calls = std::cell::Cell::new(0);
        let mut r = reader(&file, &calls);
        let mut got = Vec::new();
        stream_rows_from(&mut r, file.len() as u64, "sae.safetensors", None, 50, &mut |_, _, v| {
            got.extend_from_slice(v);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, values);
        // Headers cost small windows: listing a 4 MB file's arrays fetches little of it.
        let big = npz::write(&[("W_enc", &Array::f32(vec![1000, 1000], vec![0.0; 1_000_000])), ("W_dec", &w)], false);
        let mut r = RangeReader::new(big.len() as u64, |s, len| Ok(big[s as usize..(s as usize + len).min(big.len())].to_vec()));
        list_arrays_from(&mut r, big.len() as u64, "p.npz").unwrap();
        assert!(r.fetched < 400_000, "{} bytes fetched to list the arrays", r.fetched);
    }

    #[test]
    fn a_short_file_is_an_error_not_a_hang() {
        let file = npz::write(&[("W_dec", &Array::f32(vec![50, 4], vec![0.5; 200]))], false);
        // The fetcher claims a longer file than it has.
        let mut r = RangeReader::new(file.len() as u64 + 1000, |start, len| {
            let s = (start as usize).min(file.len());
            Ok(file[s..(s + len).min(file.len())].to_vec())
        });
        let e = stream_rows_from(&mut r, file.len() as u64 + 1000, "p.npz", None, 8, &mut |_, _, _| Ok(()));
        assert!(e.is_err());
        let mut buf = [0u8; 4];
        r.seek(SeekFrom::Start(file.len() as u64 + 10)).unwrap();
        assert_eq!(r.read(&mut buf).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }
}
