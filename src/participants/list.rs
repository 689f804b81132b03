//! List: a conversation's participants, page by page or as a stream.

use std::sync::Arc;

use super::ParticipantsHandler;
use serde::de::DeserializeOwned;

use crate::{
    error::Result,
    models::{Participant, ParticipantPage, RawParticipant},
    operation::Operation,
    pagination::{self, FetchPage, Fetched, Page, PageStream, WalkSettings},
    raw_participant::RawParticipantPage,
};

/// Twilio's largest page of participants, and the page size asked for when the caller sets
/// none.
pub const MAX_PAGE_SIZE: u32 = 100;

/// An auto-paginating stream of participants; see [`ListParticipants::stream`].
pub type ParticipantStream = PageStream<Participant>;

/// An auto-paginating stream of participants as the API sent them; see
/// [`ListParticipants::raw_stream`].
pub type RawParticipantStream = PageStream<RawParticipant>;

/// A request for a conversation's participants; run it with [`stream`](Self::stream),
/// [`list`](Self::list) or [`first_page`](Self::first_page).
///
/// ```
/// # #[cfg(feature = "testing")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let fake = twilio_conversations::testing::FakeServer::start().await?;
/// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
/// # let client = twilio_conversations::Client::builder()
/// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
/// # fake.add_generated(&service, "support-room-7", 120, 7);
/// use twilio_conversations::prelude::*;
///
/// let request = client.participants(&service, "support-room-7").page_size(25).limit(60);
/// let some: Vec<_> = request.clone().stream().try_collect().await?;
/// assert_eq!(some.len(), 60);
/// assert_eq!(request.list().await?.len(), 60);
/// assert_eq!(fake.requests().len(), 6); // 25 + 25 + 10, twice
/// # Ok(()) }
/// # #[cfg(not(feature = "testing"))] fn main() {}
/// ```
#[derive(Clone, Debug)]
#[must_use = "a list request does nothing until it is run"]
pub struct ListParticipants {
    handler: ParticipantsHandler,
    page_size: Option<u32>,
    limit: Option<u64>,
}

impl ListParticipants {
    pub(super) fn new(handler: ParticipantsHandler) -> Self {
        Self {
            handler,
            page_size: None,
            limit: None,
        }
    }

    /// Participants per request, 1 to 100 (checked when the request runs). Without it the
    /// request asks for Twilio's largest page, 100 (fewer round trips than Twilio's default
    /// of 50), or for the limit when that is smaller.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// The most participants to return in all; no page beyond it is requested, and the last
    /// request asks for no more than are still needed.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Streams every participant, page after page, in the API's order.
    ///
    /// The stream owns a clone of the client (it is `'static + Send`) and must be polled
    /// inside a Tokio runtime. Its first item is an error, with no request sent, when the
    /// page size or the conversation is invalid, or when it is polled outside Tokio; it ends
    /// after the first error. A limit of 0 sends nothing.
    pub fn stream(self) -> ParticipantStream {
        let settings = self.settings();
        pagination::stream_of(self.fetcher(typed_page), settings)
    }

    /// Streams every participant as the API sent it: its JSON object, checked once, for
    /// callers that pass the JSON on (a JSON-lines export) rather than read its fields.
    ///
    /// Requests, paging, retries, limits and errors are those of [`stream`](Self::stream);
    /// only the decoding differs. Each page must be valid JSON of the page's shape (its
    /// `meta` as the typed stream reads it), and each participant one JSON object whose `sid`
    /// is a well-formed participant SID or null: a page that is not is the same
    /// [`Error::Decode`](crate::Error::Decode) as in the typed stream. The participant's
    /// other fields are not decoded; [`RawParticipant::decode`] does that on demand.
    pub fn raw_stream(self) -> RawParticipantStream {
        let settings = self.settings();
        pagination::stream_of(self.fetcher(raw_page), settings)
    }

    /// Collects every participant (up to the limit) into memory.
    ///
    /// # Errors
    /// The first error of [`stream`](Self::stream).
    pub async fn list(self) -> Result<Vec<Participant>> {
        pagination::collect(self.stream()).await
    }

    /// Fetches the first page only, with its paging metadata; `None`, with nothing sent,
    /// when the limit is 0.
    ///
    /// # Errors
    /// Invalid input before any request, or the request's error.
    pub async fn first_page(self) -> Result<Option<Page<Participant>>> {
        pagination::first_page(self.fetcher(typed_page), self.settings()?).await
    }

    /// The walk's settings, once the conversation name is known to be usable.
    fn settings(&self) -> Result<WalkSettings> {
        self.handler.conversation.checked()?;
        Ok(WalkSettings {
            max_page_size: MAX_PAGE_SIZE,
            page_size: self.page_size,
            limit: self.limit,
        })
    }

    /// Requests one page of this conversation's participants, decoding its body into `P`
    /// and splitting that with `split`.
    fn fetcher<P, T>(&self, split: fn(P) -> Fetched<T>) -> FetchPage<T>
    where
        P: DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        let handler = self.handler.clone();
        Arc::new(move |query| {
            let handler = handler.clone();
            Box::pin(async move {
                let (service, conversation) = (&handler.service, handler.conversation.checked()?);
                let asked = &query;
                let exchange = handler
                    .client
                    .call(Operation::List, |wire| async move {
                        wire.list_service_conversation_participant_as::<P>(
                            service,
                            conversation,
                            asked.page,
                            asked.page_size,
                            asked.page_token.as_deref(),
                        )
                        .await
                    })
                    .await;
                Operation::List.conclude(exchange).map(split)
            })
        })
    }
}

/// A typed page's participants, each known by its SID.
fn typed_page(page: ParticipantPage) -> Fetched<Participant> {
    Fetched::new(page.participants, page.meta, |p| p.sid.clone())
}

/// A raw page's participants, each known by its SID.
fn raw_page(page: RawParticipantPage) -> Fetched<RawParticipant> {
    Fetched::new(page.participants, page.meta, |p| p.sid().cloned())
}
