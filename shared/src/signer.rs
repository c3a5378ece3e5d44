//! Digest signing: the signer port (AWS KMS in production, a local PEM key for the local run and
//! tests) and the public keys a validator checks signatures with.

use async_trait::async_trait;
use base64::Engine;
use md5::{Digest as _, Md5};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use thiserror::Error;

/// The smallest RSA modulus accepted for digest signatures.
pub const MIN_KEY_BITS: usize = 2048;

#[derive(Debug, Error)]
pub enum SignerError {
    #[error("cannot read the private key: {0} (expected a PEM RSA key, PKCS#1 or PKCS#8)")]
    PrivateKey(String),
    #[error("cannot read the public key: {0} (expected PEM or DER, PKCS#1 RSAPublicKey or SubjectPublicKeyInfo, or CloudTrail ListPublicKeys JSON)")]
    PublicKey(String),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("signing service error: {0}")]
    Service(String),
}

/// An RSA public key with both fingerprints (MD5 of the PKCS#1 DER, as CloudTrail publishes, and
/// MD5 of the SubjectPublicKeyInfo DER, as KMS `GetPublicKey` returns).
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub key: RsaPublicKey,
    /// The fingerprint written into digests signed with this key.
    pub fingerprint: String,
    pub fingerprint_pkcs1: String,
    pub fingerprint_spki: String,
}

impl PublicKey {
    pub fn new(key: RsaPublicKey, prefer_spki: bool) -> Result<Self, SignerError> {
        let pkcs1 = key
            .to_pkcs1_der()
            .map_err(|e| SignerError::PublicKey(e.to_string()))?;
        let spki = key
            .to_public_key_der()
            .map_err(|e| SignerError::PublicKey(e.to_string()))?;
        let fingerprint_pkcs1 = hex::encode(Md5::digest(pkcs1.as_bytes()));
        let fingerprint_spki = hex::encode(Md5::digest(spki.as_bytes()));
        Ok(Self {
            fingerprint: if prefer_spki {
                fingerprint_spki.clone()
            } else {
                fingerprint_pkcs1.clone()
            },
            key,
            fingerprint_pkcs1,
            fingerprint_spki,
        })
    }

    /// Reads PEM or DER, PKCS#1 or SubjectPublicKeyInfo. The fingerprint follows the encoding
    /// given (MD5 of those DER bytes, as CloudTrail and KMS compute it).
    pub fn from_bytes(data: &[u8]) -> Result<Self, SignerError> {
        if let Ok(text) = std::str::from_utf8(data) {
            let t = text.trim();
            if t.starts_with("-----BEGIN RSA PUBLIC KEY") {
                let k = RsaPublicKey::from_pkcs1_pem(t)
                    .map_err(|e| SignerError::PublicKey(e.to_string()))?;
                return Self::new(k, false);
            }
            if t.starts_with("-----BEGIN PUBLIC KEY") {
                let k = RsaPublicKey::from_public_key_pem(t)
                    .map_err(|e| SignerError::PublicKey(e.to_string()))?;
                return Self::new(k, true);
            }
            if t.starts_with("-----BEGIN") {
                return Err(SignerError::PublicKey(
                    "unsupported PEM block (a private key or certificate?)".into(),
                ));
            }
        }
        Self::from_der(data)
    }

    pub fn from_der(der: &[u8]) -> Result<Self, SignerError> {
        if let Ok(k) = RsaPublicKey::from_pkcs1_der(der) {
            return Self::new(k, false);
        }
        RsaPublicKey::from_public_key_der(der)
            .map_err(|e| SignerError::PublicKey(e.to_string()))
            .and_then(|k| Self::new(k, true))
    }

    pub fn bits(&self) -> usize {
        self.key.n().bits()
    }

    pub fn matches_fingerprint(&self, fp: &str) -> bool {
        fp == self.fingerprint_pkcs1 || fp == self.fingerprint_spki
    }

    /// Verifies an RSASSA-PKCS1-v1_5 SHA-256 signature. Other hash algorithms are not accepted.
    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        let hashed = Sha256::digest(message);
        self.key
            .verify(Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &hashed, signature)
            .is_ok()
    }

    /// The PKCS#1 DER as base64 (CloudTrail's `ListPublicKeys` `Value`).
    pub fn pkcs1_base64(&self) -> String {
        let der = self
            .key
            .to_pkcs1_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(der)
    }
}

