//! Where a participant is: the conversations of a Conversation Service that a chat identity
//! or a messaging address takes part in (Twilio's `ListServiceParticipantConversation`).
//!
//! ```no_run
//! # async fn run(client: twilio_conversations::Client, service: twilio_conversations::ServiceSid)
//! # -> twilio_conversations::Result<()> {
//! use twilio_conversations::{prelude::*, ParticipantRef};
//!
//! let mut conversations = client
//!     .participant_conversations(&service, ParticipantRef::identity("agent-7"))
//!     .stream();
//! while let Some(found) = conversations.try_next().await? {
//!     println!("{:?} as {:?}", found.conversation_sid, found.participant_sid);
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;

use crate::{
    client::Client,
    error::{Error, Result},
    models::ParticipantConversation,
    operation::Operation,
    pagination::{self, FetchPage, Fetched, Page, PageStream, WalkSettings},
    sid::ServiceSid,
};

/// Twilio's largest page of a participant's conversations (50, not 100), and the page size
/// asked for when the caller sets none.
pub const MAX_CONVERSATIONS_PAGE_SIZE: u32 = 50;

/// An auto-paginating stream of the conversations a participant is in.
pub type ParticipantConversationStream = PageStream<ParticipantConversation>;

/// Who to look for: exactly one of a chat identity or a messaging address.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParticipantRef {
    /// A chat participant's identity (`Identity`).
    Identity(String),
    /// A participant's messaging address, e.g. `+15558675310` (`Address`).
    Address(String),
}

impl ParticipantRef {
    /// A chat participant by identity.
    pub fn identity(identity: impl Into<String>) -> Self {
        Self::Identity(identity.into())
    }

    /// A participant by messaging address (`messaging_binding.address`).
    pub fn address(address: impl Into<String>) -> Self {
        Self::Address(address.into())
    }

    /// The `Identity` and `Address` query values, or why the value cannot be asked for.
    fn query(&self) -> Result<(Option<&str>, Option<&str>)> {
        let (parameter, value, query) = match self {
            Self::Identity(identity) => ("Identity", identity, (Some(identity.as_str()), None)),
            Self::Address(address) => ("Address", address, (None, Some(address.as_str()))),
        };
        if value.is_empty() {
            return Err(Error::InvalidInput {
                parameter,
                reason: "is empty".into(),
            });
        }
        Ok(query)
    }
}

/// A request for the conversations a participant is in; run it with
/// [`stream`](Self::stream), [`list`](Self::list) or [`first_page`](Self::first_page).
/// Made by [`Client::participant_conversations`].
///
/// ```
/// # #[cfg(feature = "testing")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let fake = twilio_conversations::testing::FakeServer::start().await?;
/// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
/// # let client = twilio_conversations::Client::builder()
/// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
/// # for room in ["support-1", "support-2", "support-3"] { fake.add_conversation(&service, room, []); }
/// # for room in ["support-1", "support-3"] {
/// #     client.participants(&service, room).create().identity("agent-7").await?;
/// # }
/// use twilio_conversations::{prelude::*, ParticipantRef};
///
/// let mut conversations = client
///     .participant_conversations(&service, ParticipantRef::identity("agent-7"))
///     .stream();
/// let mut rooms = Vec::new();
/// while let Some(found) = conversations.try_next().await? {
///     println!("{:?} as {:?}", found.conversation_sid, found.participant_sid);
///     rooms.extend(found.conversation_unique_name);
/// }
/// rooms.sort();
/// assert_eq!(rooms, ["support-1", "support-3"]);
/// # Ok(()) }
/// # #[cfg(not(feature = "testing"))] fn main() {}
/// ```
#[derive(Clone, Debug)]
#[must_use = "a list request does nothing until it is run"]
pub struct ListParticipantConversations {
    client: Client,
    service: ServiceSid,
    who: ParticipantRef,
    page_size: Option<u32>,
    limit: Option<u64>,
}

impl ListParticipantConversations {
    pub(crate) fn new(client: Client, service: ServiceSid, who: ParticipantRef) -> Self {
        Self {
            client,
            service,
            who,
            page_size: None,
            limit: None,
        }
    }

    /// Conversations per request, 1 to 50 (checked when the request runs). Without it the
    /// request asks for Twilio's largest page here, 50.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// The most conversations to return in all.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Streams every conversation the participant is in, page after page, fetching the
    /// next page while the caller works on this one (as
    /// [`ListParticipants::stream`](crate::ListParticipants::stream) does).
    pub fn stream(self) -> ParticipantConversationStream {
        let settings = self.settings();
        pagination::stream_of(self.fetcher(), settings)
    }

    /// Collects every conversation (up to the limit) into memory.
    ///
    /// # Errors
    /// The first error of [`stream`](Self::stream).
    pub async fn list(self) -> Result<Vec<ParticipantConversation>> {
        pagination::collect(self.stream()).await
    }

    /// Fetches the first page only; `None`, with nothing sent, when the limit is 0.
    ///
    /// # Errors
    /// Invalid input before any request, or the request's error.
    pub async fn first_page(self) -> Result<Option<Page<ParticipantConversation>>> {
        pagination::first_page(self.fetcher(), self.settings()?).await
    }

    fn settings(&self) -> Result<WalkSettings> {
        self.who.query()?;
        Ok(WalkSettings {
            max_page_size: MAX_CONVERSATIONS_PAGE_SIZE,
            page_size: self.page_size,
            limit: self.limit,
        })
    }

    fn fetcher(&self) -> FetchPage<ParticipantConversation> {
        let (client, service, who) = (self.client.clone(), self.service.clone(), self.who.clone());
        Arc::new(move |query| {
            let (client, service, who) = (client.clone(), service.clone(), who.clone());
            Box::pin(async move {
                let (identity, address) = who.query()?;
                let (service, asked) = (&service, &query);
                let operation = Operation::ListParticipantConversations;
                let exchange = client
                    .call(operation, |wire| async move {
                        wire.list_service_participant_conversation(
                            service,
                            address,
                            identity,
                            asked.page,
                            asked.page_size,
                            asked.page_token.as_deref(),
                        )
                        .await
                    })
                    .await;
                let page = operation.conclude(exchange)?;
                Ok(Fetched::new(page.conversations, page.meta, |c| {
                    c.participant_sid.clone()
                }))
            })
        })
    }
}
