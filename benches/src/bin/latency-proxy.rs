//! A TCP proxy for the benchmarks that adds a fixed delay to every HTTP request before forwarding
//! it to the upstream server (standing in for a real S3 round trip). Connections are handled
//! concurrently and kept alive as long as both ends keep them; each request (a chunk from the
//! client that starts with an HTTP method) waits DELAY_MS before it is passed on.
//!
//! usage: `latency-proxy UPSTREAM_PORT DELAY_MS [LISTEN_PORT] [--max-seconds N]`
//!
//! Listens on 127.0.0.1 (LISTEN_PORT 0 or none: a free port) and forwards to 127.0.0.1:UPSTREAM_PORT;
//! prints `listening on PORT` on stdout; stops by itself when its stdin closes or after N seconds
//! (default 3600).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, thiserror::Error)]
enum ProxyError {
    #[error("usage: latency-proxy UPSTREAM_PORT DELAY_MS [LISTEN_PORT] [--max-seconds N]")]
    Usage,
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: std::io::Error },
}

const METHODS: [&[u8]; 7] = [
    b"GET ",
    b"PUT ",
    b"HEAD ",
    b"POST ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
];

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Option<Duration>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(d) = delay {
            if METHODS.iter().any(|m| buf[..n].starts_with(m)) {
                tokio::time::sleep(d).await;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

async fn connection(client: TcpStream, upstream: u16, delay: Duration) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    tokio::join!(pipe(cr, sw, Some(delay)), pipe(sr, cw, None));
}

async fn run() -> Result<(), ProxyError> {
    let mut args = std::env::args().skip(1);
    let mut pos = Vec::new();
    let mut max_seconds = 3600u64;
    while let Some(a) = args.next() {
        if a == "--max-seconds" {
            max_seconds = args
                .next()
                .and_then(|v| v.parse().ok())
                .ok_or(ProxyError::Usage)?;
        } else {
            pos.push(a);
        }
    }
    let upstream: u16 = pos
        .first()
        .and_then(|v| v.parse().ok())
        .ok_or(ProxyError::Usage)?;
    let delay_ms: f64 = pos
        .get(1)
        .and_then(|v| v.parse().ok())
        .filter(|d: &f64| d.is_finite() && *d >= 0.0)
        .ok_or(ProxyError::Usage)?;
    let port: u16 = match pos.get(2) {
        Some(p) => p.parse().map_err(|_| ProxyError::Usage)?,
        None => 0,
    };
    let delay = Duration::from_secs_f64(delay_ms / 1000.0);
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| ProxyError::Listen { port, source })?;
    let port = listener
        .local_addr()
        .map_err(|source| ProxyError::Listen { port, source })?
        .port();
    println!("listening on {port}");
    let accept = async {
        loop {
            if let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(connection(sock, upstream, delay));
            }
        }
    };
    tokio::select! {
        _ = accept => {}
        _ = trailwarden_bench::http::stdin_closed() => {}
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
            eprintln!("latency-proxy: cannot start the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match rt.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latency-proxy: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
