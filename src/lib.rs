//! An async client for the Twilio Conversations v1 **Service Conversation Participant**
//! resource: list, create, fetch, update and delete the participants of a conversation
//! (`/v1/Services/{ChatServiceSid}/Conversations/{ConversationSid}/Participants[/{Sid}]`),
//! find the conversations a participant is in, and run one operation over many of them.
//!
//! The wire layer is generated at build time by `progenitor` from the hand-maintained OpenAPI
//! document in `openapi/`; this crate adds a thin layer on top: [`Credentials`], a configured
//! [`Client`], validated SIDs ([`sid`]), pagination as a [`Stream`](futures_core::Stream),
//! retries that never repeat a write that may have happened ([`RetryPolicy`]) and one
//! [`Error`] type. It needs a Tokio runtime, as reqwest does. `use
//! twilio_conversations::prelude::*` brings the stream methods (`try_next`, `try_collect`,
//! `next`), so no `futures` crate is needed.
//!
//! # A tour
//!
//! **Connect.** [`Client::from_env`] reads `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN` (or
//! `TWILIO_API_KEY` and `TWILIO_API_SECRET`); [`Client::builder`] sets everything else.
//!
//! ```no_run
//! use twilio_conversations::{Client, ServiceSid};
//!
//! # fn main() -> Result<(), twilio_conversations::Error> {
//! let client = Client::from_env()?;
//! let service: ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?; // checked locally
//! let participants = client.participants(&service, "support-room-7"); // CH… SID or unique name
//! # let _ = participants; Ok(()) }
//! ```
//!
//! The examples below run against the crate's fake server (see *Test with the fake*); with
//! a real client they read and write the same way.
//!
//! **List** page after page; the next page downloads while you handle this one.
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fake = twilio_conversations::testing::FakeServer::start().await?;
//! # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
//! # fake.add_generated(&service, "support-room-7", 120, 7);
//! # let client = twilio_conversations::Client::builder()
//! #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
//! use twilio_conversations::prelude::*;
//!
//! let participants = client.participants(&service, "support-room-7");
//! let mut stream = participants.limit(100).stream();
//! let mut sms = 0;
//! while let Some(participant) = stream.try_next().await? {
//!     if let Some(address) = participant.messaging_binding.as_ref().and_then(|b| b.address.as_deref()) {
//!         println!("{:?} texts from {address}", participant.sid);
//!         sms += 1;
//!     }
//! }
//! assert_eq!(sms, 50);
//!
//! // Or all at once, or one page with its metadata.
//! assert_eq!(participants.list().await?.len(), 120);
//! let page = participants.page_size(20).first_page().await?.expect("a page");
//! assert_eq!(page.items.len(), 20);
//! # Ok(()) }
//! # #[cfg(not(feature = "testing"))] fn main() {}
//! ```
//!
//! **Write**: create (a chat identity, or an address), fetch by SID or identity, update the
//! fields you set, delete. A builder is sent with `.await` (or `.send().await`).
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fake = twilio_conversations::testing::FakeServer::start().await?;
//! # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
//! # fake.add_conversation(&service, "support-room-7", []);
//! # let client = twilio_conversations::Client::builder()
//! #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
//! use twilio_conversations::{Creation, Deletion};
//!
//! let participants = client.participants(&service, "support-room-7");
//! let alice = participants
//!     .create()
//!     .identity("alice")
//!     .attributes(&serde_json::json!({ "nickname": "Al" }))
//!     .await?;
//! let sid = alice.sid.clone().expect("Twilio gives every participant a SID");
//! let sms = participants.create().address("+15558675310").proxy_address("+15017122661").await?;
//!
//! let fetched = participants.fetch("alice").await?; // by identity, or by SID
//! assert_eq!(fetched.sid.as_ref(), Some(&sid));
//! let updated = participants.update(&sid).last_read_message_index(7).await?;
//! assert_eq!(updated.last_read_message_index, Some(7));
//! assert_eq!(participants.delete(&sid).await?, Deletion::Deleted);
//!
//! // Safe to repeat: a participant already there, or already gone, is not an error.
//! let again = participants.create().identity("bob").send_unless_present().await?;
//! assert!(matches!(again, Creation::Created(_)));
//! let again = participants.create().identity("bob").send_unless_present().await?;
//! assert_eq!(again, Creation::AlreadyPresent { code: 50433 });
//! assert_eq!(participants.delete(&sid).send_unless_gone().await?, Deletion::AlreadyGone);
//! # let _ = sms; Ok(()) }
//! # #[cfg(not(feature = "testing"))] fn main() {}
//! ```
//!
//! **Many conversations**: where a participant is ([`Client::participant_conversations`]),
//! and one operation over many conversations, a few at once ([`Client::fleet`]).
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fake = twilio_conversations::testing::FakeServer::start().await?;
//! # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
//! # for room in ["support-1", "support-2", "support-3"] { fake.add_conversation(&service, room, []); }
//! # let client = twilio_conversations::Client::builder()
//! #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
//! use twilio_conversations::{prelude::*, Deletion, ParticipantRef};
//!
//! // Add a supervisor to three rooms, four conversations at a time at most.
//! let rooms = ["support-1", "support-2", "support-3"];
//! let added: Vec<_> = client
//!     .fleet(&service)
//!     .concurrency(4)
//!     .run(rooms, |participants, _room| async move {
//!         participants.create().identity("supervisor-1").send_unless_present().await
//!     })
//!     .collect()
//!     .await;
//! assert!(added.iter().all(|done| done.result.is_ok()));
//!
//! // Where is the supervisor now?
//! let found = client
//!     .participant_conversations(&service, ParticipantRef::identity("supervisor-1"))
//!     .list()
//!     .await?;
//! assert_eq!(found.len(), 3);
//!
//! // Remove them from every conversation they are in.
//! let mut removals = client
//!     .fleet(&service)
//!     .remove_everywhere(ParticipantRef::identity("supervisor-1"))
//!     .await?;
//! while let Some(done) = removals.next().await {
//!     assert_eq!(done.result?, Deletion::Deleted);
//! }
//! # Ok(()) }
//! # #[cfg(not(feature = "testing"))] fn main() {}
//! ```
//!
//! **Test with the fake**: with the `testing` feature (in your `[dev-dependencies]`),
//! [`testing::FakeServer`] is a stateful fake of the API on 127.0.0.1. Add a conversation
//! first (the fake answers 404 for any other), then point a client at it.
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use twilio_conversations::{testing::FakeServer, Client, ServiceSid};
//!
//! let fake = FakeServer::start().await?;
//! let service: ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
//! fake.add_generated(&service, "support-room-7", 120, 7); // 120 participants, seed 7
//! let client = Client::builder().base_url(fake.base_url()).credentials(fake.credentials()).build()?;
//!
//! let everyone = client.participants(&service, "support-room-7").list().await?;
//! assert_eq!(everyone.len(), 120);
//! assert_eq!(fake.requests().len(), 2); // two pages of 100 at most
//! # Ok(()) }
//! # #[cfg(not(feature = "testing"))] fn main() {}
//! ```
//!
//! Webhooks: [`webhook::RequestValidator`] checks `X-Twilio-Signature`, and
//! [`webhook::ParticipantEvent`] reads the event; the fake sends signed ones
//! (`FakeServer::set_webhook_url`).
//!
//! # Features
//! - `testing`: the [`testing`] module, an in-process fake of the API for your tests (it
//!   pulls in a small HTTP server, hyper).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod auth;
mod binding;
mod call;
mod client;
mod config;
mod conversation_state;
mod error;
mod fleet;
mod generated;
mod json_body;
mod limits;
pub mod models;
mod operation;
mod pagination;
mod participant_conversations;
mod participants;
mod path;
pub mod prelude;
mod raw_participant;
mod remove_everywhere;
mod retry;
pub mod sid;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod time;
mod transport;
pub mod webhook;

