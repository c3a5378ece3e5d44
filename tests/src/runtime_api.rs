//! A minimal local Lambda Runtime API on a free 127.0.0.1 port (stopped on drop), for tests that need to control
//! a function process directly (kill it mid-invocation, start a fresh one): it serves one event
//! per [`RuntimeApi::invoke`] to whichever process asks for the next invocation, and reports the
//! function's response, its error, or its death.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use trailwarden::testkit::runtime_api::{
    answer_next, function_command, serve_connection, RuntimeMsg as Msg,
};

/// How one invocation ended.
#[derive(Debug)]
pub enum RuntimeOutcome {
    /// The function posted a response.
    Response(Value),
    /// The function posted an invocation or init error.
    Error(String),
    /// The process ended without answering (exit status).
    Died(String),
    /// Nothing within the time limit.
    TimedOut,
}

pub struct RuntimeApi {
    addr: SocketAddr,
    rx: mpsc::Receiver<Msg>,
    requests: u64,
    /// Stops with the value (and by itself after the proxies' lifetime limit).
    _server: crate::proxy::Server,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let (tx, rx) = mpsc::channel();
        let server = crate::proxy::Server::start(move |c| serve_connection(c, tx.clone()));
        RuntimeApi {
            addr: SocketAddr::from(([127, 0, 0, 1], server.port)),
            rx,
            requests: 0,
            _server: server,
        }
    }

    /// Starts the function binary against this Runtime API (stale requests of earlier processes
    /// are dropped first). The process is wrapped in nothing: the caller kills and reaps it.
    pub fn spawn(&self, bin: &Path, env: &[(String, String)]) -> Child {
        self.spawn_logging(bin, env, None)
    }

    /// As [`RuntimeApi::spawn`], with the function's stdout and stderr (its logs) appended to
    /// `log` when given.
    pub fn spawn_logging(&self, bin: &Path, env: &[(String, String)], log: Option<&Path>) -> Child {
        while self.rx.try_recv().is_ok() {}
        let (out, err) = match log {
            Some(p) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let g = f.try_clone().expect("log file handle");
                (Stdio::from(f), Stdio::from(g))
            }
            None => (Stdio::null(), Stdio::inherit()),
        };
        function_command(bin, self.addr, "test")
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()))
    }

    /// Hands `event` to the process's next-invocation request and waits for its answer.
    pub fn invoke(&mut self, event: Value, timeout: Duration, child: &mut Child) -> RuntimeOutcome {
        let deadline = Instant::now() + timeout;
        let body = event.to_string().into_bytes();
        let mut served = false;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                // Take an answer that arrived just before the exit.
                return match self.rx.try_recv() {
                    Ok(Msg::Response(b)) if served => parse(b),
                    Ok(Msg::Error(b)) => RuntimeOutcome::Error(String::from_utf8_lossy(&b).into()),
                    _ => RuntimeOutcome::Died(status.to_string()),
                };
            }
            match self.rx.recv_timeout(Duration::from_millis(20)) {
                Ok(Msg::Next(mut s)) if !served => {
                    self.requests += 1;
                    served = true;
                    answer_next(
                        &mut s,
                        &format!("test-request-{}", self.requests),
                        "test",
                        &body,
                    );
                }
                Ok(Msg::Next(_)) => {}
                Ok(Msg::Response(b)) => return parse(b),
                Ok(Msg::Error(b)) => {
                    return RuntimeOutcome::Error(String::from_utf8_lossy(&b).into())
                }
                Err(_) => {}
            }
        }
        RuntimeOutcome::TimedOut
    }
}

fn parse(b: Vec<u8>) -> RuntimeOutcome {
    match serde_json::from_slice(&b) {
        Ok(v) => RuntimeOutcome::Response(v),
        Err(_) => RuntimeOutcome::Response(Value::String(String::from_utf8_lossy(&b).into())),
    }
}

/// Builds a function binary of the workspace (debug) and returns its path.
pub fn function_binary(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--bin", name])
        .current_dir(crate::repo_root())
        .status()
        .unwrap_or_else(|e| panic!("cargo build --bin {name}: {e}"));
    assert!(status.success(), "cargo build --bin {name} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("target"));
    target.join("debug").join(name)
}
