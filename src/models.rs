//! The wire types, re-exported from the generated code, and the few helpers users need.
//!
//! `CreateParticipantRequest`, `UpdateParticipantRequest` and `WebhookEnabled` are the
//! generated form bodies and header the builders fill in; they are here for tooling that
//! checks the spec against them.

pub use crate::binding::MessagingBinding;
pub use crate::conversation_state::ConversationState;
pub use crate::generated::types::{
    ConversationTimers, CreateParticipantRequest, PageMeta, Participant, ParticipantConversation,
    ParticipantConversationLinks, ParticipantConversationPage, ParticipantPage, TwilioError,
    UpdateParticipantRequest, WebhookEnabled,
};
pub use crate::raw_participant::RawParticipant;

use crate::error::{Error, Result};

/// Why a participant's `attributes` could not be read as the requested type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttributesError {
    /// The participant has no `attributes` (the API sent `null`).
    #[error("the participant has no attributes")]
    Missing,
    /// The text is not valid JSON, or not of the requested shape.
    #[error("the attributes are not valid JSON of the expected shape: {0}")]
    Invalid(#[from] serde_json::Error),
}

impl From<AttributesError> for Error {
    /// Lets `?` carry an attributes error in a function returning this crate's `Result`.
    fn from(error: AttributesError) -> Self {
        Error::Decode {
            path: "attributes".into(),
            message: error.to_string(),
        }
    }
}

impl Participant {
    /// Parses the `attributes` string (JSON text; `"{}"` when unset) into `T`, e.g.
    /// `serde_json::Value` or a type of your own.
    ///
    /// # Errors
    /// [`AttributesError::Missing`] when `attributes` is null, [`AttributesError::Invalid`]
    /// when the text is not JSON of `T`'s shape.
    pub fn attributes_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, AttributesError> {
        let text = self.attributes.as_deref().ok_or(AttributesError::Missing)?;
        Ok(serde_json::from_str(text)?)
    }
}

/// Decodes a page body, naming the JSON path of the first value that does not fit.
///
/// # Errors
/// [`Error::Decode`] with the path (e.g. `participants[3].sid`) and serde's message.
pub fn decode_page(body: &[u8]) -> Result<ParticipantPage> {
    decode(body)
}

/// Decodes one participant (the body of create, fetch and update), naming the JSON path of
/// the first value that does not fit.
///
/// # Errors
/// [`Error::Decode`] with the path (e.g. `date_created`) and serde's message.
pub fn decode_participant(body: &[u8]) -> Result<Participant> {
    decode(body)
}

/// Decodes a page of the conversations a participant is in, naming the JSON path of the
/// first value that does not fit.
///
/// # Errors
/// [`Error::Decode`] with the path (e.g. `conversations[0].conversation_state`).
pub fn decode_participant_conversations(body: &[u8]) -> Result<ParticipantConversationPage> {
    decode(body)
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| Error::Decode {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    deserializer.end().map_err(|e| Error::Decode {
        path: String::new(),
        message: e.to_string(),
    })?;
    Ok(value)
}
