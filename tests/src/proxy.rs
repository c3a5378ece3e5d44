//! A recording HTTP proxy in front of moto_server for the AWS Config tests, on a free 127.0.0.1
//! port. It stops with the value (drop) and by itself after [`MAX_LIFETIME`].
//!
//! What it does with each request the SDK sends:
//! * records it (operation from `X-Amz-Target` or the query `Action`, JSON body) for the tests
//!   to inspect the real wire requests;
//! * `PutEvaluations` **without** `TestMode`: answers `{"FailedEvaluations":[...]}` itself (moto
//!   implements `PutEvaluations` only with `TestMode=true` and answers an HTML 500 otherwise);
//!   with `TestMode=true` the request goes to moto, which validates it;
//! * `GetComplianceDetailsByConfigRule`: answers from [`ConfigProxy::set_previous_evaluations`],
//!   in pages (moto does not implement it);
//! * faults on demand: [`ConfigProxy::throttle`] (400 `ThrottlingException`) and
//!   [`ConfigProxy::fail`];
//! * everything else goes to moto. In moto's Config answers the timestamps
//!   (`configurationItemCaptureTime`, `resourceCreationTime`) are Python `str(datetime)` text
//!   (`"2026-11-21 10:07:11.179226+00:00"`) where AWS sends epoch seconds; the AWS SDK for Rust
//!   rejects those answers, so the proxy rewrites them to epoch seconds, as AWS sends them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Longest the proxy lives.
pub const MAX_LIFETIME: Duration = Duration::from_secs(1800);
/// Evaluation results per `GetComplianceDetailsByConfigRule` page.
pub const COMPLIANCE_PAGE: usize = 100;

/// One request as the SDK sent it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// e.g. `PutEvaluations`, `GetResourceConfigHistory`, `ListUsers`.
    pub operation: String,
    /// The JSON body (`Null` for non-JSON bodies).
    pub body: Value,
    /// The HTTP status answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    previous: Vec<Value>,
    throttle: BTreeMap<String, u32>,
    fail: BTreeMap<String, (u16, String, String)>,
    reject_ids: BTreeSet<String>,
}

/// The proxy. See the module documentation.
pub struct ConfigProxy {
    pub port: u16,
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    _server: Server,
}

impl ConfigProxy {
    /// Starts a proxy forwarding to moto on `upstream_port`.
    pub fn start(upstream_port: u16) -> ConfigProxy {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let server = Server::start(move |conn| {
            let _ = serve(conn, upstream_port, &st);
        });
        ConfigProxy {
            port: server.port,
            endpoint: format!("http://127.0.0.1:{}", server.port),
            state,
            _server: server,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request recorded so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The bodies of the recorded requests of one operation.
    pub fn bodies(&self, operation: &str) -> Vec<Value> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.operation == operation)
            .map(|r| r.body.clone())
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.lock().requests.clear();
    }

    /// The evaluation results `GetComplianceDetailsByConfigRule` returns:
    /// `(resourceType, resourceId, complianceType)`.
    pub fn set_previous_evaluations(&self, rule: &str, previous: &[(&str, &str, &str)]) {
        self.lock().previous = previous
            .iter()
            .map(|(t, id, c)| {
                json!({
                    "EvaluationResultIdentifier": {
                        "EvaluationResultQualifier": {
                            "ConfigRuleName": rule, "ResourceType": t, "ResourceId": id,
                        },
                        "OrderingTimestamp": 1.7e9,
                    },
                    "ComplianceType": c,
                    "ResultRecordedTime": 1.7e9,
                    "ConfigRuleInvokedTime": 1.7e9,
                })
            })
            .collect();
    }

    /// Answers the next `times` calls of `operation` with 400 `ThrottlingException`.
    pub fn throttle(&self, operation: &str, times: u32) {
        self.lock().throttle.insert(operation.to_string(), times);
    }

    /// Answers every call of `operation` with this error.
    pub fn fail(&self, operation: &str, status: u16, code: &str, message: &str) {
        self.lock().fail.insert(
            operation.to_string(),
            (status, code.to_string(), message.to_string()),
        );
    }

    /// Non-TestMode `PutEvaluations` reports evaluations of this resource as failed.
    pub fn reject_evaluations_for(&self, resource_id: &str) {
        self.lock().reject_ids.insert(resource_id.to_string());
    }
}

/// A listener on a free 127.0.0.1 port that hands every connection to `handle` on a thread of
/// its own; it stops on drop, and by itself after [`MAX_LIFETIME`]. The proxies are built on it.
pub(crate) struct Server {
    pub(crate) port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub(crate) fn start<F>(handle: F) -> Server
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let sp = stop.clone();
        let handle = Arc::new(handle);
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + MAX_LIFETIME;
            while !sp.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let handle = handle.clone();
                        std::thread::spawn(move || handle(conn));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(crate) use trailwarden::testkit::http::{header, read_request, Request};

fn operation(req: &Request) -> String {
    if let Some(t) = header(&req.headers, "x-amz-target") {
        return t.rsplit('.').next().unwrap_or(t).to_string();
    }
    let text = String::from_utf8_lossy(&req.body);
    let query = req.target.split_once('?').map(|(_, q)| q).unwrap_or("");
    for pair in text.split('&').chain(query.split('&')) {
        if let Some(action) = pair.strip_prefix("Action=") {
            return action.to_string();
        }
    }
    format!("{} {}", req.method, req.target)
}

pub(crate) fn respond(
    conn: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        429 => "Too Many Requests",
        _ => "Error",
    };
    write!(
        conn,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    conn.write_all(body)?;
    conn.flush()
}

fn serve(conn: TcpStream, upstream_port: u16, state: &Mutex<State>) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    let req = read_request(&mut reader)?;
    let op = operation(&req);
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let record = |status: u16| {
        lock().requests.push(Recorded {
            operation: op.clone(),
            body: body.clone(),
            status,
        })
    };
    const JSON: &str = "application/x-amz-json-1.1";

