//! Logging set-up: JSON lines in Lambda (CloudWatch Logs parses them), readable text on a
//! terminal. The level comes from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// For Lambda functions: JSON, no ANSI colours, no timestamps (Lambda adds them).
pub fn init_lambda() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// For the CLI: text to stderr, warnings and errors only unless `RUST_LOG` says otherwise.
pub fn init_cli() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Reads a process environment variable (the function config readers take a getter so they can
/// be tested without touching the process environment).
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
