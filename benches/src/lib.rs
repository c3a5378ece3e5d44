//! Helpers shared by the benchmark programs.

/// CPU time (user + system) of this process so far, in seconds.
pub fn cpu_seconds() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Peak resident set size of this process so far, in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0)
}

/// A small seeded PRNG (xorshift64*), so generated data is the same on every run.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The real CloudTrail records of the kit (invictus-ir), as JSON values.
pub fn kit_records(kit: &std::path::Path) -> Vec<serde_json::Value> {
    let dir = kit.join("data/cloudtrail/invictus-ir");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&f).unwrap_or_default()).unwrap_or_default();
        if let Some(a) = v["Records"].as_array() {
            out.extend(a.iter().cloned());
        }
    }
    out
}

/// A minimal HTTP/1.1 request reader for the benchmark servers (`s3-static`, `latency-proxy`).
pub mod http {
    use std::collections::BTreeMap;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

    /// Largest request head accepted.
    const MAX_HEAD: usize = 64 * 1024;

    #[derive(Debug, thiserror::Error)]
    pub enum HttpError {
        #[error("malformed request: {0}")]
        Malformed(&'static str),
        #[error(transparent)]
        Io(#[from] std::io::Error),
    }

    /// One request: its method, target (path and query) and whether the connection closes after it.
    #[derive(Debug)]
    pub struct Request {
        pub method: String,
        pub target: String,
        pub close: bool,
    }

    fn find_head_end(buf: &[u8]) -> Option<usize> {
        buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
    }

    /// Reads the next request from `sock` (bytes after it stay in `buf`); any body is read and
    /// dropped. `Ok(None)` when the peer closed the connection between requests.
    pub async fn read_request(
        sock: &mut TcpStream,
        buf: &mut Vec<u8>,
    ) -> Result<Option<Request>, HttpError> {
        let end = loop {
            if let Some(end) = find_head_end(buf) {
                break end;
            }
            if buf.len() > MAX_HEAD {
                return Err(HttpError::Malformed("request head too large"));
            }
            let mut chunk = [0u8; 8192];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return if buf.is_empty() {
                    Ok(None)
                } else {
                    Err(HttpError::Malformed("connection closed inside a request"))
                };
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&buf[..end])
            .map_err(|_| HttpError::Malformed("request head is not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split(' ');
        let (method, target, version) = match (first.next(), first.next(), first.next()) {
            (Some(m), Some(t), Some(v)) if !m.is_empty() && t.starts_with('/') => (m, t, v),
            _ => return Err(HttpError::Malformed("bad request line")),
        };
        let mut close = version != "HTTP/1.1";
        let mut length = 0usize;
        for line in lines.filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                return Err(HttpError::Malformed("bad header line"));
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value
                    .parse()
                    .map_err(|_| HttpError::Malformed("bad content-length"))?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(HttpError::Malformed(
                    "chunked request bodies are not supported",
                ));
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close")
                    || (close && !value.eq_ignore_ascii_case("keep-alive"));
            }
        }
        let req = Request {
            method: method.to_string(),
            target: target.to_string(),
            close,
        };
        buf.drain(..end);
        // Drop the body.
        while buf.len() < length {
            let mut chunk = [0u8; 8192];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Err(HttpError::Malformed("connection closed inside a body"));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf.drain(..length);
        Ok(Some(req))
    }

    /// Decodes `%XX` escapes (and `+` as a space in queries when `plus` is set).
    fn decode(s: &str, plus: bool) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            match b[i] {
                b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                },
                b'+' if plus => out.push(b' '),
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Decodes a percent-encoded path segment.
    pub fn percent_decode(s: &str) -> String {
        decode(s, false)
    }

    /// Parses a query string into its (decoded) parameters; a name without `=` maps to "".
    pub fn parse_query(q: &str) -> BTreeMap<String, String> {
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k, true), decode(v, true))
            })
            .collect()
    }

    /// Resolves when this process's stdin reaches end of file (its parent closed the pipe or
    /// exited): the benchmark servers stop by themselves then.
    pub async fn stdin_closed() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut b = [0u8; 256];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut b), Ok(n) if n > 0) {}
            let _ = tx.send(());
        });
        let _ = rx.await;
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn decodes() {
            assert_eq!(percent_decode("a%2Fb%20c%"), "a/b c%");
            assert_eq!(percent_decode("%4"), "%4");
            let q = parse_query("list-type=2&prefix=AWSLogs%2F1%2F&x&start-after=");
            assert_eq!(q["prefix"], "AWSLogs/1/");
            assert_eq!(q["x"], "");
            assert_eq!(q["start-after"], "");
        }
    }
}
