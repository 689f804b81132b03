//! Receiving Twilio's participant events, without any web framework, from both channels:
//! Conversations webhooks (check `X-Twilio-Signature` with [`RequestValidator`], read the
//! event as a [`ParticipantEvent`], answer a pre-event with [`PreEventAnswer`]) and Event
//! Streams deliveries to a webhook sink ([`RequestValidator::validate_event_streams`] checks
//! one and reads its batch of [`CloudEvent`]s). Either converts to one
//! [`ParticipantChange`], and [`SeenEvents`] drops redeliveries and names late events, as
//! Event Streams' at-least-once, unordered delivery requires.
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

mod change;
mod cloud_event;
mod event;
mod event_streams;
mod seen;
mod signature;

pub use change::{ChangeKind, Channel, NotAParticipantChange, ParticipantChange};
pub use cloud_event::{
    CloudEvent, EventBinding, EventData, ParticipantData, ParticipantEventKind, PARTICIPANT_ADDED,
    PARTICIPANT_REMOVED, PARTICIPANT_UPDATED,
};

pub use event::{
    EventError, OtherEvent, ParticipantEvent, ParticipantFields, PreEventAnswer, Source,
};
pub use event_streams::EventStreamsError;
pub use seen::{Seen, SeenEvents};
pub use signature::{
    body_sha256, sign, sign_request, AuthToken, RequestValidator, SignatureError, VerifiedBody,
    VerifiedRequest, BODY_SHA256_PARAM, SIGNATURE_HEADER,
};
