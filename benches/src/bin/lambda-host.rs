//! A minimal local Lambda Runtime API (127.0.0.1, a free port) that starts a function binary,
//! hands it one event, takes its response and stops it; it reports the cold start (process spawn
//! to the first `/invocation/next` request), the handler time, and the process's peak RSS (from
//! `wait4`).
//!
//! `lambda-host BINARY EVENT_FILE [NAME=VALUE ...]` prints JSON: its report is the only thing on
//! its stdout. The function's own stdout (JSON logs, EMF documents: what Lambda would send to
//! CloudWatch) goes to the host's stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

enum Msg {
    Next(TcpStream),
    Response(Vec<u8>, bool),
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some((method, path, body))
}

fn respond(s: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let _ = s.write_all(out.as_bytes());
    let _ = s.write_all(body);
    let _ = s.flush();
}

fn serve(conn: TcpStream, tx: mpsc::Sender<Msg>) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut r = BufReader::new(read_half);
    let mut w = conn;
    while let Some((method, path, body)) = read_request(&mut r) {
        if method == "GET" && path.ends_with("/invocation/next") {
            let Ok(c) = w.try_clone() else { return };
            let _ = tx.send(Msg::Next(c));
            // The answer is written by the main thread; wait for the next request on this connection.
            continue;
        }
        let ok = path.ends_with("/response");
        let _ = tx.send(Msg::Response(body, ok));
        respond(&mut w, "202 Accepted", &[], b"{}");
    }
}

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
            std::thread::spawn(move || serve(c, tx));
        }
    });
    let name = std::path::Path::new(&args[1])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cmd = Command::new(&args[1]);
    cmd.stdout(std::process::Stdio::from(std::io::stderr()))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
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
            Msg::Next(mut s) if !served => {
                cold_start = Some(started.elapsed());
                served = true;
                invoked_at = Instant::now();
                let deadline_ms = (std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis()
                    + 900_000)
                    .to_string();
                respond(
                    &mut s,
                    "200 OK",
                    &[
                        ("Lambda-Runtime-Aws-Request-Id", "bench-request-1".into()),
                        ("Lambda-Runtime-Deadline-Ms", deadline_ms),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn",
                            format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
                        ),
                        (
                            "Lambda-Runtime-Trace-Id",
                            "Root=1-00000000-000000000000000000000000".into(),
                        ),
                    ],
                    &event,
                );
            }
            Msg::Next(_) => break,
            Msg::Response(body, ok) => {
                handler = Some(invoked_at.elapsed());
                response = Some((String::from_utf8_lossy(&body).into_owned(), ok));
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
