//! AWS SDK implementations of the ports. Each service sits behind its own cargo feature.
//! Endpoints come from the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables,
//! so the same binary runs against AWS and against a local emulator.

#[cfg(any(
    feature = "aws-s3",
    feature = "aws-ec2",
    feature = "aws-cloudtrail",
    feature = "aws-rds"
))]
pub(crate) mod act;
#[cfg(feature = "aws-cloudtrail")]
pub mod cloudtrail;
#[cfg(feature = "aws-config-rules")]
pub mod config;
#[cfg(feature = "aws-ec2")]
pub mod ec2;
#[cfg(feature = "aws-kms")]
pub mod kms;
#[cfg(feature = "aws-rds")]
pub mod rds;
#[cfg(feature = "aws-s3")]
pub mod s3;
#[cfg(feature = "aws-s3")]
pub mod s3_actuator;
#[cfg(feature = "aws-sns")]
pub mod sns;

/// The SDK configuration loader every client of the suite starts from: the standard environment
/// (region, credentials, `AWS_ENDPOINT_URL*`), with the SDK's HTTPS client (hyper + rustls) on
/// ring as rustls' crypto provider. The SDK crates are built without their `default-https-client`
/// feature, which would link the aws-lc C library for the same job (see the workspace
/// Cargo.toml), so every configuration must come from here.
pub fn config_loader() -> aws_config::ConfigLoader {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https)
}

/// Loads the shared SDK configuration (region, credentials, endpoint overrides) from the
/// environment, as every AWS SDK does.
pub async fn load_config() -> aws_config::SdkConfig {
    config_loader().load().await
}

/// True when an endpoint override is set for the service (local emulator): S3 then needs
/// path-style addressing.
pub fn endpoint_overridden(service_env: &str) -> bool {
    let set = |k: &str| std::env::var(k).map(|v| !v.is_empty()).unwrap_or(false);
    set("AWS_ENDPOINT_URL") || set(&format!("AWS_ENDPOINT_URL_{service_env}"))
}

/// Converts an SDK timestamp to chrono.
pub fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// The digest signer the environment asks for: `SIGNING_KEY_ID` (KMS, production) or
/// `SIGNING_PRIVATE_KEY_PEM` (a PEM key, for local runs).
#[cfg(feature = "aws-kms")]
pub async fn signer_from_env(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn crate::signer::Signer>, crate::signer::SignerError> {
    if let Some(id) = get("SIGNING_KEY_ID").filter(|s| !s.is_empty()) {
        return Ok(Box::new(kms::KmsSigner::from_env(id).await));
    }
    if let Some(pem) = get("SIGNING_PRIVATE_KEY_PEM").filter(|s| !s.is_empty()) {
        return Ok(Box::new(crate::signer::LocalSigner::from_pem(&pem)?));
    }
    Err(crate::signer::SignerError::PrivateKey(
        "set SIGNING_KEY_ID (a KMS RSA_2048 SIGN_VERIFY key) or SIGNING_PRIVATE_KEY_PEM".into(),
    ))
}

/// The SDK configuration of the remediator's clients: as [`load_config`], with the user agent
/// naming the remediator (`app/trailwarden-remediator`) so its own calls can be told apart in
/// the trail.
pub async fn load_remediator_config() -> aws_config::SdkConfig {
    let mut loader = config_loader();
    if let Ok(name) = aws_config::AppName::new(crate::remediation::REMEDIATOR_APP_NAME) {
        loader = loader.app_name(name);
    }
    loader.load().await
}

/// The resource actuators on AWS, from one SDK configuration.
#[cfg(all(
    feature = "aws-s3",
    feature = "aws-ec2",
    feature = "aws-cloudtrail",
    feature = "aws-rds"
))]
pub fn cloud(cfg: &aws_config::SdkConfig, s3_path_style: bool) -> crate::remediation::Cloud {
    use std::sync::Arc;
    let s3 = aws_sdk_s3::config::Builder::from(cfg)
        .force_path_style(s3_path_style)
        .build();
    crate::remediation::Cloud {
        s3: Arc::new(s3_actuator::S3Resources::new(
            aws_sdk_s3::Client::from_conf(s3),
        )),
        ec2: Arc::new(ec2::Ec2Resources::new(aws_sdk_ec2::Client::new(cfg))),
        cloudtrail: Arc::new(cloudtrail::CloudTrailResources::new(
            aws_sdk_cloudtrail::Client::new(cfg),
        )),
        rds: Arc::new(rds::RdsResources::new(aws_sdk_rds::Client::new(cfg))),
    }
}

/// The resource actuators on AWS from the environment (endpoint overrides included).
#[cfg(all(
    feature = "aws-s3",
    feature = "aws-ec2",
    feature = "aws-cloudtrail",
    feature = "aws-rds"
))]
pub async fn cloud_from_env() -> crate::remediation::Cloud {
    let cfg = load_remediator_config().await;
    cloud(&cfg, endpoint_overridden("S3"))
}