    // Faults first.
    let throttled = {
        let mut s = lock();
        match s.throttle.get_mut(&op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    };
    if throttled {
        record(400);
        let b = json!({"__type": "ThrottlingException", "message": "Rate exceeded"});
        return respond(&mut conn, 400, JSON, b.to_string().as_bytes());
    }
    let failure = lock().fail.get(&op).cloned();
    if let Some((status, code, message)) = failure {
        record(status);
        let b = json!({"__type": code, "message": message});
        return respond(&mut conn, status, JSON, b.to_string().as_bytes());
    }

    match op.as_str() {
        "PutEvaluations" if body.get("TestMode") != Some(&Value::Bool(true)) => {
            let reject = lock().reject_ids.clone();
            let failed: Vec<Value> = body["Evaluations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| {
                    e["ComplianceResourceId"]
                        .as_str()
                        .is_some_and(|id| reject.contains(id))
                })
                .cloned()
                .collect();
            record(200);
            let b = json!({ "FailedEvaluations": failed });
            return respond(&mut conn, 200, JSON, b.to_string().as_bytes());
        }
        "GetComplianceDetailsByConfigRule" => {
            let previous = lock().previous.clone();
            let start: usize = body["NextToken"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let limit = body["Limit"]
                .as_u64()
                .map(|l| l as usize)
                .filter(|l| *l > 0)
                .unwrap_or(COMPLIANCE_PAGE)
                .min(COMPLIANCE_PAGE);
            let end = (start + limit).min(previous.len());
            let mut b =
                json!({ "EvaluationResults": previous.get(start..end).unwrap_or_default() });
            if end < previous.len() {
                b["NextToken"] = Value::String(end.to_string());
            }
            record(200);
            return respond(&mut conn, 200, JSON, b.to_string().as_bytes());
        }
        _ => {}
    }

    // Forward to moto.
    let (status, headers, mut resp_body) = forward(&req, upstream_port)?;
    record(status);
    if let Ok(mut v) = serde_json::from_slice::<Value>(&resp_body) {
        if fix_timestamps(&mut v) {
            resp_body = v.to_string().into_bytes();
        }
    }
    let ct = header(&headers, "content-type").unwrap_or(JSON).to_string();
    respond(&mut conn, status, &ct, &resp_body)
}

pub(crate) type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// Forwards the request to moto and returns its whole answer, byte for byte.
pub(crate) fn forward_raw(req: &Request, port: u16) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", port))?;
    up.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    up.flush()?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw)?;
    Ok(raw)
}

/// Forwards the request to moto and returns its status, headers and (de-chunked) body.
pub(crate) fn forward(req: &Request, port: u16) -> std::io::Result<Response> {
    let raw = forward_raw(req, port)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP header from moto"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if header(&headers, "transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        body = dechunk(&body);
    } else if let Some(n) = header(&headers, "content-length").and_then(|v| v.parse::<usize>().ok())
    {
        body.truncate(n);
    }
    Ok((status, headers, body))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..eol])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(data.len());
        out.extend_from_slice(&data[start..end]);
        data = &data[(end + 2).min(data.len())..];
    }
    out
}

const TIME_KEYS: &[&str] = &[
    "configurationItemCaptureTime",
    "resourceCreationTime",
    "configurationItemDeliveryTime",
    "resourceDeletionTime",
];

/// Rewrites moto's `str(datetime)` timestamps to epoch seconds; true if anything changed.
fn fix_timestamps(v: &mut Value) -> bool {
    let mut changed = false;
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if TIME_KEYS.contains(&k.as_str()) {
                    if let Some(secs) = x.as_str().and_then(epoch_of) {
                        *x = json!(secs);
                        changed = true;
                        continue;
                    }
                }
                changed |= fix_timestamps(x);
            }
        }
        Value::Array(a) => {
            for x in a {
                changed |= fix_timestamps(x);
            }
        }
        _ => {}
    }
    changed
}

fn epoch_of(s: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .ok()?;
    Some(t.timestamp_millis() as f64 / 1000.0)
}

/// A plain HTTP/1.1 POST of a JSON body to 127.0.0.1 (e.g. a Lambda invoke against
/// `cargo lambda watch`), returning the status and the body. `timeout` bounds each read.
pub fn post_json(
    port: u16,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(timeout))?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    s.flush()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP header in the answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moto_timestamps_become_epoch_seconds() {
        let mut v = json!({"configurationItems": [{
            "configurationItemCaptureTime": "2026-11-21 10:07:11.179226+00:00",
            "resourceCreationTime": "2026-11-21T10:07:11.179Z",
            "configuration": "{}"
        }]});
        assert!(fix_timestamps(&mut v));
        let item = &v["configurationItems"][0];
        assert_eq!(item["configurationItemCaptureTime"], json!(1795255631.179));
        assert_eq!(item["resourceCreationTime"], json!(1795255631.179));
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), b"abcde");
    }
}
