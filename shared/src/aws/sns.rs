//! [`Notifier`] on Amazon SNS.

use async_trait::async_trait;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::Client;

use crate::notify::{sns_subject, Notifier, NotifyError};

pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    pub async fn from_env(topic_arn: impl Into<String>) -> Self {
        let cfg = super::load_config().await;
        Self::new(Client::new(&cfg), topic_arn)
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), NotifyError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(sns_subject(subject))
            .message(message)
            .send()
            .await
            .map_err(|e| {
                NotifyError(format!(
                    "{}: {}",
                    e.code().unwrap_or("error"),
                    e.message().unwrap_or(&format!("{e:?}"))
                ))
            })?;
        Ok(())
    }
}
