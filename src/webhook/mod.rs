//! Receiving Twilio's participant webhooks, without any web framework: check
//! `X-Twilio-Signature` ([`RequestValidator`]), read the event ([`ParticipantEvent`]) and
//! answer a pre-event ([`PreEventAnswer`]).
//!
//! The signature is checked exactly as Twilio's helper libraries check it: the URL Twilio
//! called (as given, with any port removed, and with the scheme's default port added), then
//! the form fields sorted by name with a repeated name's distinct values sorted; a JSON body
//! is covered by the URL's `bodySHA256`. HMAC-SHA1, SHA-256 and the constant-time
//! comparisons come from `ring`.
//!
//! ```
//! use twilio_conversations::webhook::{
//!     sign, AuthToken, ParticipantEvent, PreEventAnswer, RequestValidator,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let url = "https://example.com/twilio/participants";
//! let form = [
//!     ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
//!     ("EventType", "onParticipantAdd"),
//!     ("ConversationSid", "CH0123456789abcdef0123456789abcdef"),
//!     ("Identity", "alice"),
//!     ("Source", "SDK"),
//!     ("ClientIdentity", "alice"),
//! ];
//! let body = form.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
//! # let header = sign(&AuthToken::new("your-auth-token"), url, &form);
//! // In your handler: the public URL, the raw body, and the X-Twilio-Signature header.
//! let validator = RequestValidator::new(AuthToken::new("your-auth-token"));
//! let request = validator.validate(url, body.as_bytes(), Some(&header))?;
//! let event = ParticipantEvent::from_params(request.params().unwrap_or_default())?;
//! let answer = match &event {
//!     ParticipantEvent::Add(fields) if fields.identity.as_deref() == Some("mallory") => {
//!         PreEventAnswer::reject()
//!     }
//!     _ => PreEventAnswer::allow(),
//! };
//! assert_eq!(answer.status(), 200);
//! # Ok(()) }
//! ```

mod event;
mod signature;

pub use event::{
    EventError, OtherEvent, ParticipantEvent, ParticipantFields, PreEventAnswer, Source,
};
pub use signature::{
    body_sha256, sign, sign_request, AuthToken, RequestValidator, SignatureError, VerifiedBody,
    VerifiedRequest, BODY_SHA256_PARAM, SIGNATURE_HEADER,
};
