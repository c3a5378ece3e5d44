//! The notifier port (SNS in production) and an in-memory implementation for tests.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("publishing the notification failed: {0}")]
pub struct NotifyError(pub String);

/// SNS accepts at most 256 KiB per message; subjects at most 100 characters.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
pub const MAX_SUBJECT_CHARS: usize = 100;

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), NotifyError>;
}

/// Trims a subject to what SNS accepts (ASCII printable, at most 100 characters).
pub fn sns_subject(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .take(MAX_SUBJECT_CHARS)
        .collect()
}

#[derive(Clone, Default)]
pub struct MemoryNotifier {
    pub sent: Arc<Mutex<Vec<(String, String)>>>,
}

impl MemoryNotifier {
    pub fn messages(&self) -> Vec<(String, String)> {
        self.sent.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), NotifyError> {
        self.sent
            .lock()
            .map_err(|e| NotifyError(e.to_string()))?
            .push((subject.to_string(), message.to_string()));
        Ok(())
    }
}
