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

/// Converts an SDK error (any service) to an [`ActError`].
macro_rules! act_err {
    ($api:expr, $e:expr) => {{
        #[allow(unused_imports)]
        use ::aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
        let e = $e;
        let status = e.raw_response().map(|r| r.status().as_u16());
        $crate::aws::act::classify($api, e.code(), e.message(), status, || {
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
}
