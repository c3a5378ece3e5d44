//! [`ObjectStore`] on Amazon S3.

use async_trait::async_trait;
use aws_sdk_s3::config::ResponseChecksumValidation;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_sdk_s3::Client;

use crate::store::{Listed, Object, ObjectStore, Put, StoreError};

/// Server-side encryption requested on every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sse {
    S3,
    Kms(String),
}

#[derive(Clone)]
pub struct S3Store {
    client: Client,
    sse: Sse,
}

impl S3Store {
    pub fn new(client: Client, sse: Sse) -> Self {
        Self { client, sse }
    }

    /// A client from the environment; path-style addressing when an endpoint override is set.
    pub async fn from_env(sse: Sse) -> Self {
        let cfg = super::load_config().await;
        let s3 = aws_sdk_s3::config::Builder::from(&cfg)
            .force_path_style(super::endpoint_overridden("S3"))
            .build();
        Self::new(Client::from_conf(s3), sse)
    }

    /// A client for reading the trail to validate it (`validate-logs`, the log-validator):
    /// as [`S3Store::from_env`], but without the SDK's response checksums. Every byte read is
    /// checked by the validation itself, more strongly than a CRC32 would (each log file's SHA-256
    /// against its digest, each digest's RSA signature), so the SDK's `x-amz-checksum-mode` /
    /// CRC32 pass over every body only costs CPU; the SDK still validates checksums S3 requires.
    pub async fn for_validation_from_env() -> Self {
        let cfg = super::load_config().await;
        let s3 = aws_sdk_s3::config::Builder::from(&cfg)
            .force_path_style(super::endpoint_overridden("S3"))
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        Self::new(Client::from_conf(s3), Sse::S3)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn map_err<E: ProvideErrorMetadata + std::fmt::Debug>(
    bucket: &str,
    key: &str,
    e: SdkError<E>,
) -> StoreError {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_string);
    let message = match (&code, e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.clone(),
        _ => match &e {
            SdkError::DispatchFailure(d) => format!("connection failed: {d:?}"),
            SdkError::TimeoutError(_) => "timed out".into(),
            other => format!("{other:?}").chars().take(300).collect(),
        },
    };
    let (b, k) = (bucket.to_string(), key.to_string());
    match (status, code.as_deref()) {
        (_, Some("NoSuchKey")) | (Some(404), _) => StoreError::NotFound { bucket: b, key: k },
        (Some(412), _) | (_, Some("PreconditionFailed")) => {
            StoreError::AlreadyExists { bucket: b, key: k }
        }
        (Some(409), _) | (_, Some("ConditionalRequestConflict")) => {
            StoreError::Conflict { bucket: b, key: k }
        }
        (Some(403), _) | (_, Some("AccessDenied")) => StoreError::AccessDenied {
            bucket: b,
            key: k,
            message,
        },
        (s, _) => StoreError::Other {
            bucket: b,
            key: k,
            retryable: s.is_none_or(|s| s >= 500 || s == 429),
            message,
        },
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, bucket: &str, key: &str, put: Put) -> Result<Option<String>, StoreError> {
        let mut req = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(put.body));
        for (k, v) in put.metadata {
            req = req.metadata(k, v);
        }
        if let Some(ct) = put.content_type {
            req = req.content_type(ct);
        }
        if let Some(ce) = put.content_encoding {
            req = req.content_encoding(ce);
        }
        req = match &self.sse {
            Sse::S3 => req.server_side_encryption(ServerSideEncryption::Aes256),
            Sse::Kms(id) => req
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(id)
                .bucket_key_enabled(true),
        };
        if put.if_none_match {
            req = req.if_none_match("*");
        }
        if let Some(m) = put.if_match {
            req = req.if_match(m);
        }
        let out = req.send().await.map_err(|e| map_err(bucket, key, e))?;
        Ok(out.e_tag().map(str::to_string))
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Object, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| map_err(bucket, key, e))?;
        let metadata = out.metadata().cloned().unwrap_or_default();
        let etag = out.e_tag().map(str::to_string);
        let last_modified = out.last_modified().and_then(super::to_chrono);
        // One copy, into a buffer of the announced size (capped: the length is the server's word).
        let cap = out.content_length().unwrap_or(0).clamp(0, 64 << 20) as usize;
        let mut body = Vec::with_capacity(cap);
        let mut stream = out.body;
        loop {
            match stream.try_next().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    return Err(StoreError::Other {
                        bucket: bucket.into(),
                        key: key.into(),
                        message: format!("reading the body failed: {e}"),
                        retryable: true,
                    })
                }
            }
        }
        Ok(Object {
            body,
            metadata,
            etag,
            last_modified,
        })
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<Listed>, StoreError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_start_after(start_after.map(str::to_string))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_err(bucket, prefix, e))?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    out.push(Listed {
                        key: k.to_string(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                        last_modified: o.last_modified().and_then(super::to_chrono),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn list_dirs(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_err(bucket, prefix, e))?;
            out.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
        }
        Ok(out)
    }
}
