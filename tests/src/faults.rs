//! A fault-injecting HTTP proxy in front of moto_server, on a free 127.0.0.1 port, for the
//! fault tests (issue 7). It stops with the value (drop) and by itself after
//! [`crate::proxy::MAX_LIFETIME`] (both from [`crate::proxy`]'s server).
//!
//! Requests that match the proxy's [`Target`] fail with the configured share (seeded, so a run
//! is reproducible), cycling through the [`Fault`] kinds: 500 InternalError, 503 SlowDown, a
//! throttling answer in the service's protocol, and a dropped connection (the request is read,
//! the connection closed without an answer). A faulted request never reaches the emulator:
//! these are the failures where the service did not act. Everything else is forwarded and the
//! emulator's answer is passed back byte for byte (status, headers such as `x-amz-meta-*`,
//! body).
//!
//! An `after_forward` hook sees every forwarded matching request once the emulator has answered
//! and before the answer goes back; returning [`AfterForward::Drop`] closes the client's
//! connection without the answer (used to kill a function between its PutObject and its
//! response).

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::proxy::{forward_raw, header, read_request, respond, Request, Server};

/// The kinds of fault, injected in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// 500 `InternalError`.
    InternalError,
    /// 503 `SlowDown` (S3's throttling answer).
    SlowDown,
    /// Throttling in the service's protocol: 400 `ThrottlingException` (JSON services),
    /// 400 `Throttling` (query/XML services), 503 `SlowDown` with S3's `Throttling` code for S3.
    Throttling,
    /// The request is read and the connection closed without an answer.
    DropConnection,
}

impl Fault {
    pub const ALL: [Fault; 4] = [
        Fault::InternalError,
        Fault::SlowDown,
        Fault::Throttling,
        Fault::DropConnection,
    ];
}

/// Which requests may fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// S3 PutObject (the Rust SDK marks it with `x-id=PutObject` in the query).
    PutObject,
    /// Every request.
    All,
}

impl Target {
    fn matches(self, req: &Request) -> bool {
        match self {
            Target::PutObject => req.method == "PUT" && req.target.contains("x-id=PutObject"),
            Target::All => true,
        }
    }
}

/// What to do with the emulator's answer to a forwarded matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterForward {
    Pass,
    Drop,
}

/// Called with the request's path and body and the emulator's status.
pub type Hook = Arc<dyn Fn(&str, &[u8], u16) -> AfterForward + Send + Sync>;

struct State {
    share: f64,
    target: Target,
    rng: u64,
    next_kind: usize,
    injected: BTreeMap<Fault, u64>,
    matching: u64,
    forwarded: u64,
    hook: Option<Hook>,
}

impl State {
    /// xorshift64*: deterministic for a seed.
    fn next_f64(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Counts of what the proxy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Matching requests seen.
    pub matching: u64,
    /// Faults injected, per kind.
    pub injected: BTreeMap<Fault, u64>,
    /// Requests forwarded to the emulator (matching or not).
    pub forwarded: u64,
}

impl FaultStats {
    pub fn injected_total(&self) -> u64 {
        self.injected.values().sum()
    }
}

/// The proxy.
pub struct FaultProxy {
    pub port: u16,
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    _server: Server,
}

impl FaultProxy {
    /// Starts a proxy to the emulator on `upstream_port` failing `share` (0.0-1.0) of the
    /// requests matching `target`, with a seeded choice.
    pub fn start(upstream_port: u16, target: Target, share: f64, seed: u64) -> FaultProxy {
        let state = Arc::new(Mutex::new(State {
            share,
            target,
            rng: seed.max(1),
            next_kind: 0,
            injected: BTreeMap::new(),
            matching: 0,
            forwarded: 0,
            hook: None,
        }));
        let st = state.clone();
        let server = Server::start(move |conn| {
            let _ = serve(conn, upstream_port, &st);
        });
        FaultProxy {
            port: server.port,
            endpoint: format!("http://127.0.0.1:{}", server.port),
            state,
            _server: server,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the share of matching requests that fail.
    pub fn set_share(&self, share: f64) {
        self.lock().share = share;
    }

    /// Installs the hook called after each forwarded matching request.
    pub fn set_after_forward(&self, hook: Option<Hook>) {
        self.lock().hook = hook;
    }

    pub fn stats(&self) -> FaultStats {
        let s = self.lock();
        FaultStats {
            matching: s.matching,
            injected: s.injected.clone(),
            forwarded: s.forwarded,
        }
    }
}

fn serve(conn: TcpStream, upstream_port: u16, state: &Mutex<State>) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    let req = read_request(&mut reader)?;
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let (fault, hook) = {
        let mut s = lock();
        if s.target.matches(&req) {
            s.matching += 1;
            let roll = s.next_f64();
            let fault = if roll < s.share {
                let k = Fault::ALL[s.next_kind % Fault::ALL.len()];
                s.next_kind += 1;
                *s.injected.entry(k).or_default() += 1;
                Some(k)
            } else {
                None
            };
            (fault, s.hook.clone())
        } else {
            (None, None)
        }
    };
    if let Some(f) = fault {
        return inject(&mut conn, &req, f);
    }
    let raw = forward_raw(&req, upstream_port)?;
    lock().forwarded += 1;
    if let Some(hook) = hook {
        let status = raw
            .split(|b| *b == b'\r')
            .next()
            .and_then(|l| std::str::from_utf8(l).ok())
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(502);
        let path = req.target.split('?').next().unwrap_or("");
        if hook(path, &req.body, status) == AfterForward::Drop {
            return conn.shutdown(std::net::Shutdown::Both);
        }
    }
    conn.write_all(&raw)?;
    conn.flush()
}

fn inject(conn: &mut TcpStream, req: &Request, f: Fault) -> std::io::Result<()> {
    let s3_error = |code: &str, message: &str| {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>FAULT</RequestId></Error>")
    };
    let json_service = header(&req.headers, "x-amz-target").is_some();
    let s3 = !json_service && !String::from_utf8_lossy(&req.body).contains("Action=");
    match f {
        Fault::InternalError => respond(
            conn,
            500,
            "application/xml",
            s3_error(
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
            .as_bytes(),
        ),
        Fault::SlowDown => respond(
            conn,
            503,
            "application/xml",
            s3_error("SlowDown", "Please reduce your request rate.").as_bytes(),
        ),
        Fault::Throttling if json_service => respond(
            conn,
            400,
            "application/x-amz-json-1.1",
            br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        ),
        Fault::Throttling if s3 => respond(
            conn,
            503,
            "application/xml",
            s3_error("Throttling", "Rate exceeded").as_bytes(),
        ),
        Fault::Throttling => respond(
            conn,
            400,
            "text/xml",
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>FAULT</RequestId></ErrorResponse>",
        ),
        Fault::DropConnection => conn.shutdown(std::net::Shutdown::Both),
    }
}
