//! The crate's one error type.

use std::time::Duration;

use crate::{
    operation::WriteOperation,
    sid::{InvalidSid, ParticipantSid},
};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, grouped so a caller can tell bad input, configuration,
/// API answers, transport failures and undecodable responses apart.
///
/// Each message names its root cause once (e.g. `connection refused`); the transport
/// variants keep reqwest's error as a field, not as a `source()`, and
/// [`Error::OutcomeUnknown`] names its cause only as `source()`, so error reporters that
/// walk the chain do not print the same cause twice.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A SID given by the caller does not match its pattern; no request was sent.
    InvalidSid(InvalidSid),

    /// An environment variable holds a malformed SID (e.g. `TWILIO_ACCOUNT_SID`); no request
    /// was sent. The message names the variable and shows its value only as [`InvalidSid`]
    /// does (its first characters and its length), since it may be a secret put in the
    /// wrong place.
    InvalidEnvVar {
        /// The variable's name, e.g. `TWILIO_ACCOUNT_SID`.
        variable: &'static str,
        /// What is wrong with its value.
        error: InvalidSid,
    },

    /// Another argument is out of range or malformed; no request was sent.
    InvalidInput {
        /// The parameter's name, e.g. `PageSize`.
        parameter: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// Required credentials are missing from the environment.
    MissingCredentials {
        /// The environment variables to set, e.g. `TWILIO_AUTH_TOKEN`.
        missing: String,
    },

    /// The client configuration is unusable (e.g. a plain-HTTP base URL for a remote host).
    /// Never contains a secret: credentials in a URL are redacted.
    Config(String),

    /// Twilio (or whatever answered at the base URL) returned an error status.
    Api(Box<ApiError>),

    /// The request could not be sent or the response could not be read.
    Transport {
        /// The root cause in a few words, e.g. `connection refused`.
        cause: String,
        /// reqwest's error, for callers that want to inspect it.
        error: reqwest::Error,
        /// How many attempts were made.
        attempts: u32,
    },

    /// A timeout fired: connecting, one attempt, or the whole call.
    Timeout {
        /// Which timeout fired.
        kind: TimeoutKind,
        /// Its configured length.
        limit: Duration,
        /// How many attempts were made.
        attempts: u32,
    },

    /// The API was in an outage (failures clustered: 5xx answers, timeouts or broken
    /// connections from several requests) and the client held this request back, probing
    /// the API at growing intervals, until its call deadline; see
    /// [`crate::ClientBuilder::retry_budget`]. `attempts` counts what was sent before.
    Unavailable {
        /// The call deadline ([`crate::ClientBuilder::call_timeout`]).
        limit: Duration,
        /// How many attempts were made before and during the outage.
        attempts: u32,
        /// The status of the last answer, when one arrived (a 5xx).
        status: Option<u16>,
    },

    /// A write (create, update or delete) reached Twilio, or may have, and no answer says
    /// whether it was applied: a 5xx, a timeout or a cut connection after sending, the call
    /// deadline with an attempt on the wire, or a success whose body could not be read. It
    /// was not repeated where repeating could do harm, and it is never "retryable": look
    /// the participant up (fetch) before trying again. Update and delete give the same
    /// result when repeated.
    ///
    /// The message says what happened; what was lost is `cause` (also `source()`), the
    /// typed error of the last attempt: [`Error::Api`] keeps Twilio's code, the request id
    /// and `retry_after`, [`Error::Transport`] or [`Error::Timeout`] what the network did.
    /// [`Error::api_error`] reaches the API error through it.
    OutcomeUnknown {
        /// Which write it was.
        operation: WriteOperation,
        /// What was lost: the last attempt's error (a 5xx answer, a timeout, a cut
        /// connection, or a 2xx body that could not be decoded).
        cause: Box<Error>,
        /// The status of the last answer, when one arrived (a 5xx, or a 2xx that could
        /// not be read).
        status: Option<u16>,
        /// The participant's SID, when an unreadable success body still showed it.
        sid: Option<ParticipantSid>,
        /// How many attempts were made.
        attempts: u32,
    },

    /// A successful response whose body does not match the schema.
    Decode {
        /// The JSON path of the value that failed, e.g. `participants[3].date_created`.
        path: String,
        /// What serde reported there.
        message: String,
    },

    /// The response body was larger than this crate reads (16 MiB); it was not decoded.
    ResponseTooLarge {
        /// The response's HTTP status.
        status: u16,
        /// The limit in bytes.
        limit: usize,
        /// The declared length, or how much had arrived when reading stopped.
        size: u64,
    },

    /// The server's paging metadata cannot be followed (e.g. a link seen before).
    Pagination(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidSid(error) => error.fmt(f),
            Error::InvalidEnvVar { variable, error } => {
                write!(f, "{variable} is not valid: {error}")
            }
            Error::InvalidInput { parameter, reason } => write!(f, "invalid {parameter}: {reason}"),
            Error::MissingCredentials { missing } => {
                write!(f, "missing Twilio credentials: set {missing}")
            }
            Error::Config(why) => write!(f, "invalid client configuration: {why}"),
            Error::Api(api) => api.fmt(f),
            Error::Transport {
                cause, attempts, ..
            } => write!(
                f,
                "could not reach the API ({cause}) after {attempts} {}",
                plural(*attempts)
            ),
            Error::Timeout {
                kind,
                limit,
                attempts,
            } => write!(
                f,
                "the {kind} timeout of {limit:?} fired after {attempts} {}",
                plural(*attempts)
            ),
            Error::OutcomeUnknown { operation, .. } => write!(
                f,
                "the {operation} request was sent but its outcome is unknown; check whether \
                 it took effect (fetch the participant) before trying again"
            ),
            Error::Decode { path, message } => {
                write!(
                    f,
                    "could not decode the response body at `{path}`: {message}"
                )
            }
            Error::ResponseTooLarge {
                status,
                limit,
                size,
            } => write!(
                f,
                "the HTTP {status} response body exceeds {limit} bytes (at least {size})"
            ),
            Error::Pagination(why) => write!(f, "cannot follow the next page: {why}"),
            Error::Unavailable {
                limit,
                attempts,
                status,
            } => f.write_str(&unavailable(*limit, *attempts, *status)),
        }
    }
}

