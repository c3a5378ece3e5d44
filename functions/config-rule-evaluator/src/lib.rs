//! The config-rule-evaluator handler, apart from the Lambda runtime so it can be tested with the
//! in-memory port.
//!
//! One AWS Config custom-rule event in (any of the four message types); the rule comes from the
//! `rule` rule parameter or the Config rule name. Evaluations go to `PutEvaluations`; the
//! function returns a JSON summary. Errors are returned as Lambda errors (Config records the
//! invocation as failed), never as compliance results; invalid rule parameters have the error
//! type `InvalidParameterValueException` and a message starting with it, as AWS Config names
//! them.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{Diagnostic, LambdaInvocation};
use serde_json::{json, Value};
use trailwarden::config::{
    evaluate_rule_event, ComplianceType, ConfigClient, ConfigError, ConfigRuleEvent,
    EvaluatorOptions, Report,
};

/// Evaluates one event (its JSON text, as the Runtime API delivered it) and returns the
/// summary, or the error as a Lambda diagnostic.
pub async fn handle(
    client: &dyn ConfigClient,
    options: &EvaluatorOptions,
    event: &[u8],
) -> Result<Value, Diagnostic> {
    let parsed = std::str::from_utf8(event)
        .map_err(|e| ConfigError::invalid("Config rule event", format!("not UTF-8 text: {e}")))
        .and_then(ConfigRuleEvent::from_json);
    let result = match parsed {
        Ok(event) => evaluate_rule_event(&event, client, options).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => {
            let summary = summary(&report);
            tracing::info!(summary = %summary, "config rule evaluated");
            Ok(summary)
        }
        Err(e) => {
            let d = diagnostic(&e);
            tracing::error!(error_type = %d.error_type, "{}", d.error_message);
            Err(d)
        }
    }
}

/// The Lambda error for an evaluator error: the error type is [`ConfigError::code`]; the message
/// starts with the code too (an invalid parameter renders as
/// `InvalidParameterValueException: <param>: <why>` already).
pub fn diagnostic(e: &ConfigError) -> Diagnostic {
    let code = e.code();
    let text = e.to_string();
    let message = if text.starts_with(code) {
        text
    } else {
        format!("{code}: {text}")
    };
    Diagnostic {
        error_type: code.to_string(),
        error_message: message,
    }
}

/// The body of the invocation in progress, taken out of it by [`RawBodyLayer`] for the
/// handler. The runtime would otherwise decode the whole event into a JSON tree (and the
/// `invokingEvent` string into another) before the handler sees it; the handler reads the
/// text once instead ([`ConfigRuleEvent::from_json`]).
#[derive(Clone, Default)]
pub struct RawBody(Arc<Mutex<Option<(String, bytes::Bytes)>>>);

impl RawBody {
    /// The body of the invocation `request_id` (once).
    pub fn take(&self, request_id: &str) -> Option<bytes::Bytes> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match slot.take() {
            Some((id, body)) if id == request_id => Some(body),
            other => {
                *slot = other;
                None
            }
        }
    }
}

/// A runtime layer (it runs before the runtime decodes the event) that moves each
/// invocation's body into a [`RawBody`] and leaves `null` in its place, which the handler
/// receives as `LambdaEvent<()>`.
pub struct RawBodyLayer(pub RawBody);

impl<S> Layer<S> for RawBodyLayer {
    type Service = RawBodyService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RawBodyService {
            inner,
            slot: self.0.clone(),
        }
    }
}

/// The service of [`RawBodyLayer`].
pub struct RawBodyService<S> {
    inner: S,
    slot: RawBody,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for RawBodyService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        let body = std::mem::replace(&mut invocation.body, bytes::Bytes::from_static(b"null"));
        *self.slot.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((invocation.context.request_id.clone(), body));
        self.inner.call(invocation)
    }
}

/// At most this many non-compliant resources are named in the summary.
pub const SUMMARY_NON_COMPLIANT_LIMIT: usize = 20;

