//! Attempt tracking and remediation exceptions, one JSON object per runbook and resource in the
//! trail bucket: `[prefix/]trailwarden/remediation/<acct>/<region>/<runbook>/<resource>.json`.
//!
//! Every change is a read-modify-write with a conditional write (`If-None-Match: *` to create,
//! `If-Match: <etag>` to replace), retried on a lost race, so concurrent invocations never lose
//! an attempt. To clear an exception, delete the object (`aws s3 rm s3://...`).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::layout::{check_account_id, check_region, TrailLocation};
use crate::store::{ObjectStore, Put, StoreError};

/// Why the state could not be read or written.
#[derive(Debug, Error)]
pub enum StateError {
    #[error("remediation state: {0}")]
    Store(#[from] StoreError),
    #[error("remediation state at s3://{bucket}/{key} is not readable ({reason}); delete it to reset the attempts")]
    Corrupt {
        bucket: String,
        key: String,
        reason: String,
    },
    #[error("remediation state at s3://{bucket}/{key} kept changing under concurrent writers; giving up after {tries} tries")]
    Contended {
        bucket: String,
        key: String,
        tries: u32,
    },
    #[error("remediation state: {0}")]
    BadTarget(String),
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttemptStatus {
    InProgress,
    Succeeded,
    Failed,
}

/// One attempt (a run that made, or tried to make, calls).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub time: DateTime<Utc>,
    pub execution_id: String,
    pub status: AttemptStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A remediation exception: the resource is left alone until someone clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemediationException {
    pub created: DateTime<Utc>,
    pub reason: String,
    pub attempts_in_window: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The state of one runbook on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceState {
    pub version: u32,
    pub runbook: String,
    pub resource_type: String,
    pub resource_id: String,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<RemediationException>,
}

/// Attempts kept for history beyond the window.
const KEEP_HISTORY: usize = 20;

impl ResourceState {
    pub fn new(runbook: &str, resource_type: &str, resource_id: &str) -> Self {
        Self {
            version: 1,
            runbook: runbook.into(),
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            attempts: Vec::new(),
            exception: None,
        }
    }

    /// Attempts (of any outcome) within the window ending at `now`.
    pub fn in_window(&self, now: DateTime<Utc>, window: Duration) -> u32 {
        self.attempts
            .iter()
            .filter(|a| a.time > now - window)
            .count() as u32
    }

    /// Failed attempts within the window ending at `now`.
    pub fn failed_in_window(&self, now: DateTime<Utc>, window: Duration) -> u32 {
        self.attempts
            .iter()
            .filter(|a| a.time > now - window && a.status == AttemptStatus::Failed)
            .count() as u32
    }

    /// Failed or still running attempts within the window: what the limit counts (a running
    /// attempt may still fail, so concurrent invocations cannot exceed the limit together).
    pub fn counted_in_window(&self, now: DateTime<Utc>, window: Duration) -> u32 {
        self.attempts
            .iter()
            .filter(|a| a.time > now - window && a.status != AttemptStatus::Succeeded)
            .count() as u32
    }

    fn trim(&mut self, now: DateTime<Utc>, window: Duration) {
        let keep_from = self.attempts.len().saturating_sub(KEEP_HISTORY);
        let mut i = 0;
        self.attempts.retain(|a| {
            i += 1;
            i > keep_from || a.time > now - window
        });
    }
}

/// Where the state lives.
pub struct StateStore<'a> {
    store: &'a dyn ObjectStore,
    trail: &'a TrailLocation,
}

/// Lost-race retries per update.
const MAX_TRIES: u32 = 8;

fn safe_segment(s: &str) -> String {
    let mut clean = String::new();
    for c in s.chars().take(80) {
        let ok = c.is_ascii_alphanumeric()
            || matches!(c, '_' | '-')
            || (c == '.' && !clean.ends_with('.'));
        clean.push(if ok { c } else { '_' });
    }
    let h = hex::encode(Sha256::digest(s.as_bytes()));
    format!("{clean}-{}", &h[..12])
}

impl<'a> StateStore<'a> {
    pub fn new(store: &'a dyn ObjectStore, trail: &'a TrailLocation) -> Self {
        Self { store, trail }
    }

    pub fn bucket(&self) -> &str {
        &self.trail.bucket
    }

    /// The key for a runbook on a resource.
    pub fn key(
        &self,
        account: &str,
        region: &str,
        runbook: &str,
        resource_id: &str,
    ) -> Result<String, StateError> {
        check_account_id(account).map_err(|e| StateError::BadTarget(e.to_string()))?;
        check_region(region).map_err(|e| StateError::BadTarget(e.to_string()))?;
        let mut k = String::new();
        if !self.trail.prefix.is_empty() {
            k.push_str(&self.trail.prefix);
            k.push('/');
        }
        k.push_str(&format!(
            "trailwarden/remediation/{account}/{region}/{}/{}.json",
            safe_segment(runbook),
            safe_segment(resource_id)
        ));
        Ok(k)
    }

    /// The state and its version (`None` = no object yet).
    pub async fn load(&self, key: &str) -> Result<Option<(ResourceState, String)>, StateError> {
        let obj = match self.store.get(&self.trail.bucket, key).await {
            Ok(o) => o,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let corrupt = |reason: String| StateError::Corrupt {
            bucket: self.trail.bucket.clone(),
            key: key.into(),
            reason,
        };
        let state: ResourceState =
            serde_json::from_slice(&obj.body).map_err(|e| corrupt(e.to_string()))?;
        let etag = obj
            .etag
            .ok_or_else(|| corrupt("the store returned no ETag".into()))?;
        Ok(Some((state, etag)))
    }

    /// Applies `f` to the current state (or `init()`) and writes it back conditionally,
    /// re-reading and re-applying on a lost race. `f` returns whether to write.
    pub async fn update<R>(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window: Duration,
        init: impl Fn() -> ResourceState,
        mut f: impl FnMut(&mut ResourceState) -> (R, bool),
    ) -> Result<(R, ResourceState), StateError> {
        for _ in 0..MAX_TRIES {
            let (mut state, etag) = match self.load(key).await? {
                Some((s, e)) => (s, Some(e)),
                None => (init(), None),
            };
            let (r, write) = f(&mut state);
            if !write {
                return Ok((r, state));
            }
            state.trim(now, window);
            let body = serde_json::to_vec_pretty(&state).map_err(|e| StateError::Corrupt {
                bucket: self.trail.bucket.clone(),
                key: key.into(),
                reason: e.to_string(),
            })?;
            let put = Put {
                body,
                content_type: Some("application/json".into()),
                if_none_match: etag.is_none(),
                if_match: etag,
                ..Default::default()
            };
            match self.store.put(&self.trail.bucket, key, put).await {
                Ok(_) => return Ok((r, state)),
                Err(StoreError::AlreadyExists { .. })
                | Err(StoreError::Conflict { .. })
                | Err(StoreError::NotFound { .. }) => {
                    tracing::debug!(key, "remediation state changed concurrently; retrying");
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StateError::Contended {
            bucket: self.trail.bucket.clone(),
            key: key.into(),
            tries: MAX_TRIES,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn keys_are_safe() {
        let store = MemoryStore::new();
        let loc = TrailLocation::new("tb", Some("audit"), None).unwrap();
        let s = StateStore::new(&store, &loc);
        let k = s
            .key("123456789012", "us-east-1", "AWS-X", "arn:aws:rds:db/../x")
            .unwrap();
        assert!(
            k.starts_with("audit/trailwarden/remediation/123456789012/us-east-1/AWS-X-"),
            "{k}"
        );
        assert!(!k.contains("..") && !k.contains("//"), "{k}");
        assert!(s.key("../../x", "us-east-1", "r", "i").is_err());
    }

    /// Yields between every call so that concurrent updates really interleave.
    struct Yielding(MemoryStore);

    #[async_trait::async_trait]
    impl ObjectStore for Yielding {
        async fn put(&self, b: &str, k: &str, p: Put) -> Result<Option<String>, StoreError> {
            tokio::task::yield_now().await;
            self.0.put(b, k, p).await
        }
        async fn get(&self, b: &str, k: &str) -> Result<crate::store::Object, StoreError> {
            let o = self.0.get(b, k).await;
            tokio::task::yield_now().await;
            o
        }
        async fn list(
            &self,
            b: &str,
            p: &str,
            s: Option<&str>,
        ) -> Result<Vec<crate::store::Listed>, StoreError> {
            self.0.list(b, p, s).await
        }
        async fn list_dirs(&self, b: &str, p: &str) -> Result<Vec<String>, StoreError> {
            self.0.list_dirs(b, p).await
        }
    }

    #[tokio::test]
    async fn concurrent_updates_lose_nothing() {
        let store = Arc::new(Yielding(MemoryStore::new()));
        let loc = TrailLocation::new("tb", None, None).unwrap();
        let now = Utc::now();
        let mut tasks = Vec::new();
        for i in 0..6 {
            let store = store.clone();
            let loc = loc.clone();
            tasks.push(tokio::spawn(async move {
                let s = StateStore::new(store.as_ref(), &loc);
                let key = s.key("123456789012", "us-east-1", "rb", "res").unwrap();
                s.update(
                    &key,
                    now,
                    Duration::seconds(60),
                    || ResourceState::new("rb", "t", "res"),
                    |st| {
                        st.attempts.push(Attempt {
                            time: now,
                            execution_id: format!("e{i}"),
                            status: AttemptStatus::Failed,
                            error: None,
                        });
                        ((), true)
                    },
                )
                .await
                .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let s = StateStore::new(store.as_ref(), &loc);
        let key = s.key("123456789012", "us-east-1", "rb", "res").unwrap();
        let (st, _) = s.load(&key).await.unwrap().unwrap();
        assert_eq!(st.attempts.len(), 6);
        assert_eq!(st.failed_in_window(now, Duration::seconds(60)), 6);
        assert_eq!(
            st.failed_in_window(now + Duration::seconds(61), Duration::seconds(60)),
            0
        );
    }
}
