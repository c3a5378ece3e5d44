//! A read-only S3 stand-in for the benchmarks: serves the buckets of a directory mirrored on disk
//! (`DIR/<bucket>/<key>`, user metadata in `<key>.metadata.json`), answering many requests at
//! once (tokio, HTTP/1.1 keep-alive). GetObject and HeadObject (with `x-amz-meta-*` headers),
//! ListObjectsV2 and ListObjects (prefix, start-after, continuation-token/marker, max-keys,
//! delimiter, encoding-type=url) and GetBucketLocation; path-style addressing only. Objects are
//! loaded from disk at start. Nothing is written.
//!
//! usage: `s3-static DIR [PORT] [--max-seconds N]`
//!
//! Listens on 127.0.0.1 (PORT 0 or none: a free port), prints `listening on PORT` on stdout, and
//! stops by itself when its stdin closes (the benchmark holds it open) or after N seconds
//! (default 3600).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use trailwarden_bench::http::{self, Request};

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("usage: s3-static DIR [PORT] [--max-seconds N]")]
    Usage,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("bad metadata file {path}: {reason}")]
    Metadata { path: PathBuf, reason: String },
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: std::io::Error },
}

struct Object {
    body: Vec<u8>,
    /// `x-amz-meta-<name>: <value>` header lines, ready to send.
    meta_headers: String,
}

type Bucket = BTreeMap<String, Object>;
type Buckets = BTreeMap<String, Bucket>;

