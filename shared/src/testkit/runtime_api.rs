//! The pieces of a local Lambda Runtime API shared by the integration tests
//! (`tests/src/runtime_api.rs`: kill a function mid-invocation, restart it) and the benchmark host
//! (`benches/src/bin/lambda-host.rs`: cold start, handler time, peak RSS), over the blocking
//! HTTP/1.1 of [`super::http`]: what `lambda_runtime` sends.
//!
//! The caller owns the listener (on 127.0.0.1) and hands each connection to [`serve_connection`],
//! which forwards what the function asks or reports as a [`RuntimeMsg`]. The caller answers a
//! [`RuntimeMsg::Next`] with [`answer_next`] when it wants the function to run an event.

use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;

use super::http::{read_request, respond};

/// What a function process asked for or reported.
pub enum RuntimeMsg {
    /// `GET .../invocation/next`: the connection on which to hand it the next event.
    Next(TcpStream),
    /// `POST .../invocation/{id}/response`: the handler's result.
    Response(Vec<u8>),
    /// Any other POST (`.../error`, `/init/error`): the error document.
    Error(Vec<u8>),
}

/// Serves one connection of a function process until it closes: each request goes to `tx`; the
/// POSTs are answered `202 Accepted` at once, `next` is left to whoever receives it.
pub fn serve_connection(conn: TcpStream, tx: mpsc::Sender<RuntimeMsg>) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut r = BufReader::new(read_half);
    let mut w = conn;
    // The function keeps its connection open between requests; an empty request line is EOF.
    while let Ok(req) = read_request(&mut r) {
        if req.method.is_empty() {
            return;
        }
        if req.method == "GET" && req.target.ends_with("/invocation/next") {
            let Ok(c) = w.try_clone() else { return };
            let _ = tx.send(RuntimeMsg::Next(c));
            continue;
        }
        let msg = if req.target.ends_with("/response") {
            RuntimeMsg::Response(req.body)
        } else {
            RuntimeMsg::Error(req.body)
        };
        let _ = tx.send(msg);
        respond(&mut w, "202 Accepted", &[], b"{}");
    }
}

/// Answers a `next` request with `event`, as the Lambda service does: request id, a deadline 15
/// minutes ahead, the function's ARN and a trace header.
pub fn answer_next(conn: &mut TcpStream, request_id: &str, function_name: &str, event: &[u8]) {
    let deadline_ms = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        + 900_000)
        .to_string();
    respond(
        conn,
        "200 OK",
        &[
            ("Lambda-Runtime-Aws-Request-Id", request_id.to_string()),
            ("Lambda-Runtime-Deadline-Ms", deadline_ms),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            ),
            (
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000".into(),
            ),
        ],
        event,
    );
}

/// The function binary `bin` as a command whose environment points it at the Runtime API on
/// `api`, with the variables Lambda sets (name from the file name, 256 MB, `log_stream`).
pub fn function_command(bin: &Path, api: SocketAddr, log_stream: &str) -> Command {
    let name = function_name(bin);
    let mut cmd = Command::new(bin);
    cmd.env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream)
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"));
    cmd
}

/// The function's name: the binary's file name.
pub fn function_name(bin: &Path) -> String {
    bin.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::http::header;
    use super::*;
    use std::io::{BufRead, Read, Write};
    use std::net::TcpListener;

    /// A client speaking the Runtime API's three requests gets each one forwarded, the POSTs
    /// answered 202, and the event handed over by `answer_next`.
    #[test]
    fn forwards_next_response_and_error() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = mpsc::channel();
        let server = std::thread::spawn(move || {
            let (c, _) = listener.accept().expect("accept");
            serve_connection(c, tx);
        });
        let mut client = TcpStream::connect(addr).expect("connect");
        let mut reader = BufReader::new(client.try_clone().expect("clone"));
        let read_response = |r: &mut BufReader<TcpStream>| {
            let mut status = String::new();
            r.read_line(&mut status).expect("status");
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                r.read_line(&mut h).expect("header");
                if h == "\r\n" {
                    break;
                }
                let (k, v) = h.split_once(':').expect("header line");
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            let len: usize = header(&headers, "content-length")
                .and_then(|v| v.parse().ok())
                .expect("content-length");
            let mut body = vec![0; len];
            r.read_exact(&mut body).expect("body");
            (status, headers, body)
        };

        client
            .write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let Ok(RuntimeMsg::Next(mut conn)) = rx.recv() else {
            panic!("expected a next request");
        };
        answer_next(&mut conn, "req-1", "fn", br#"{"a":1}"#);
        let (status, headers, body) = read_response(&mut reader);
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        assert_eq!(
            header(&headers, "lambda-runtime-aws-request-id"),
            Some("req-1")
        );
        assert_eq!(
            header(&headers, "Lambda-Runtime-Invoked-Function-Arn"),
            Some("arn:aws:lambda:us-east-1:123456789012:function:fn")
        );
        assert_eq!(body, br#"{"a":1}"#);

        for (path, want_response) in [
            ("/2018-06-01/runtime/invocation/req-1/response", true),
            ("/2018-06-01/runtime/invocation/req-1/error", false),
        ] {
            client
                .write_all(
                    format!("POST {path} HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").as_bytes(),
                )
                .expect("write");
            match rx.recv() {
                Ok(RuntimeMsg::Response(b)) if want_response => assert_eq!(b, b"hello"),
                Ok(RuntimeMsg::Error(b)) if !want_response => assert_eq!(b, b"hello"),
                _ => panic!("{path}: wrong message"),
            }
            let (status, _, body) = read_response(&mut reader);
            assert!(status.starts_with("HTTP/1.1 202"), "{status}");
            assert_eq!(body, b"{}");
        }
        drop(reader);
        drop(client);
        server
            .join()
            .expect("the server ends when the client closes");
        assert!(rx.recv().is_err(), "nothing more after the close");
    }
}
