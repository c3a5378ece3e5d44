//! Maps AWS SDK errors to the remediation port's [`ActError`].

use crate::remediation::{ActError, ActErrorKind};

/// Classifies an AWS error by code and HTTP status.
pub(crate) fn classify(
    api: &str,
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
    fallback: impl FnOnce() -> String,
) -> ActError {
    let kind = match (code, status) {
        (Some(c), _)
            if c == "InvalidPermission.NotFound" || c == "InvalidSecurityGroupRuleId.NotFound" =>
        {
            ActErrorKind::RuleNotFound
        }
        (Some(c), _)
            if c.starts_with("NoSuch")
                || c.ends_with(".NotFound")
                || c.ends_with("NotFound")
                || c.ends_with("NotFoundException")
                || c.ends_with("NotFoundFault") =>
        {
            ActErrorKind::NotFound
        }
        (Some(c), _)
            if c.starts_with("AccessDenied")
                || c == "UnauthorizedOperation"
                || c == "AuthorizationError"
                || c.contains("NotAuthorized")
                || c == "InsufficientDependencyServiceAccessPermissionException"
                || c == "InsufficientS3BucketPolicyException" =>
        {
            ActErrorKind::AccessDenied
        }
        (Some(c), _)
            if c.contains("Throttl")
                || c == "RequestLimitExceeded"
                || c == "SlowDown"
                || c == "TooManyRequestsException" =>
        {
            ActErrorKind::Throttled
        }
        (_, Some(403)) => ActErrorKind::AccessDenied,
        (_, Some(404)) => ActErrorKind::NotFound,
        (_, Some(429)) => ActErrorKind::Throttled,
        (_, Some(s)) if s >= 500 => ActErrorKind::Throttled,
        (Some(_), Some(s)) if (400..500).contains(&s) => ActErrorKind::Invalid,
        _ => ActErrorKind::Other,
    };
    let code = code
        .map(str::to_string)
        .or_else(|| status.map(|s| format!("HTTP {s}")))
        .unwrap_or_else(|| "Error".into());
    let message = message.map(str::to_string).unwrap_or_else(fallback);
    ActError::new(api, kind, code, message)
}

/// The error code and message from an error body the SDK could not decode (an XML
/// `<Code>`/`<Message>`, or a JSON `__type`/`message`): some endpoints, moto among them, answer a
/// JSON-protocol call with an XML error.
pub(crate) fn code_from_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(body);
    let tag = |t: &str| {
        text.split_once(&format!("<{t}>"))
            .and_then(|(_, r)| r.split_once(&format!("</{t}>")))
            .map(|(v, _)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let (Some(c), m) = (tag("Code"), tag("Message")) {
        return (Some(c), m);
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        let code = v
            .get("__type")
            .or_else(|| v.get("code"))
            .and_then(|c| c.as_str())
            .map(|c| c.rsplit('#').next().unwrap_or(c).to_string());
        let message = v
            .get("message")
            .or_else(|| v.get("Message"))
            .and_then(|m| m.as_str())
            .map(str::to_string);
        return (code, message);
    }
    (None, None)
}

/// Converts an SDK error (any service) to an [`ActError`].
macro_rules! act_err {
    ($api:expr, $e:expr) => {{
        #[allow(unused_imports)]
        use ::aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
        let e = $e;
        let status = e.raw_response().map(|r| r.status().as_u16());
        let (body_code, body_message) = match e.code() {
            Some(_) => (None, None),
            None => e
                .raw_response()
                .and_then(|r| r.body().bytes())
                .map($crate::aws::act::code_from_body)
                .unwrap_or((None, None)),
        };
        let code = e.code().map(str::to_string).or(body_code);
        let message = e.message().map(str::to_string).or(body_message);
        $crate::aws::act::classify($api, code.as_deref(), message.as_deref(), status, || {
            let s = format!("{e:?}");
            if s.contains("DispatchFailure") {
                "connection failed (check the endpoint and network)".to_string()
            } else if s.contains("TimeoutError") {
                "timed out".to_string()
            } else {
                s.chars().take(300).collect()
            }
        })
    }};
}
pub(crate) use act_err;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let k = |c: Option<&str>, s: Option<u16>| classify("x:Y", c, None, s, String::new).kind;
        assert_eq!(
            k(Some("InvalidPermission.NotFound"), Some(400)),
            ActErrorKind::RuleNotFound
        );
        assert_eq!(
            k(Some("InvalidGroup.NotFound"), Some(400)),
            ActErrorKind::NotFound
        );
        assert_eq!(k(Some("NoSuchBucket"), Some(404)), ActErrorKind::NotFound);
        assert_eq!(
            k(Some("TrailNotFoundException"), Some(400)),
            ActErrorKind::NotFound
        );
        assert_eq!(
            k(Some("DBInstanceNotFound"), Some(404)),
            ActErrorKind::NotFound
        );
        assert_eq!(
            k(Some("AccessDenied"), Some(403)),
            ActErrorKind::AccessDenied
        );
        assert_eq!(
            k(Some("UnauthorizedOperation"), Some(403)),
            ActErrorKind::AccessDenied
        );
        assert_eq!(k(None, Some(403)), ActErrorKind::AccessDenied);
        assert_eq!(
            k(Some("RequestLimitExceeded"), Some(503)),
            ActErrorKind::Throttled
        );
        assert_eq!(
            k(Some("InvalidParameterValue"), Some(400)),
            ActErrorKind::Invalid
        );
        assert_eq!(k(None, None), ActErrorKind::Other);
    }

    #[test]
    fn codes_from_undecodable_bodies() {
        let xml = br#"<?xml version="1.0"?><ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/r is not authorized to perform: cloudtrail:UpdateTrail</Message></Error></Errors></ErrorResponse>"#;
        let (c, m) = code_from_body(xml);
        assert_eq!(c.as_deref(), Some("AccessDenied"));
        assert!(m.unwrap().contains("cloudtrail:UpdateTrail"));
        let json = br#"{"__type": "com.amazonaws#ThrottlingException", "message": "slow down"}"#;
        assert_eq!(
            code_from_body(json),
            (Some("ThrottlingException".into()), Some("slow down".into()))
        );
        assert_eq!(code_from_body(b"<html>oops</html>"), (None, None));
    }
}
