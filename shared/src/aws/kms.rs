//! [`Signer`] on AWS KMS: an asymmetric RSA_2048 SIGN_VERIFY key, RSASSA_PKCS1_V1_5_SHA_256.

use async_trait::async_trait;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use aws_sdk_kms::Client;
use tokio::sync::OnceCell;

use crate::signer::{PublicKey, Signer, SignerError};

pub struct KmsSigner {
    client: Client,
    key_id: String,
    public: OnceCell<PublicKey>,
}

impl KmsSigner {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
            public: OnceCell::new(),
        }
    }

    pub async fn from_env(key_id: impl Into<String>) -> Self {
        let cfg = super::load_config().await;
        Self::new(Client::new(&cfg), key_id)
    }
}

fn service_err<E: ProvideErrorMetadata + std::fmt::Debug>(
    what: &str,
    e: aws_sdk_kms::error::SdkError<E>,
) -> SignerError {
    let detail = match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => format!("{e:?}").chars().take(300).collect(),
    };
    SignerError::Service(format!("KMS {what} failed: {detail}"))
}

#[async_trait]
impl Signer for KmsSigner {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
            .send()
            .await
            .map_err(|e| service_err("Sign", e))?;
        out.signature()
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| SignerError::Service("KMS Sign returned no signature".into()))
    }

    async fn public_key(&self) -> Result<PublicKey, SignerError> {
        self.public
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .get_public_key()
                    .key_id(&self.key_id)
                    .send()
                    .await
                    .map_err(|e| service_err("GetPublicKey", e))?;
                let der = out.public_key().ok_or_else(|| {
                    SignerError::Service("KMS GetPublicKey returned no key".into())
                })?;
                PublicKey::from_der(der.as_ref())
            })
            .await
            .cloned()
    }
}