/// What the function returns: counts, not every evaluation (a periodic run may send
/// thousands), plus the first [`SUMMARY_NON_COMPLIANT_LIMIT`] non-compliant resources with their
/// annotations (what to fix), so the invocation's result is actionable on its own.
pub fn summary(r: &Report) -> Value {
    let non_compliant: Vec<Value> = r
        .evaluations
        .iter()
        .filter(|e| e.compliance_type == ComplianceType::NonCompliant)
        .take(SUMMARY_NON_COMPLIANT_LIMIT)
        .map(|e| {
            json!({
                "resourceType": e.resource_type,
                "resourceId": e.resource_id,
                "annotation": e.annotation,
            })
        })
        .collect();
    let count = |c: ComplianceType| {
        r.evaluations
            .iter()
            .filter(|e| e.compliance_type == c)
            .count()
    };
    json!({
        "rule": r.rule,
        "configRuleName": r.config_rule_name,
        "messageType": r.message_type,
        "evaluations": r.evaluations.len(),
        "compliant": count(ComplianceType::Compliant),
        "nonCompliant": count(ComplianceType::NonCompliant),
        "notApplicable": count(ComplianceType::NotApplicable),
        "staleCleaned": r.stale_cleaned,
        "putEvaluationsCalls": r.put_calls,
        "testMode": r.test_mode,
        "failedEvaluations": r.failed_evaluations.len(),
        "warnings": r.warnings,
        "nonCompliantResources": non_compliant,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailwarden::config::InMemoryConfigClient;

    fn event(params: &str) -> Value {
        let item = json!({
            "configurationItem": {
                "configurationItemCaptureTime": "2024-05-01T10:00:00.000Z",
                "configurationItemStatus": "OK",
                "resourceType": "AWS::EC2::SecurityGroup",
                "resourceId": "sg-1",
                "configuration": {"groupName": "web", "ipPermissions": [
                    {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                     "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}
                ]}
            },
            "notificationCreationTime": "2024-05-01T10:00:01.000Z",
            "messageType": "ConfigurationItemChangeNotification"
        });
        json!({
            "invokingEvent": item.to_string(),
            "ruleParameters": params,
            "resultToken": "TESTMODE",
            "eventLeftScope": false,
            "configRuleName": "restricted-common-ports",
            "accountId": "123456789012",
            "version": "1.0"
        })
    }

    #[tokio::test]
    async fn summary_counts_what_was_sent() {
        let client = InMemoryConfigClient::new();
        let out = handle(
            &client,
            &EvaluatorOptions::default(),
            event(r#"{"rule":"restricted-ssh"}"#).to_string().as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(out["rule"], "restricted-ssh");
        assert_eq!(out["nonCompliant"], 1);
        assert_eq!(out["putEvaluationsCalls"], 1);
        assert_eq!(out["testMode"], true);
        assert_eq!(client.put_calls().len(), 1);
        let named = out["nonCompliantResources"].as_array().unwrap();
        assert_eq!(named.len(), 1);
        assert_eq!(named[0]["resourceId"], "sg-1");
        assert_eq!(named[0]["resourceType"], "AWS::EC2::SecurityGroup");
        assert!(
            named[0]["annotation"].as_str().unwrap().contains("22"),
            "{named:?}"
        );
    }

    #[tokio::test]
    async fn invalid_parameters_are_an_error_not_a_result() {
        let client = InMemoryConfigClient::new();
        let err = handle(
            &client,
            &EvaluatorOptions::default(),
            event(r#"{"blockedPort1":"ssh"}"#).to_string().as_bytes(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.error_type, "InvalidParameterValueException");
        assert!(
            err.error_message
                .starts_with("InvalidParameterValueException: blockedPort1"),
            "{}",
            err.error_message
        );
        assert!(client.put_calls().is_empty(), "nothing may be sent");
    }

    #[tokio::test]
    async fn other_errors_start_with_their_code() {
        let client = InMemoryConfigClient::new();
        let err = handle(
            &client,
            &EvaluatorOptions::default(),
            json!({"invokingEvent": "{"}).to_string().as_bytes(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.error_type, "InvalidEventException");
        assert!(
            err.error_message.starts_with("InvalidEventException: "),
            "{}",
            err.error_message
        );
    }

    #[tokio::test]
    async fn events_modelled_by_aws_lambda_events_are_accepted() {
        // An event as aws_lambda_events models it (inner JSON as strings) must be understood
        // the same way.
        let typed: aws_lambda_events::event::config::ConfigEvent =
            serde_json::from_value(event(r#"{"rule":"restricted-ssh"}"#)).unwrap();
        let client = InMemoryConfigClient::new();
        let out = handle(
            &client,
            &EvaluatorOptions::default(),
            serde_json::to_string(&typed).unwrap().as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(out["nonCompliant"], 1);
    }

    #[tokio::test]
    async fn a_body_that_is_not_text_is_an_error() {
        let client = InMemoryConfigClient::new();
        let err = handle(&client, &EvaluatorOptions::default(), b"{\"a\": \"\xff\"}")
            .await
            .unwrap_err();
        assert_eq!(err.error_type, "InvalidEventException");
        assert!(
            err.error_message.contains("not UTF-8"),
            "{}",
            err.error_message
        );
    }

    #[test]
    fn the_raw_body_goes_to_its_own_invocation_once() {
        let raw = RawBody::default();
        *raw.0.lock().unwrap() = Some(("req-1".into(), bytes::Bytes::from_static(b"{}")));
        assert_eq!(raw.take("req-2"), None);
        assert_eq!(raw.take("req-1").as_deref(), Some(&b"{}"[..]));
        assert_eq!(raw.take("req-1"), None);
    }
}