pub use auth::Credentials;
pub use client::{Client, ClientBuilder};
pub use config::{
    DEFAULT_BASE_URL, DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use error::{ApiError, Error, Result, TimeoutKind};
pub use fleet::{
    Fleet, FleetItem, FleetProgress, FleetRun, InConversation, DEFAULT_FLEET_CONCURRENCY,
};
pub use limits::{
    ClientStats, RetryBudget, DEFAULT_CONVERSATION_WRITE_RATE, DEFAULT_MAX_CONCURRENT_REQUESTS,
};
pub use models::{MessagingBinding, PageMeta, Participant, ParticipantPage, RawParticipant};
pub use operation::{Creation, Deletion, WriteOperation};
pub use pagination::{Page, PageStream, MAX_EMPTY_PAGES};
pub use participant_conversations::{
    ListParticipantConversations, ParticipantConversationStream, ParticipantRef,
    MAX_CONVERSATIONS_PAGE_SIZE,
};
pub use participants::{
    CreateParticipant, DeleteParticipant, ListParticipants, ParticipantStream, ParticipantsHandler,
    RawParticipantStream, UpdateParticipant, MAX_PAGE_SIZE,
};
pub use path::{ConversationId, ParticipantId};
pub use remove_everywhere::{RemovalPlan, RemoveEverywhere};
pub use retry::RetryPolicy;
pub use sid::{
    AccountSid, ApiKeySid, ConversationSid, InvalidSid, ParticipantSid, RoleSid, ServiceSid,
    UserSid,
};

/// The README's Rust examples, compiled as doc tests so they stay true (its testing example
/// needs the `testing` feature).
#[cfg(all(doctest, feature = "testing"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
