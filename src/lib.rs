//! An async client for one Twilio Conversations v1 operation, **List Service Conversation
//! Participants** (`GET /v1/Services/{ChatServiceSid}/Conversations/{ConversationSid}/Participants`).
//!
//! The wire layer is generated at build time by `progenitor` from the hand-maintained OpenAPI
//! document in `openapi/`; this crate adds a thin layer on top: [`Credentials`], a configured
//! [`Client`], validated SIDs ([`sid`]), pagination as a [`futures_core::Stream`], retries
//! ([`RetryPolicy`]) and one [`Error`] type.
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use twilio_conversations::{Client, ServiceSid};
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
mod client;
mod error;
mod generated;
pub mod models;
mod pagination;
mod retry;
pub mod sid;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;

pub use auth::Credentials;
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use error::{ApiError, Error, Result};
pub use models::{MessagingBinding, PageMeta, Participant, ParticipantPage};
pub use pagination::{Page, ParticipantStream, ParticipantsRequest, MAX_PAGE_SIZE};
pub use retry::RetryPolicy;
pub use sid::{
    AccountSid, ApiKeySid, ConversationSid, InvalidSid, ParticipantSid, RoleSid, ServiceSid,
};

/// The README's Rust examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
