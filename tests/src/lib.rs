//! The local AWS emulator for integration tests: `moto_server` on a free 127.0.0.1 port, started
//! per test binary (or per test), stopped on drop, and wrapped in `timeout` so it stops by itself
//! even if the test process is killed.
//!
//! `scripts/test.sh` installs the emulator and sets `MOTO_SERVER`; without it the tests fail with
//! a message saying so.

pub mod faults;
pub mod proxy;
pub mod runtime_api;

pub use runtime_api::function_binary;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root (for events/, scripts/) and the reference kit beside it.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
pub fn kit() -> PathBuf {
    std::env::var_os("TRAILWARDEN_KIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"))
}

/// Picks a free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// A running moto_server.
pub struct Moto {
    child: Child,
    pub port: u16,
    pub endpoint: String,
}

/// Longest a test emulator may live (it stops by itself after this even if never dropped).
const MAX_LIFETIME_SECS: u64 = 1800;

impl Moto {
    pub fn start() -> Moto {
        let bin = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = free_port();
        let child = Command::new("timeout")
            .arg(MAX_LIFETIME_SECS.to_string())
            .arg(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}. Run scripts/test.sh, which installs the emulator (moto[server]) and sets MOTO_SERVER."));
        let mut moto = Moto {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if http_get(port, "/moto-api/").is_some() {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("{bin} exited ({status}) before it was ready. Run scripts/test.sh, which installs it.");
            }
            if Instant::now() > deadline {
                panic!("{bin} did not answer on 127.0.0.1:{port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Forgets every resource (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let ok = TcpStream::connect(("127.0.0.1", self.port)).and_then(|mut s| {
            write!(s, "POST /moto-api/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
            let mut buf = String::new();
            s.read_to_string(&mut buf)?;
            Ok(buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200"))
        });
        assert!(matches!(ok, Ok(true)), "moto reset failed: {ok:?}");
    }

    /// SDK configuration pointing at this emulator with dummy credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        trailwarden::aws::config_loader()
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "moto",
            ))
            .load()
            .await
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let cfg = self.sdk_config().await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&cfg)
                .force_path_style(true)
                .build(),
        )
    }

    /// Creates a bucket and returns an [`trailwarden::aws::s3::S3Store`] on the emulator.
    pub async fn bucket(&self, name: &str) -> trailwarden::aws::s3::S3Store {
        let s3 = self.s3().await;
        s3.create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("create bucket");
        trailwarden::aws::s3::S3Store::new(s3, trailwarden::aws::s3::Sse::S3)
    }

    /// Environment for child processes (functions, the CLI, the AWS CLI) to use this emulator.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // SIGTERM to `timeout`, which forwards it to moto_server.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP GET on 127.0.0.1 (readiness probes), returning the body.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    if buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200") {
        Some(
            buf.split_once("\r\n\r\n")
                .map(|(_, b)| b.to_string())
                .unwrap_or_default(),
        )
    } else {
        None
    }
}

/// The Python tools' bin directory (awscli, cargo-lambda), from `MOTO_SERVER`'s location.
pub fn tools_bin() -> Option<PathBuf> {
    std::env::var_os("MOTO_SERVER").and_then(|m| PathBuf::from(m).parent().map(PathBuf::from))
}

/// `cargo lambda watch` on a free 127.0.0.1 port (the Lambda runtime API emulator: functions run
/// through the real `lambda_runtime` path), in its own process group, stopped on drop and wrapped
/// in `timeout` so it stops by itself.
pub struct LambdaWatch {
    child: Child,
    pub port: u16,
}

impl LambdaWatch {
    pub fn start(env: &[(String, String)]) -> LambdaWatch {
        use std::os::unix::process::CommandExt;
        let bin = tools_bin()
            .map(|b| b.join("cargo-lambda"))
            .unwrap_or_else(|| PathBuf::from("cargo-lambda"));
        let port = free_port();
        let log = std::env::temp_dir().join(format!("cargo-lambda-watch-{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new("timeout")
            .arg(MAX_LIFETIME_SECS.to_string())
            .arg(&bin)
            .args([
                "lambda",
                "watch",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
            ])
            .current_dir(repo_root())
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; run scripts/test.sh, which installs cargo-lambda",
                    bin.display()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen on {port}; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        LambdaWatch { child, port }
    }

    /// `cargo lambda invoke NAME --data-file FILE`, returning the function's JSON response.
    pub fn invoke(
        &self,
        function: &str,
        data_file: &std::path::Path,
    ) -> Result<serde_json::Value, String> {
        let bin = tools_bin()
            .map(|b| b.join("cargo-lambda"))
            .unwrap_or_else(|| PathBuf::from("cargo-lambda"));
        let out = Command::new(bin)
            .args([
                "lambda",
                "invoke",
                function,
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &self.port.to_string(),
                "--output-format",
                "json",
                "--data-file",
            ])
            .arg(data_file)
            .current_dir(repo_root())
            .output()
            .map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
        }
        serde_json::from_str(&stdout).map_err(|e| format!("{e}: {stdout}"))
    }
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .status();
        let _ = self.child.wait();
    }
}
