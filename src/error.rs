//! The crate's one error type.

use std::time::Duration;

use crate::{generated::types::TwilioError, sid::InvalidSid};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, grouped so a caller can tell bad input, configuration,
/// API answers, transport failures and undecodable responses apart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A SID given by the caller does not match its pattern; no request was sent.
    #[error(transparent)]
    InvalidSid(#[from] InvalidSid),

    /// Another argument is out of range or malformed; no request was sent.
    #[error("invalid {parameter}: {reason}")]
    InvalidInput {
        /// The parameter's name, e.g. `PageSize`.
        parameter: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// Required credentials are missing from the environment.
    #[error("missing Twilio credentials: set {missing}")]
    MissingCredentials {
        /// The environment variables to set, e.g. `TWILIO_AUTH_TOKEN`.
        missing: String,
    },

    /// The client configuration is unusable (e.g. a plain-HTTP base URL for a remote host).
    #[error("invalid client configuration: {0}")]
    Config(String),

    /// Twilio (or whatever answered at the base URL) returned an error status.
    #[error(transparent)]
    Api(Box<ApiError>),

    /// The request could not be sent or the response could not be read.
    #[error("could not reach the API after {attempts} attempt(s): {source}")]
    Transport {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
        /// How many attempts were made.
        attempts: u32,
    },

    /// The request or reading its response took longer than the configured timeout.
    #[error("the request timed out after {attempts} attempt(s) (timeout {timeout:?} each)")]
    Timeout {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
        /// How many attempts were made.
        attempts: u32,
        /// The per-request timeout in force.
        timeout: Duration,
    },

    /// A successful response whose body does not match the participant page schema.
    #[error("could not decode the response body at `{path}`: {message}")]
    Decode {
        /// The JSON path of the value that failed, e.g. `participants[3].date_created`.
        path: String,
        /// What serde reported there.
        message: String,
    },

    /// The response body was larger than this crate reads (16 MiB).
    #[error("{0}")]
    ResponseTooLarge(String),

    /// The server's paging metadata cannot be followed (e.g. a repeated page token).
    #[error("cannot follow the next page: {0}")]
    Pagination(String),
}

/// An error status from the API, with Twilio's error body when there was one.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status code.
    pub status: u16,
    /// Twilio's error code, e.g. 20404.
    pub code: Option<i64>,
    /// Twilio's message.
    pub message: Option<String>,
    /// Link to the error's documentation.
    pub more_info: Option<String>,
    /// Twilio's `details` object, empty when absent.
    pub details: serde_json::Map<String, serde_json::Value>,
    /// The start of the body (at most 512 bytes) when it was not Twilio's JSON error body.
    pub body_excerpt: Option<String>,
    /// How many attempts were made, retries included.
    pub attempts: u32,
}

/// How many bytes of a non-JSON error body [`ApiError::body_excerpt`] keeps.
const EXCERPT_LEN: usize = 512;

impl ApiError {
    pub(crate) fn from_twilio(status: u16, body: TwilioError, attempts: u32) -> Self {
        Self {
            status,
            code: body.code,
            message: body.message,
            more_info: body.more_info,
            details: body.details.unwrap_or_default(),
            body_excerpt: None,
            attempts,
        }
    }

    pub(crate) fn from_raw(status: u16, body: &[u8], attempts: u32) -> Self {
        let end = body.len().min(EXCERPT_LEN);
        Self {
            status,
            code: None,
            message: None,
            more_info: None,
            details: serde_json::Map::new(),
            body_excerpt: Some(String::from_utf8_lossy(&body[..end]).into_owned()),
            attempts,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the API answered HTTP {}", self.status)?;
        if let Some(code) = self.code {
            write!(f, " with Twilio error {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        } else if let Some(excerpt) = &self.body_excerpt {
            write!(f, ": {:?}", excerpt.trim())?;
        }
        if let Some(link) = &self.more_info {
            write!(f, " (see {link})")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl Error {
    /// The HTTP status of an API error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            _ => None,
        }
    }

    /// Twilio's error code of an API error, if the body carried one.
    pub fn twilio_code(&self) -> Option<i64> {
        match self {
            Error::Api(api) => api.code,
            _ => None,
        }
    }

    /// True when the error came from the caller's input or configuration, before any request.
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            Error::InvalidSid(_)
                | Error::InvalidInput { .. }
                | Error::MissingCredentials { .. }
                | Error::Config(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_reads_as_one_sentence() {
        let body = TwilioError {
            code: Some(20404),
            message: Some("The requested resource was not found".into()),
            more_info: Some("https://www.twilio.com/docs/errors/20404".into()),
            status: Some(404),
            details: None,
        };
        let err = Error::Api(Box::new(ApiError::from_twilio(404, body, 1)));
        assert_eq!(
            err.to_string(),
            "the API answered HTTP 404 with Twilio error 20404: The requested resource was not \
             found (see https://www.twilio.com/docs/errors/20404)"
        );
    }

    #[test]
    fn raw_excerpt_is_bounded_and_lossy() {
        let body = [b'x'; 2000];
        let api = ApiError::from_raw(502, &body, 4);
        assert_eq!(api.body_excerpt.as_deref().map(str::len), Some(EXCERPT_LEN));
        let cut = ApiError::from_raw(502, &[0xff, b'a'], 1);
        assert_eq!(cut.body_excerpt.as_deref(), Some("\u{fffd}a"));
        assert!(api.to_string().ends_with("after 4 attempts"));
    }
}
