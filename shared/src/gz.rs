//! Gzip in and out: deterministic compression (same input, same bytes: retries rewrite the same
//! object) and bounded decompression that reports trailing data after the first gzip member, as
//! CloudTrail's validator treats it.

use std::io::{BufRead, Read, Write};

use flate2::bufread::GzDecoder;
use flate2::{Compression, GzBuilder};
use thiserror::Error;

/// Default limit on the decompressed size of one file (CloudTrail files are far smaller; a
/// decompression bomb stops here with a clear error instead of exhausting memory).
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 1 << 30;

#[derive(Debug, Error)]
pub enum GzError {
    #[error("not valid gzip data: {0}")]
    Corrupt(String),
    #[error("gzip stream is truncated")]
    Truncated,
    #[error("unexpected data after end of compressed stream")]
    TrailingData,
    #[error("decompressed size exceeds the limit of {0} bytes (possible decompression bomb)")]
    TooLarge(u64),
}

/// Compresses with a fixed header (mtime 0, no name, OS 255) so the output depends only on the
/// input and the level.
pub fn compress(data: &[u8], level: u32) -> Vec<u8> {
    let mut enc = GzBuilder::new().mtime(0).operating_system(255).write(
        Vec::with_capacity(data.len() / 8 + 64),
        Compression::new(level.min(9)),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// An incremental deterministic gzip writer: the same pieces written in the same order give the
/// same bytes (not necessarily the bytes of [`compress`] of their concatenation).
pub struct Encoder {
    inner: flate2::write::GzEncoder<Vec<u8>>,
    /// Small writes are gathered here and handed to the compressor 64 KiB at a time.
    pending: Vec<u8>,
}

const ENCODER_CHUNK: usize = 64 * 1024;

impl Encoder {
    pub fn new(capacity: usize, level: u32) -> Self {
        Encoder {
            inner: GzBuilder::new()
                .mtime(0)
                .operating_system(255)
                .write(Vec::with_capacity(capacity), Compression::new(level.min(9))),
            pending: Vec::with_capacity(ENCODER_CHUNK * 2),
        }
    }
    pub fn write(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
        if self.pending.len() >= ENCODER_CHUNK {
            // Writing into a Vec cannot fail.
            let _ = self.inner.write_all(&self.pending);
            self.pending.clear();
        }
    }
    pub fn finish(mut self) -> Vec<u8> {
        let _ = self.inner.write_all(&self.pending);
        self.inner.finish().unwrap_or_default()
    }
}

/// Decompresses the first gzip member, feeding the decompressed bytes to `sink` in chunks.
/// Fails on corrupt or truncated input, on any data after the first member, and when more than
/// `max` bytes come out.
pub fn decompress_with(data: &[u8], max: u64, mut sink: impl FnMut(&[u8])) -> Result<u64, GzError> {
    let mut dec = GzDecoder::new(data);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = dec.read(&mut buf).map_err(map_io)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > max {
            return Err(GzError::TooLarge(max));
        }
        sink(&buf[..n]);
    }
    if dec.header().is_none() {
        return Err(GzError::Corrupt("missing gzip header".into()));
    }
    let mut rest = dec.into_inner();
    if !rest.fill_buf().map(|b| b.is_empty()).unwrap_or(true) {
        return Err(GzError::TrailingData);
    }
    Ok(total)
}

/// Decompresses into a vector (see [`decompress_with`]).
pub fn decompress(data: &[u8], max: u64) -> Result<Vec<u8>, GzError> {
    let mut out = Vec::with_capacity((data.len() * 8).min(max as usize));
    decompress_with(data, max, |c| out.extend_from_slice(c))?;
    Ok(out)
}

/// True when the bytes start with the gzip magic number.
pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
}

fn map_io(e: std::io::Error) -> GzError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => GzError::Truncated,
        _ => GzError::Corrupt(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_determinism() {
        let data = b"{\"Records\":[]}".repeat(100);
        let a = compress(&data, 6);
        let b = compress(&data, 6);
        assert_eq!(a, b);
        // Streaming the same pieces in the same order gives the same bytes every time (what a
        // retried batch writes), and they decompress to the data.
        let stream = || {
            let mut e = Encoder::new(0, 6);
            for chunk in data.chunks(7) {
                e.write(chunk);
            }
            e.finish()
        };
        let s1 = stream();
        assert_eq!(s1, stream());
        assert_eq!(decompress(&s1, u64::MAX).unwrap(), data);
        assert_eq!(decompress(&a, u64::MAX).unwrap(), data);
    }

    #[test]
    fn trailing_member_and_truncation_detected() {
        let mut a = compress(b"hello", 6);
        let whole = a.clone();
        a.extend_from_slice(&compress(b"extra", 6));
        assert!(matches!(
            decompress(&a, u64::MAX),
            Err(GzError::TrailingData)
        ));
        let mut junk = whole.clone();
        junk.push(0);
        assert!(matches!(
            decompress(&junk, u64::MAX),
            Err(GzError::TrailingData)
        ));
        let cut = &whole[..whole.len() - 5];
        assert!(matches!(decompress(cut, u64::MAX), Err(GzError::Truncated)));
        assert!(decompress(b"not gzip at all", u64::MAX).is_err());
        assert!(decompress(b"", u64::MAX).is_err());
    }

    #[test]
    fn bomb_is_bounded() {
        let data = vec![b'a'; 10 << 20];
        let z = compress(&data, 9);
        assert!(z.len() < 100_000);
        assert!(matches!(decompress(&z, 1 << 20), Err(GzError::TooLarge(_))));
    }
}