/// The chain of causes: a write whose outcome is unknown leads to the error that left it
/// unknown (the `Error` itself, so `downcast_ref::<Error>()` finds it); a SID's error is its
/// own; the transport variants keep reqwest's error as a field (their message already
/// names its root cause).
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::OutcomeUnknown { cause, .. } => Some(&**cause),
            Error::InvalidSid(error) => error.source(),
            _ => None,
        }
    }
}

impl From<InvalidSid> for Error {
    fn from(error: InvalidSid) -> Self {
        Error::InvalidSid(error)
    }
}

/// Which timeout fired; see [`Error::Timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Connecting to the host ([`crate::ClientBuilder::connect_timeout`]).
    Connect,
    /// One attempt: sending and reading the whole answer ([`crate::ClientBuilder::timeout`]).
    Attempt,
    /// The whole call, retries and waits included ([`crate::ClientBuilder::call_timeout`]).
    Call,
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::Attempt => "attempt",
            TimeoutKind::Call => "call",
        })
    }
}

/// The message of [`Error::Unavailable`].
fn unavailable(limit: Duration, attempts: u32, status: Option<u16>) -> String {
    let last = status.map_or(String::new(), |s| format!("; its last answer was HTTP {s}"));
    let sent = match attempts {
        0 => "it was never sent".to_owned(),
        n => format!("after {n} {}", plural(n)),
    };
    format!(
        "the API was unavailable (an outage{last}) until the call deadline of {limit:?}: \
         the request waited for it to come back, {sent}"
    )
}

fn plural(attempts: u32) -> &'static str {
    if attempts == 1 {
        "attempt"
    } else {
        "attempts"
    }
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
    /// The `Twilio-Request-Id` response header: quote it to Twilio support.
    pub request_id: Option<String>,
    /// The server's `Retry-After`, when it sent one: the earliest time to try again.
    pub retry_after: Option<Duration>,
    /// How many attempts were made, retries included.
    pub attempts: u32,
}

/// How many bytes of a non-JSON error body [`ApiError::body_excerpt`] keeps.
const EXCERPT_LEN: usize = 512;

/// What the transport saw of the last answer, beside its status and body.
#[derive(Clone, Debug, Default)]
pub(crate) struct AnswerMeta {
    pub(crate) request_id: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) attempts: u32,
}

impl ApiError {
    pub(crate) fn from_raw(status: u16, body: &[u8], meta: AnswerMeta) -> Self {
        let end = body.len().min(EXCERPT_LEN);
        Self {
            status,
            code: None,
            message: None,
            more_info: None,
            details: serde_json::Map::new(),
            body_excerpt: Some(String::from_utf8_lossy(&body[..end]).into_owned()),
            request_id: meta.request_id,
            retry_after: meta.retry_after,
            attempts: meta.attempts,
        }
    }

