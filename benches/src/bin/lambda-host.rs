//! A minimal local Lambda Runtime API (127.0.0.1, a free port) that starts a function binary,
//! hands it one event, takes its response and stops it; it reports the cold start (process spawn
//! to the first `/invocation/next` request), the handler time, and the process's peak RSS (from
//! `wait4`).
//!
//! `lambda-host BINARY EVENT_FILE [NAME=VALUE ...]` prints JSON: its report is the only thing on
//! its stdout. The function's own stdout (JSON logs, EMF documents: what Lambda would send to
//! CloudWatch) goes to the host's stderr.

use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use trailwarden::testkit::runtime_api::{
    answer_next, function_command, function_name, serve_connection, RuntimeMsg,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: lambda-host BINARY EVENT_FILE [NAME=VALUE ...]");
        std::process::exit(2);
    }
    let event = std::fs::read(&args[2]).expect("event file");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for c in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || serve_connection(c, tx));
        }
    });
    let bin = std::path::Path::new(&args[1]);
    let name = function_name(bin);
    let mut cmd = function_command(bin, addr, "bench");
    cmd.stdout(std::process::Stdio::from(std::io::stderr()))
        .env("RUST_LOG", "warn");
    for kv in &args[3..] {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    let started = Instant::now();
    // Reaped below with wait4, which also gives its peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().expect("spawn the function");
    let pid = child.id() as i32;
    let deadline = Duration::from_secs(600);
    let mut cold_start = None;
    let mut handler = None;
    let mut response = None;
    let mut served = false;
    let mut invoked_at = Instant::now();
    while let Ok(m) = rx.recv_timeout(deadline) {
        match m {
            RuntimeMsg::Next(mut s) if !served => {
                cold_start = Some(started.elapsed());
                served = true;
                invoked_at = Instant::now();
                answer_next(&mut s, "bench-request-1", &name, &event);
            }
            RuntimeMsg::Next(_) => break,
            RuntimeMsg::Response(body) => {
                handler = Some(invoked_at.elapsed());
                response = Some((String::from_utf8_lossy(&body).into_owned(), true));
            }
            RuntimeMsg::Error(body) => {
                handler = Some(invoked_at.elapsed());
                response = Some((String::from_utf8_lossy(&body).into_owned(), false));
                if !served {
                    break; // init error
                }
            }
        }
    }
    // SAFETY: plain libc calls on the child's pid; rusage is ours.
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::wait4(pid, &mut status, 0, &mut usage);
    }
    let (body, ok) = response.unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "function": name,
            "cold_start_ms": cold_start.map(|d| d.as_secs_f64() * 1e3),
            "handler_ms": handler.map(|d| d.as_secs_f64() * 1e3),
            "peak_rss_kib": usage.ru_maxrss,
            "ok": ok,
            "response": serde_json::from_str::<serde_json::Value>(&body).unwrap_or(serde_json::Value::String(body)),
        })
    );
}
