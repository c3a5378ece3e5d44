//! The object-store port (what the suite needs of S3) and two implementations without AWS: an
//! in-memory store for tests and a read-only view of a directory laid out as `<dir>/<key>` with
//! `<key>.metadata.json` sidecars (how `../shared/data/integrity` and `gen_chain.py` store
//! buckets on disk).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("s3://{bucket}/{key} not found")]
    NotFound { bucket: String, key: String },
    #[error("s3://{bucket}/{key} already exists (conditional write refused)")]
    AlreadyExists { bucket: String, key: String },
    #[error("s3://{bucket}/{key} was changed by someone else (precondition failed)")]
    Conflict { bucket: String, key: String },
    #[error("access denied to s3://{bucket}/{key}: {message}")]
    AccessDenied {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("object store request failed for s3://{bucket}/{key}: {message}")]
    Other {
        bucket: String,
        key: String,
        message: String,
        retryable: bool,
    },
}

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }
}

/// An object read back.
#[derive(Debug, Clone)]
pub struct Object {
    pub body: Vec<u8>,
    pub metadata: HashMap<String, String>,
    pub etag: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// One listed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub last_modified: Option<DateTime<Utc>>,
}

/// A write request.
#[derive(Debug, Clone, Default)]
pub struct Put {
    pub body: Vec<u8>,
    pub metadata: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    /// Only create: fail with `AlreadyExists` when the key exists (`If-None-Match: *`).
    pub if_none_match: bool,
    /// Only replace this version (`If-Match: <etag>`).
    pub if_match: Option<String>,
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn put(&self, bucket: &str, key: &str, put: Put) -> Result<Option<String>, StoreError>;
    async fn get(&self, bucket: &str, key: &str) -> Result<Object, StoreError>;
    /// Every key under `prefix`, in lexicographic order, starting after `start_after`.
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<Listed>, StoreError>;
    /// The common prefixes one level below `prefix` (delimiter `/`).
    async fn list_dirs(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError>;
}

type Objects = BTreeMap<(String, String), (Object, u64)>;

/// In-memory store with a settable clock (for tests and benchmarks).
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Objects>>,
    now: Arc<Mutex<Option<DateTime<Utc>>>>,
    counter: Arc<Mutex<u64>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the time stamped on objects written from now on (None = the real clock).
    pub fn set_now(&self, t: Option<DateTime<Utc>>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().map(|(_, k)| k.clone()).collect()
    }
    pub fn remove(&self, bucket: &str, key: &str) -> bool {
        self.lock().remove(&(bucket.into(), key.into())).is_some()
    }
    /// Replaces an object's body and metadata directly (tampering in tests).
    pub fn overwrite(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        metadata: HashMap<String, String>,
    ) {
        let mut g = self.lock();
        let now = self.clock();
        g.insert(
            (bucket.into(), key.into()),
            (
                Object {
                    body,
                    metadata,
                    etag: Some(format!("\"{}\"", now.timestamp_nanos_opt().unwrap_or(0))),
                    last_modified: Some(now),
                },
                0,
            ),
        );
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Objects> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn clock(&self) -> DateTime<Utc> {
        self.now
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(Utc::now)
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn put(&self, bucket: &str, key: &str, put: Put) -> Result<Option<String>, StoreError> {
        let now = self.clock();
        let mut g = self.lock();
        let id = (bucket.to_string(), key.to_string());
        if let Some((existing, _)) = g.get(&id) {
            if put.if_none_match {
                return Err(StoreError::AlreadyExists {
                    bucket: bucket.into(),
                    key: key.into(),
                });
            }
            if let Some(m) = &put.if_match {
                if existing.etag.as_deref() != Some(m.as_str()) {
                    return Err(StoreError::Conflict {
                        bucket: bucket.into(),
                        key: key.into(),
                    });
                }
            }
        } else if put.if_match.is_some() {
            return Err(StoreError::NotFound {
                bucket: bucket.into(),
                key: key.into(),
            });
        }
        let mut c = self.counter.lock().unwrap_or_else(|e| e.into_inner());
        *c += 1;
        let etag = format!("\"v{}\"", *c);
        g.insert(
            id,
            (
                Object {
                    body: put.body,
                    metadata: put.metadata.into_iter().collect(),
                    etag: Some(etag.clone()),
                    last_modified: Some(now),
                },
                *c,
            ),
        );
        Ok(Some(etag))
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Object, StoreError> {
        self.lock()
            .get(&(bucket.to_string(), key.to_string()))
            .map(|(o, _)| o.clone())
            .ok_or_else(|| StoreError::NotFound {
                bucket: bucket.into(),
                key: key.into(),
            })
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<Listed>, StoreError> {
        let g = self.lock();
        Ok(g.range((bucket.to_string(), prefix.to_string())..)
            .take_while(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .filter(|((_, k), _)| start_after.is_none_or(|s| k.as_str() > s))
            .map(|((_, k), (o, _))| Listed {
                key: k.clone(),
                size: o.body.len() as u64,
                last_modified: o.last_modified,
            })
            .collect())
    }

    async fn list_dirs(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let listed = self.list(bucket, prefix, None).await?;
        Ok(common_prefixes(
            prefix,
            listed.iter().map(|l| l.key.as_str()),
        ))
    }
}

/// The distinct `prefix + segment + "/"` one level below `prefix`.
pub fn common_prefixes<'a>(prefix: &str, keys: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in keys {
        if let Some(rest) = k.strip_prefix(prefix) {
            if let Some(i) = rest.find('/') {
                let p = format!("{prefix}{}", &rest[..=i]);
                if out.last() != Some(&p) {
                    out.push(p);
                }
            }
        }
    }
    out.dedup();
    out
}

/// A bucket mirrored on disk: `<root>/<bucket>/<key>` with user metadata in
/// `<key>.metadata.json`. Read-only.
#[derive(Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    fn path(&self, bucket: &str, key: &str) -> Result<PathBuf, StoreError> {
        if key.split('/').any(|s| s == ".." || s == ".")
            || bucket.contains('/')
            || bucket.contains("..")
        {
            return Err(StoreError::AccessDenied {
                bucket: bucket.into(),
                key: key.into(),
                message: "key escapes the bucket directory".into(),
            });
        }
        Ok(self.root.join(bucket).join(key))
    }
}

#[async_trait]
impl ObjectStore for DirStore {
    async fn put(&self, bucket: &str, key: &str, _put: Put) -> Result<Option<String>, StoreError> {
        Err(StoreError::AccessDenied {
            bucket: bucket.into(),
            key: key.into(),
            message: "a directory store is read-only".into(),
        })
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Object, StoreError> {
        let p = self.path(bucket, key)?;
        let body = std::fs::read(&p).map_err(|_| StoreError::NotFound {
            bucket: bucket.into(),
            key: key.into(),
        })?;
        let mut meta_path = p.clone().into_os_string();
        meta_path.push(".metadata.json");
        let metadata = match std::fs::read(PathBuf::from(meta_path)) {
            Ok(b) => serde_json::from_slice::<HashMap<String, String>>(&b).map_err(|e| {
                StoreError::Other {
                    bucket: bucket.into(),
                    key: key.into(),
                    message: format!("unreadable metadata sidecar: {e}"),
                    retryable: false,
                }
            })?,
            Err(_) => HashMap::new(),
        };
        let last_modified = std::fs::metadata(&p)
            .and_then(|m| m.modified())
            .ok()
            .map(DateTime::<Utc>::from);
        Ok(Object {
            body,
            metadata,
            etag: None,
            last_modified,
        })
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<Listed>, StoreError> {
        let base = self.root.join(bucket);
        let mut out = Vec::new();
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                let Ok(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    stack.push(p);
                    continue;
                }
                let Ok(rel) = p.strip_prefix(&base) else {
                    continue;
                };
                let key = rel.to_string_lossy().replace('\\', "/");
                if key.ends_with(".metadata.json") || !key.starts_with(prefix) {
                    continue;
                }
                if start_after.is_some_and(|s| key.as_str() <= s) {
                    continue;
                }
                let md = e.metadata().ok();
                out.push(Listed {
                    key,
                    size: md.as_ref().map(|m| m.len()).unwrap_or(0),
                    last_modified: md
                        .and_then(|m| m.modified().ok())
                        .map(DateTime::<Utc>::from),
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn list_dirs(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let listed = self.list(bucket, prefix, None).await?;
        Ok(common_prefixes(
            prefix,
            listed.iter().map(|l| l.key.as_str()),
        ))
    }
}