    /// True when the same request may succeed later: 429 (Twilio did not process it) and
    /// 500/502/503/504. The client has already retried these as its policy allows.
    pub fn is_retryable(&self) -> bool {
        crate::retry::is_retryable_status(self.status)
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
        if let Some(wait) = self.retry_after {
            write!(f, "; the server asks to retry after {} s", wait.as_secs())?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl Error {
    /// The HTTP status of an API error, an oversized answer or a write's last answer, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::ResponseTooLarge { status, .. } => Some(*status),
            Error::OutcomeUnknown { status, .. } | Error::Unavailable { status, .. } => *status,
            _ => None,
        }
    }

    /// Twilio's error code of an API error (also the cause of a write whose outcome is
    /// unknown), if the body carried one.
    pub fn twilio_code(&self) -> Option<i64> {
        self.api_error().and_then(|api| api.code)
    }

    /// The API's answer: an [`Error::Api`], or the one that left a write's outcome unknown
    /// (its code, request id and `retry_after` included).
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            Error::OutcomeUnknown { cause, .. } => cause.api_error(),
            _ => None,
        }
    }

    /// True when the error came from the caller's input or configuration, before any request.
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            Error::InvalidSid(_)
                | Error::InvalidEnvVar { .. }
                | Error::InvalidInput { .. }
                | Error::MissingCredentials { .. }
                | Error::Config(_)
        )
    }

    /// True when trying the same call again later may succeed: a retryable API status,
    /// a transport failure, a timeout or an outage. Never true for a write whose outcome is
    /// unknown.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.is_retryable(),
            Error::Transport { .. } | Error::Timeout { .. } | Error::Unavailable { .. } => true,
            _ => false,
        }
    }
}

/// `raw` with everything between `://` and the last `@` of the authority replaced by `***`,
/// whether or not the rest parses as a URL.
pub(crate) fn redact_userinfo(raw: &str) -> String {
    let (scheme, rest) = match raw.find("://") {
        Some(at) => raw.split_at(at + 3),
        None => ("", raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => raw.to_owned(),
    }
}

/// The root cause of a reqwest error in a few words: the innermost error's text,
/// e.g. `Connection refused (os error 111)` or `dns error: …`.
pub(crate) fn root_cause(error: &reqwest::Error) -> String {
    let mut innermost = None;
    let mut next = std::error::Error::source(error);
    while let Some(inner) = next {
        innermost = Some(inner);
        next = inner.source();
    }
    match innermost {
        Some(inner) => inner.to_string(),
        // reqwest's own text names the URL; keep only what happened.
        None => {
            let text = error.to_string();
            text.split(" for url").next().unwrap_or(&text).to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(attempts: u32) -> AnswerMeta {
        AnswerMeta {
            attempts,
            ..AnswerMeta::default()
        }
    }

    #[test]
    fn request_id_and_retry_after_are_named() {
        let mut api = ApiError::from_raw(429, b"slow down", meta(1));
        api.request_id = Some("RQ0123".into());
        api.retry_after = Some(Duration::from_secs(60));
        assert_eq!(
            api.to_string(),
            "the API answered HTTP 429: \"slow down\"; the server asks to retry after 60 s \
             [request RQ0123]"
        );
        assert!(api.is_retryable());
    }

    #[test]
    fn raw_excerpt_is_bounded_and_lossy() {
        let body = [b'x'; 2000];
        let api = ApiError::from_raw(502, &body, meta(4));
        assert_eq!(api.body_excerpt.as_deref().map(str::len), Some(EXCERPT_LEN));
        let cut = ApiError::from_raw(502, &[0xff, b'a'], meta(1));
        assert_eq!(cut.body_excerpt.as_deref(), Some("\u{fffd}a"));
        assert!(api.to_string().ends_with("after 4 attempts"));
    }

    #[test]
    fn one_wording_for_attempts() {
        let one = Error::Timeout {
            kind: TimeoutKind::Call,
            limit: Duration::from_secs(1),
            attempts: 1,
        };
        assert_eq!(
            one.to_string(),
            "the call timeout of 1s fired after 1 attempt"
        );
    }

    #[test]
    fn an_outage_says_what_was_sent() {
        let never = Error::Unavailable {
            limit: Duration::from_secs(10),
            attempts: 0,
            status: None,
        };
        assert_eq!(
            never.to_string(),
            "the API was unavailable (an outage) until the call deadline of 10s: the request \
             waited for it to come back, it was never sent"
        );
        let tried = Error::Unavailable {
            limit: Duration::from_secs(10),
            attempts: 2,
            status: Some(503),
        };
        assert_eq!(
            tried.to_string(),
            "the API was unavailable (an outage; its last answer was HTTP 503) until the call \
             deadline of 10s: the request waited for it to come back, after 2 attempts"
        );
        assert!(tried.is_retryable());
        assert_eq!(tried.status(), Some(503));
    }
}