fn load(dir: &Path) -> Result<Buckets, ServeError> {
    let read_dir = |p: &Path| {
        std::fs::read_dir(p).map_err(|source| ServeError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let mut buckets = Buckets::new();
    for entry in read_dir(dir)? {
        let entry = entry.map_err(|source| ServeError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let base = entry.path();
        if !base.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut objects = Bucket::new();
        let mut stack = vec![base.clone()];
        while let Some(d) = stack.pop() {
            for e in read_dir(&d)? {
                let e = e.map_err(|source| ServeError::Read {
                    path: d.clone(),
                    source,
                })?;
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let rel = match p.strip_prefix(&base) {
                    Ok(r) => r.to_string_lossy().into_owned(),
                    Err(_) => continue,
                };
                if rel.ends_with(".metadata.json") {
                    continue;
                }
                let read = |path: &Path| {
                    std::fs::read(path).map_err(|source| ServeError::Read {
                        path: path.to_path_buf(),
                        source,
                    })
                };
                let body = read(&p)?;
                let mut meta_headers = String::new();
                let meta_path = PathBuf::from(format!("{}.metadata.json", p.display()));
                if meta_path.exists() {
                    let bad = |reason: String| ServeError::Metadata {
                        path: meta_path.clone(),
                        reason,
                    };
                    let meta: BTreeMap<String, String> = serde_json::from_slice(&read(&meta_path)?)
                        .map_err(|e| bad(e.to_string()))?;
                    for (k, v) in meta {
                        if k.bytes().chain(v.bytes()).any(|b| b < 0x20 || b == 0x7f) {
                            return Err(bad(format!("control character in {k:?}")));
                        }
                        meta_headers.push_str(&format!("x-amz-meta-{k}: {v}\r\n"));
                    }
                }
                objects.insert(rel, Object { body, meta_headers });
            }
        }
        buckets.insert(name, objects);
    }
    Ok(buckets)
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encodes everything but unreserved characters and `/` (S3's `encoding-type=url`).
fn url_encode(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

const XML_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

fn list(bucket_name: &str, bucket: &Bucket, q: &BTreeMap<String, String>) -> String {
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let v2 = get("list-type") == Some("2");
    let prefix = get("prefix").unwrap_or("");
    let after = get("continuation-token")
        .or_else(|| get("start-after"))
        .or_else(|| get("marker"))
        .unwrap_or("");
    let limit: usize = get("max-keys")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
        .min(1000);
    let delim = get("delimiter");
    let url = get("encoding-type") == Some("url");
    let enc = |s: &str| xml_escape(&if url { url_encode(s) } else { s.to_string() });
    let (mut items, mut prefixes) = (Vec::new(), Vec::<String>::new());
    let (mut truncated, mut last) = (false, None);
    let from = if after >= prefix {
        std::ops::Bound::Excluded(after)
    } else {
        std::ops::Bound::Included(prefix)
    };
    let range = bucket.range::<str, _>((from, std::ops::Bound::Unbounded));
    for (k, o) in range {
        if !k.starts_with(prefix) {
            if k.as_str() > prefix {
                break;
            }
            continue;
        }
        if items.len() + prefixes.len() >= limit {
            truncated = true;
            break;
        }
        if let Some(d) = delim {
            let rest = &k[prefix.len()..];
            if let Some(i) = rest.find(d) {
                let p = format!("{prefix}{}", &rest[..i + d.len()]);
                if prefixes.last() != Some(&p) {
                    prefixes.push(p);
                }
                last = Some(k.as_str());
                continue;
            }
        }
        items.push((k, o.body.len()));
        last = Some(k.as_str());
    }
    let mut out = format!(
        "{XML_HEAD}<ListBucketResult xmlns=\"{NS}\"><Name>{}</Name><Prefix>{}</Prefix><MaxKeys>{limit}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
        xml_escape(bucket_name),
        enc(prefix)
    );
    if url {
        out.push_str("<EncodingType>url</EncodingType>");
    }
    if let Some(d) = delim {
        out.push_str(&format!("<Delimiter>{}</Delimiter>", enc(d)));
    }
    if v2 {
        out.push_str(&format!(
            "<KeyCount>{}</KeyCount>",
            items.len() + prefixes.len()
        ));
        if truncated {
            if let Some(l) = last {
                out.push_str(&format!(
                    "<NextContinuationToken>{}</NextContinuationToken>",
                    xml_escape(l)
                ));
            }
        }
    } else if truncated {
        if let Some(l) = last {
            out.push_str(&format!("<NextMarker>{}</NextMarker>", enc(l)));
        }
    }
    for (k, size) in items {
        out.push_str(&format!(
            "<Contents><Key>{}</Key><LastModified>2024-05-01T00:00:00.000Z</LastModified><ETag>&quot;0&quot;</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>",
            enc(k)
        ));
    }
    for p in prefixes {
        out.push_str(&format!(
            "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
            enc(&p)
        ));
    }
    out.push_str("</ListBucketResult>");
    out
}

fn error_xml(code: &str, message: &str) -> Vec<u8> {
    format!("{XML_HEAD}<Error><Code>{code}</Code><Message>{message}</Message></Error>").into_bytes()
}

async fn respond(
    sock: &mut TcpStream,
    status: &str,
    ctype: &str,
    extra: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nx-amz-request-id: 0\r\n{extra}\r\n",
        body.len()
    );
    if head_only || body.is_empty() {
        return sock.write_all(head.as_bytes()).await;
    }
    // One write for small answers; headers then body for objects (TCP_NODELAY is set).
    if body.len() < 16 * 1024 {
        let mut all = head.into_bytes();
        all.extend_from_slice(body);
        sock.write_all(&all).await
    } else {
        sock.write_all(head.as_bytes()).await?;
        sock.write_all(body).await
    }
}

async fn serve(buckets: &Buckets, req: &Request, sock: &mut TcpStream) -> std::io::Result<()> {
    let head = req.method == "HEAD";
    if req.method != "GET" && !head {
        let body = error_xml("MethodNotAllowed", "read-only");
        return respond(
            sock,
            "405 Method Not Allowed",
            "application/xml",
            "",
            &body,
            false,
        )
        .await;
    }
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let q = http::parse_query(query);
    let path = path.strip_prefix('/').unwrap_or(path);
    let (bucket_name, key) = path.split_once('/').unwrap_or((path, ""));
    let bucket_name = http::percent_decode(bucket_name);
    let key = http::percent_decode(key);
    let Some(bucket) = buckets.get(&bucket_name) else {
        let body = error_xml("NoSuchBucket", "The specified bucket does not exist.");
        return respond(sock, "404 Not Found", "application/xml", "", &body, head).await;
    };
    if key.is_empty() {
        if q.contains_key("location") {
            let body =
                format!("{XML_HEAD}<LocationConstraint xmlns=\"{NS}\"></LocationConstraint>");
            return respond(sock, "200 OK", "application/xml", "", body.as_bytes(), head).await;
        }
        let body = list(&bucket_name, bucket, &q);
        return respond(sock, "200 OK", "application/xml", "", body.as_bytes(), head).await;
    }
    match bucket.get(&key) {
        Some(o) => {
            let extra = format!(
                "ETag: \"0\"\r\nLast-Modified: Wed, 01 May 2024 00:00:00 GMT\r\n{}",
                o.meta_headers
            );
            respond(
                sock,
                "200 OK",
                "application/octet-stream",
                &extra,
                &o.body,
                head,
            )
            .await
        }
        None => {
            let body = error_xml("NoSuchKey", "The specified key does not exist.");
            respond(sock, "404 Not Found", "application/xml", "", &body, head).await
        }
    }
}

async fn connection(buckets: Arc<Buckets>, mut sock: TcpStream) {
    let _ = sock.set_nodelay(true);
    let mut buf = Vec::with_capacity(8192);
    loop {
        let req = match http::read_request(&mut sock, &mut buf).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(_) => {
                let body = error_xml("BadRequest", "malformed request");
                let _ = respond(
                    &mut sock,
                    "400 Bad Request",
                    "application/xml",
                    "Connection: close\r\n",
                    &body,
                    false,
                )
                .await;
                return;
            }
        };
        if serve(&buckets, &req, &mut sock).await.is_err() || req.close {
            return;
        }
    }
}

async fn run() -> Result<(), ServeError> {
    let mut args = std::env::args().skip(1);
    let (mut dir, mut port, mut max_seconds) = (None, 0u16, 3600u64);
    while let Some(a) = args.next() {
        if a == "--max-seconds" {
            max_seconds = args
                .next()
                .and_then(|v| v.parse().ok())
                .ok_or(ServeError::Usage)?;
        } else if dir.is_none() {
            dir = Some(PathBuf::from(a));
        } else {
            port = a.parse().map_err(|_| ServeError::Usage)?;
        }
    }
    let dir = dir.ok_or(ServeError::Usage)?;
    let buckets = Arc::new(load(&dir)?);
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| ServeError::Listen { port, source })?;
    let port = listener
        .local_addr()
        .map_err(|source| ServeError::Listen { port, source })?
        .port();
    println!("listening on {port}");
    let accept = async {
        loop {
            if let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(connection(buckets.clone(), sock));
            }
        }
    };
    tokio::select! {
        _ = accept => {}
        _ = http::stdin_closed() => {}
        _ = tokio::time::sleep(Duration::from_secs(max_seconds)) => {}
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("s3-static: cannot start the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match rt.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3-static: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
