//! Event Streams deliveries to a webhook sink: checking one and reading its batch.
//!
//! Twilio POSTs a JSON array of CloudEvents (`Content-Type: application/json`) to the sink
//! URL with a `bodySHA256` query parameter added: the lower-case hexadecimal SHA-256 of the
//! raw body. `X-Twilio-Signature` is base64 HMAC-SHA1, keyed by the Auth Token, over that
//! full URL and no form fields (as twilio-node's `validateRequestWithBody` checks it).
//! [`RequestValidator::validate_event_streams`] checks the body's hash against the raw bytes
//! first, then the signature over the URL variants [`RequestValidator::validate`] tries,
//! then reads the batch.

use serde_json::Value;

use super::{
    body_sha256,
    cloud_event::CloudEvent,
    signature::{self, equal_in_constant_time, query_value},
    RequestValidator, SignatureError, VerifiedBody, BODY_SHA256_PARAM,
};

/// Why an Event Streams delivery is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventStreamsError {
    /// The URL has no `bodySHA256`: not signed as Twilio signs a JSON body (answer 403).
    #[error("the URL has no {BODY_SHA256_PARAM} query parameter, so the JSON body is not signed")]
    MissingBodyHash,
    /// The signature or the body hash does not check out, or the URL cannot be read
    /// (answer 403; [`SignatureError::BodyHashMismatch`] when the body is not the one signed).
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The request is Twilio's, but its body is not a JSON array of CloudEvents (answer 400).
    #[error("the signed body is not a batch of CloudEvents: {0}")]
    NotABatch(String),
}

impl EventStreamsError {
    /// The status to answer with: 400 for a signed body that is not a batch, 403 otherwise.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::NotABatch(_) => http::StatusCode::BAD_REQUEST,
            _ => http::StatusCode::FORBIDDEN,
        }
    }
}

impl RequestValidator {
    /// Checks an Event Streams delivery and reads its batch: `url` as Twilio called it (the
    /// sink URL configured in Twilio, with the `bodySHA256` Twilio added), the raw `body` and
    /// the `X-Twilio-Signature` header's value.
    ///
    /// In this order: the URL must carry `bodySHA256`; the body's SHA-256 must equal it
    /// (constant-time); some token's signature of a URL variant (as given, with any port
    /// removed, with the scheme's default port added) must equal the header
    /// (constant-time); the body must be a JSON array whose elements have a text `id` and
    /// `type`. The three participant event types are typed ([`CloudEvent::participant`]),
    /// others kept raw; a participant event whose data cannot be typed is kept raw with the
    /// reason ([`EventData::Unreadable`](super::EventData::Unreadable)), not refused.
    ///
    /// ```
    /// use twilio_conversations::webhook::{body_sha256, sign, AuthToken, RequestValidator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let body = br#"[{"specversion":"1.0","id":"EV1","type":"com.twilio.conversations.participant.added",
    ///   "data":{"ConversationSid":"CH0123456789abcdef0123456789abcdef",
    ///           "ParticipantSid":"MB0123456789abcdef0123456789abcdef","Identity":"alice"}}]"#;
    /// // Twilio adds bodySHA256 to the sink URL and signs that URL.
    /// let url = format!("https://example.com/twilio/events?bodySHA256={}", body_sha256(body));
    /// # let header = sign::<&str, &str>(&AuthToken::new("your-auth-token"), &url, &[]);
    /// let validator = RequestValidator::new(AuthToken::new("your-auth-token"));
    /// let batch = validator.validate_event_streams(&url, body, Some(&header))?;
    /// let added = batch[0].participant().expect("a participant event");
    /// assert_eq!(added.identity.as_deref(), Some("alice"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`EventStreamsError`] saying why the delivery is refused ([`EventStreamsError::status`]
    /// gives the status to answer with).
    pub fn validate_event_streams(
        &self,
        url: &str,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<Vec<CloudEvent>, EventStreamsError> {
        let expected =
            query_value(url, BODY_SHA256_PARAM)?.ok_or(EventStreamsError::MissingBodyHash)?;
        let actual = body_sha256(body);
        if !equal_in_constant_time(expected.as_bytes(), actual.as_bytes()) {
            return Err(SignatureError::BodyHashMismatch {
                expected: expected.chars().take(80).collect(),
                actual,
            }
            .into());
        }
        let verified = self.validate(url, body, signature)?;
        let VerifiedBody::Json(body) = verified.body else {
            // `validate` reads a URL with bodySHA256 as a JSON request.
            return Err(EventStreamsError::MissingBodyHash);
        };
        parse_batch(&body)
    }

    /// [`validate_event_streams`](Self::validate_event_streams) for an [`http::Request`]
    /// with its whole body: the URL is `public_origin` (as configured in Twilio, not the
    /// address a proxy forwarded to) followed by the request's path and query.
    ///
    /// # Errors
    /// As [`validate_event_streams`](Self::validate_event_streams); a header that is not
    /// text counts as missing.
    pub fn validate_event_streams_http<B: AsRef<[u8]>>(
        &self,
        public_origin: &str,
        request: &http::Request<B>,
    ) -> Result<Vec<CloudEvent>, EventStreamsError> {
        let (url, signature) = signature::url_and_signature(public_origin, request);
        self.validate_event_streams(&url, request.body().as_ref(), signature)
    }
}

/// Reads a batch: a JSON array of CloudEvents.
///
/// # Errors
/// [`EventStreamsError::NotABatch`] naming the first element that is not one.
fn parse_batch(body: &[u8]) -> Result<Vec<CloudEvent>, EventStreamsError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| EventStreamsError::NotABatch(e.to_string()))?;
    let Value::Array(items) = value else {
        return Err(EventStreamsError::NotABatch(
            "it is not a JSON array".to_owned(),
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            CloudEvent::from_value(item)
                .map_err(|why| EventStreamsError::NotABatch(format!("element {index} {why}")))
        })
        .collect()
}