/// Reads every key in a `--public-key` file: PEM/DER, or CloudTrail `ListPublicKeys` JSON
/// (`{"PublicKeyList":[{"Fingerprint","Value"}]}`).
pub fn read_public_keys(data: &[u8]) -> Result<Vec<PublicKey>, SignerError> {
    let text = std::str::from_utf8(data).unwrap_or("").trim_start();
    if text.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SignerError::PublicKey(e.to_string()))?;
        let list = v
            .get("PublicKeyList")
            .and_then(|l| l.as_array())
            .ok_or_else(|| SignerError::PublicKey("JSON without PublicKeyList".into()))?;
        let mut out = Vec::new();
        for item in list {
            let value = item.get("Value").and_then(|v| v.as_str()).ok_or_else(|| {
                SignerError::PublicKey("PublicKeyList entry without Value".into())
            })?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(value)
                .map_err(|e| SignerError::PublicKey(format!("Value is not base64: {e}")))?;
            let mut k = PublicKey::from_der(&der)?;
            if let Some(fp) = item.get("Fingerprint").and_then(|f| f.as_str()) {
                // MD5 of the PKCS#1 or of the SubjectPublicKeyInfo DER of this same key.
                if !k.matches_fingerprint(fp) {
                    return Err(SignerError::PublicKey(format!(
                        "fingerprint {fp} does not match the key (its fingerprints are {} and {})",
                        k.fingerprint_pkcs1, k.fingerprint_spki
                    )));
                }
                k.fingerprint = fp.to_string();
            }
            out.push(k);
        }
        return Ok(out);
    }
    Ok(vec![PublicKey::from_bytes(data)?])
}

/// Signs digests: RSASSA-PKCS1-v1_5 with SHA-256 over the message.
#[async_trait]
pub trait Signer: Send + Sync {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError>;
    async fn public_key(&self) -> Result<PublicKey, SignerError>;
}

/// A local RSA private key (PEM), for the local run, tests and air-gapped backfills.
pub struct LocalSigner {
    key: RsaPrivateKey,
    public: PublicKey,
}

impl LocalSigner {
    pub fn from_pem(pem: &str) -> Result<Self, SignerError> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| SignerError::PrivateKey(e.to_string()))?;
        let public = PublicKey::new(key.to_public_key(), false)?;
        if public.bits() < MIN_KEY_BITS {
            return Err(SignerError::PrivateKey(format!(
                "the key has {} bits; digests need at least {MIN_KEY_BITS}",
                public.bits()
            )));
        }
        Ok(Self { key, public })
    }

    pub fn from_key(key: RsaPrivateKey) -> Result<Self, SignerError> {
        let public = PublicKey::new(key.to_public_key(), false)?;
        Ok(Self { key, public })
    }
}

#[async_trait]
impl Signer for LocalSigner {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let hashed = Sha256::digest(message);
        self.key
            .sign(Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &hashed)
            .map_err(|e| SignerError::Sign(e.to_string()))
    }
    async fn public_key(&self) -> Result<PublicKey, SignerError> {
        Ok(self.public.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_cloudtrail_keys_read_with_their_fingerprints() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/integrity/aws-published-public-keys-fingerprints.json"
        );
        let Ok(data) = std::fs::read(path) else {
            panic!("reference data missing at {path}");
        };
        let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
        let mut n = 0;
        for item in v
            .as_array()
            .or_else(|| v.get("keys").and_then(|k| k.as_array()))
            .into_iter()
            .flatten()
        {
            let value = item["Value"].as_str().unwrap();
            let fp = item["Fingerprint"].as_str().unwrap();
            let der = base64::engine::general_purpose::STANDARD
                .decode(value)
                .unwrap();
            let k = PublicKey::from_der(&der).unwrap();
            assert!(k.matches_fingerprint(fp), "{fp}");
            assert_eq!(k.bits(), 2048);
            n += 1;
        }
        assert_eq!(n, 4);
    }
}
