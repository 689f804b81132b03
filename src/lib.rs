//! An async client for the Twilio Conversations v1 **Service Conversation Participant**
//! resource: list, create, fetch, update and delete the participants of a conversation
//! (`/v1/Services/{ChatServiceSid}/Conversations/{ConversationSid}/Participants[/{Sid}]`).
//!
//! The wire layer is generated at build time by `progenitor` from the hand-maintained OpenAPI
//! document in `openapi/`; this crate adds a thin layer on top: [`Credentials`], a configured
//! [`Client`], validated SIDs ([`sid`]), pagination as a [`Stream`](futures_core::Stream),
//! retries that never repeat a write that may have happened ([`RetryPolicy`]) and one
//! [`Error`] type. It needs a Tokio runtime, as reqwest does.
//!
//! ```no_run
//! use twilio_conversations::{prelude::*, Client, ServiceSid};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::from_env()?;
//! let service: ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
//! let mut participants = client
//!     .participants(&service, "CH0123456789abcdef0123456789abcdef")
//!     .page_size(100)
//!     .limit(250)
//!     .stream();
//! while let Some(participant) = participants.try_next().await? {
//!     let binding = participant.messaging_binding.as_ref().and_then(|b| b.address.as_deref());
//!     println!("{:?} {:?} {:?}", participant.sid, participant.identity, binding);
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod auth;
mod binding;
mod client;
mod error;
mod generated;
pub mod models;
mod pagination;
mod participants;
mod path;
pub mod prelude;
mod retry;
pub mod sid;
#[cfg(feature = "testing")]
pub mod testing;
mod time;
mod transport;

pub use auth::Credentials;
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
};
pub use error::{ApiError, Error, Result, TimeoutKind};
pub use models::{MessagingBinding, PageMeta, Participant, ParticipantPage};
pub use pagination::{ListParticipants, Page, ParticipantStream, MAX_PAGE_SIZE};
pub use participants::{
    CreateParticipant, DeleteParticipant, Deletion, ParticipantsHandler, UpdateParticipant,
};
pub use path::{ConversationId, ParticipantId};
pub use retry::RetryPolicy;
pub use sid::{
    AccountSid, ApiKeySid, ConversationSid, InvalidSid, ParticipantSid, RoleSid, ServiceSid,
};

/// The README's Rust examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
