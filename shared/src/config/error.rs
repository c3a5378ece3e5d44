//! Errors of the Config rule evaluator and of its port.

use std::fmt;

/// An invalid rule parameter. Renders as `InvalidParameterValueException: <param>: <why>`, the
/// way AWS Config reports invalid rule parameters (an error, not a compliance result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's name as the rule declares it (e.g. `blockedPort1`).
    pub param: String,
    /// Why the value is not acceptable.
    pub reason: String,
}

impl ParamError {
    /// A parameter error for `param` with `reason`.
    pub fn new(param: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            param: param.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "InvalidParameterValueException: {}: {}",
            self.param, self.reason
        )
    }
}

impl std::error::Error for ParamError {}

/// An error from a [`ConfigClient`](super::ConfigClient) implementation (the AWS adapter or a
/// fake). `Throttled` and `Transient` are retried with exponential backoff by the evaluator;
/// everything else is reported as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The service throttled the call (`ThrottlingException`, `TooManyRequestsException`, ...).
    #[error("throttled: {0}")]
    Throttled(String),
    /// The resource or entity does not exist (`ResourceNotDiscoveredException`,
    /// `NoSuchEntity`, ...).
    #[error("not found: {0}")]
    NotFound(String),
    /// Any other service error, with the service's error code.
    #[error("{code}: {message}")]
    Service {
        /// The service's error code, e.g. `InvalidResultTokenException`.
        code: String,
        /// The service's message.
        message: String,
    },
    /// A failure a retry may fix: the service's own 5xx errors (`InternalFailure`,
    /// `ServiceUnavailable`, ...) and transport failures (connection refused or dropped, timeout).
    #[error("transient: {0}")]
    Transient(String),
    /// Adapter failure (e.g. an answer that cannot be used).
    #[error("{0}")]
    Other(String),
}

/// Everything that can go wrong while evaluating a Config rule event or document.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A part of the input is not valid JSON.
    #[error("{what} is not valid JSON: {source}")]
    Json {
        /// Which part: "the Config rule event", "invokingEvent", "ruleParameters", ...
        what: String,
        /// The parser's error (line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The input is JSON but not of the expected shape (missing or mistyped field).
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// Which part of the input.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `invokingEvent.messageType` is not one of the four Config sends.
    #[error(
        "unknown messageType '{0}' (expected ConfigurationItemChangeNotification, \
         OversizedConfigurationItemChangeNotification, ScheduledNotification or \
         ConfigurationSnapshotDeliveryCompleted)"
    )]
    UnknownMessageType(String),
    /// A rule parameter is invalid (`InvalidParameterValueException`).
    #[error(transparent)]
    InvalidParameter(#[from] ParamError),
    /// The requested rule does not exist.
    #[error("unknown rule '{requested}'; known rules: {known}")]
    UnknownRule {
        /// What was asked for (parameter `rule`, `--rule`, or the Config rule name).
        requested: String,
        /// Comma-separated list of the known rule names.
        known: String,
    },
    /// The rule cannot evaluate this input (e.g. an account rule given a configuration item).
    #[error("{0}")]
    Unsupported(String),
    /// A port call failed (after retries, for throttling).
    #[error("{operation} failed: {source}")]
    Port {
        /// The Config/IAM/CloudTrail operation, e.g. `PutEvaluations`.
        operation: &'static str,
        /// The port's error.
        #[source]
        source: PortError,
    },
}

impl ConfigError {
    /// An [`InvalidInput`](Self::InvalidInput) error.
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// A JSON parse error for `what`.
    pub fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Json {
            what: what.into(),
            source,
        }
    }

    /// A short error code for Lambda error responses and logs: `InvalidParameterValueException`
    /// for invalid parameters (as AWS Config names it), otherwise a trailwarden code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Json { .. } | Self::InvalidInput { .. } | Self::UnknownMessageType(_) => {
                "InvalidEventException"
            }
            Self::InvalidParameter(_) => "InvalidParameterValueException",
            Self::UnknownRule { .. } => "UnknownRuleException",
            Self::Unsupported(_) => "UnsupportedInputException",
            Self::Port {
                source: PortError::Throttled(_),
                ..
            } => "ThrottlingException",
            Self::Port { .. } => "ServiceException",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_error_renders_like_config() {
        let e = ConfigError::from(ParamError::new("blockedPort1", "'x' is not a port number"));
        assert_eq!(
            e.to_string(),
            "InvalidParameterValueException: blockedPort1: 'x' is not a port number"
        );
        assert_eq!(e.code(), "InvalidParameterValueException");
    }

    #[test]
    fn port_error_names_operation() {
        let e = ConfigError::Port {
            operation: "PutEvaluations",
            source: PortError::Throttled("Rate exceeded".into()),
        };
        assert_eq!(
            e.to_string(),
            "PutEvaluations failed: throttled: Rate exceeded"
        );
        assert_eq!(e.code(), "ThrottlingException");
    }
}
