//! Walking Twilio's pages: the list request, single pages, and an auto-paginating stream.
//!
//! Follow-up pages are requested from the client's configured base URL with the `PageToken`,
//! `Page` and `PageSize` read from `meta.next_page_url`; the host named in that URL is never
//! contacted, so credentials never leave for a host the user did not configure. Every link
//! followed is remembered, so a server that names one again ends the walk with an error
//! instead of a loop.
//!
//! The stream needs a Tokio runtime, as reqwest does. The next page's request is started as
//! soon as the current page arrives and is moved on each time the caller asks for a
//! participant, inside the caller's tracing span: its round trip overlaps the caller's work
//! without a task or a hop to another thread.

use std::{
    collections::{hash_map::DefaultHasher, HashSet},
    future::Future,
    hash::{Hash, Hasher},
    num::NonZeroU64,
    pin::Pin,
    task::{Context, Poll},
};

use futures_core::Stream;
use futures_util::TryStreamExt;
use tracing::Instrument;

use crate::{
    client::Client,
    error::{Error, Result},
    models::{PageMeta, Participant},
    path::ConversationId,
    retry::Operation,
    sid::ServiceSid,
};

/// Twilio's largest page, and the page size asked for when the caller sets none.
pub const MAX_PAGE_SIZE: u32 = 100;

/// The query of one page request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct PageQuery {
    page: Option<u64>,
    page_size: Option<NonZeroU64>,
    page_token: Option<String>,
}

/// A request for a conversation's participants; run it with [`stream`](Self::stream),
/// [`list`](Self::list) or [`first_page`](Self::first_page).
#[derive(Clone, Debug)]
#[must_use = "a list request does nothing until it is run"]
pub struct ListParticipants {
    client: Client,
    service: ServiceSid,
    conversation: ConversationId,
    page_size: Option<u32>,
    limit: Option<u64>,
}

impl ListParticipants {
    pub(crate) fn new(client: Client, service: ServiceSid, conversation: ConversationId) -> Self {
        Self {
            client,
            service,
            conversation,
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
        let state = match self.walk() {
            Ok(walk) => StreamState::Walking(walk),
            Err(error) => StreamState::Invalid(error),
        };
        ParticipantStream {
            items: Vec::new().into_iter(),
            pending: None,
            state,
            pages: 0,
        }
    }

    /// Collects every participant (up to the limit) into memory.
    ///
    /// # Errors
    /// The first error of [`stream`](Self::stream).
    pub async fn list(self) -> Result<Vec<Participant>> {
        self.stream().try_collect().await
    }

    /// Fetches the first page only, with its paging metadata; `None`, with nothing sent,
    /// when the limit is 0.
    ///
    /// # Errors
    /// Invalid input before any request, or the request's error.
    pub async fn first_page(self) -> Result<Option<Page>> {
        let mut walk = self.walk()?;
        match walk.next.take_query() {
            Some(query) => walk.fetch(query).await.map(Some),
            None => Ok(None),
        }
    }

    fn walk(self) -> Result<Walk> {
        self.conversation.checked()?;
        let page_size = match self.page_size {
            Some(size @ 1..=MAX_PAGE_SIZE) => Some(u64::from(size)),
            Some(size) => {
                return Err(Error::InvalidInput {
                    parameter: "PageSize",
                    reason: format!("{size} is not between 1 and {MAX_PAGE_SIZE}"),
                })
            }
            None => None,
        };
        let mut walk = Walk {
            client: self.client,
            service: self.service,
            conversation: self.conversation,
            page_size,
            remaining: self.limit,
            followed: HashSet::new(),
            next: Next::End,
        };
        if walk.remaining != Some(0) {
            walk.next = Next::Query(PageQuery {
                page_size: walk.sized(page_size),
                ..PageQuery::default()
            });
        }
        Ok(walk)
    }
}

/// One page of participants with Twilio's paging metadata.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Page {
    /// The participants on this page, in the API's order.
    pub participants: Vec<Participant>,
    /// Twilio's paging metadata for this page.
    pub meta: PageMeta,
    walk: Walk,
}

impl Page {
    /// Fetches the page after this one, or `None` on the last page (or once the request's
    /// limit is reached).
    ///
    /// # Errors
    /// [`Error::Pagination`] when `next_page_url` cannot be followed or names a page
    /// followed before; otherwise the request's error.
    pub async fn next_page(&self, client: &Client) -> Result<Option<Page>> {
        let mut walk = self.walk.clone();
        walk.client = client.clone();
        match walk.next.clone().into_query()? {
            Some(query) => walk.fetch(query).await.map(Some),
            None => Ok(None),
        }
    }
}

/// Where a walk through the pages stands: what to ask next, and how many are still wanted.
#[derive(Clone, Debug)]
struct Walk {
    client: Client,
    service: ServiceSid,
    conversation: ConversationId,
    page_size: Option<u64>,
    remaining: Option<u64>,
    /// Every page followed so far, as a hash of its `PageToken` (or `Page`, without one).
    followed: HashSet<u64>,
    next: Next,
}

/// What follows the current page.
#[derive(Clone, Debug)]
enum Next {
    /// This request is next.
    Query(PageQuery),
    /// Nothing: the last page, or the limit is reached.
    End,
    /// `next_page_url` cannot be followed; why, for [`Error::Pagination`].
    Broken(String),
}

impl Next {
    /// The next request, `None` at the end, or the reason it cannot be followed.
    fn into_query(self) -> Result<Option<PageQuery>> {
        match self {
            Next::Query(query) => Ok(Some(query)),
            Next::End => Ok(None),
            Next::Broken(why) => Err(Error::Pagination(why)),
        }
    }

    /// Takes the next request, leaving `End`; an end or a broken link stays in place.
    fn take_query(&mut self) -> Option<PageQuery> {
        match std::mem::replace(self, Next::End) {
            Next::Query(query) => Some(query),
            other => {
                *self = other;
                None
            }
        }
    }
}

impl Walk {
    /// The `PageSize` to ask for: the configured or offered size (100 when neither is set),
    /// capped by what the limit still needs.
    fn sized(&self, offered: Option<u64>) -> Option<NonZeroU64> {
        let size = offered
            .or(self.page_size)
            .unwrap_or(u64::from(MAX_PAGE_SIZE));
        NonZeroU64::new(self.remaining.map_or(size, |remaining| size.min(remaining)))
    }

    /// Fetches `query`'s page and moves the walk past it.
    async fn fetch(mut self, query: PageQuery) -> Result<Page> {
        let (service, conversation, asked) = (&self.service, self.conversation.checked()?, &query);
        let (page, _) = self
            .client
            .call(Operation::List, |wire| async move {
                wire.list_service_conversation_participant(
                    service,
                    conversation,
                    asked.page,
                    asked.page_size,
                    asked.page_token.as_deref(),
                )
                .await
            })
            .await;
        let page = page?;
        let mut participants = page.participants;
        if let Some(remaining) = self.remaining.as_mut() {
            participants.truncate(usize::try_from(*remaining).unwrap_or(usize::MAX));
            *remaining -= participants.len() as u64;
        }
        self.followed.insert(link_hash(&query));
        self.next = match (&page.meta.next_page_url, self.remaining) {
            (_, Some(0)) | (None, _) => Next::End,
            (Some(url), _) => self.follow(url).map_or_else(Next::Broken, Next::Query),
        };
        Ok(Page {
            participants,
            meta: page.meta,
            walk: self,
        })
    }

    /// Reads `PageToken`, `Page` and `PageSize` from a `next_page_url`, or says why not.
    fn follow(&self, next_page_url: &str) -> Result<PageQuery, String> {
        let url = url::Url::parse(next_page_url)
            .map_err(|e| format!("next_page_url {next_page_url:?} is not a URL: {e}"))?;
        let mut query = PageQuery::default();
        let mut offered = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "PageToken" => query.page_token = Some(value.into_owned()),
                "Page" => query.page = value.parse().ok(),
                "PageSize" => offered = value.parse().ok(),
                _ => {}
            }
        }
        if query.page_token.is_none() && query.page.is_none() {
            return Err(format!(
                "next_page_url {next_page_url:?} has neither PageToken nor Page"
            ));
        }
        if self.followed.contains(&link_hash(&query)) {
            return Err(format!(
                "next_page_url {next_page_url:?} names a page already followed; stopping \
                 instead of looping"
            ));
        }
        query.page_size = self.sized(offered);
        Ok(query)
    }
}

/// A followed page, remembered as a hash of its `PageToken` (which names the page; `Page`
/// is client state), or of its `Page` when it has no token, so a walk over millions of
/// participants stays small.
fn link_hash(query: &PageQuery) -> u64 {
    let mut hasher = DefaultHasher::new();
    match &query.page_token {
        Some(token) => token.hash(&mut hasher),
        None => query.page.hash(&mut hasher),
    }
    hasher.finish()
}

/// A page request under way, driven by the stream itself: each time the caller asks for a
/// participant, the request makes progress first. Its round trip overlaps the caller's work
/// on the current page, with no hop to another thread and no task to schedule. Dropping it
/// cancels the request.
struct InFlight {
    fetch: Pin<Box<dyn Future<Output = Result<Page>> + Send>>,
    /// The answer, once it arrived while the caller still had participants to consume.
    done: Option<Result<Page>>,
}

impl InFlight {
    /// Starts `fetch` inside the caller's current span, or says that Tokio is needed.
    fn start(fetch: impl Future<Output = Result<Page>> + Send + 'static) -> Result<Self> {
        tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config(
                "a participant stream must be polled inside a Tokio runtime (reqwest needs one)"
                    .into(),
            )
        })?;
        Ok(InFlight {
            fetch: Box::pin(fetch.instrument(tracing::Span::current())),
            done: None,
        })
    }

    /// Moves the request on without waiting; keeps the answer if it arrived.
    fn advance(&mut self, cx: &mut Context<'_>) {
        if self.done.is_none() {
            if let Poll::Ready(result) = self.fetch.as_mut().poll(cx) {
                self.done = Some(result);
            }
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<Page>> {
        self.advance(cx);
        match self.done.take() {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

/// An auto-paginating stream of participants; see [`ListParticipants::stream`].
///
/// While the caller consumes one page, the next one (if the limit needs it) is already
/// being fetched, driven by the caller's own polls: at most one request is in flight and at
/// most two pages are in memory.
#[must_use = "streams do nothing unless polled"]
pub struct ParticipantStream {
    items: std::vec::IntoIter<Participant>,
    pending: Option<InFlight>,
    state: StreamState,
    pages: u64,
}

enum StreamState {
    /// Between pages: the walk knows what to ask next.
    Walking(Walk),
    /// The request was invalid; the error is the stream's one item.
    Invalid(Error),
    /// A page is in flight (the walk travels with it), or the stream has ended.
    Idle,
}

impl ParticipantStream {
    /// How many pages have been received so far (for progress displays).
    pub fn pages_fetched(&self) -> u64 {
        self.pages
    }

    /// Starts fetching the next page if there is one; an end or an error is left in the
    /// state, to be reported once the buffered participants are consumed.
    fn start_next(&mut self) {
        let StreamState::Walking(walk) = &mut self.state else {
            return;
        };
        let Some(query) = walk.next.take_query() else {
            return;
        };
        if let StreamState::Walking(walk) = std::mem::replace(&mut self.state, StreamState::Idle) {
            match InFlight::start(walk.fetch(query)) {
                Ok(in_flight) => self.pending = Some(in_flight),
                Err(error) => self.state = StreamState::Invalid(error),
            }
        }
    }
}

impl std::fmt::Debug for ParticipantStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParticipantStream")
            .field("buffered", &self.items.len())
            .field("fetching", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

impl Stream for ParticipantStream {
    type Item = Result<Participant>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(participant) = this.items.next() {
                if let Some(pending) = this.pending.as_mut() {
                    pending.advance(cx);
                }
                return Poll::Ready(Some(Ok(participant)));
            }
            if let Some(pending) = this.pending.as_mut() {
                let result = std::task::ready!(pending.poll(cx));
                this.pending = None;
                let page = match result {
                    Ok(page) => page,
                    Err(error) => return Poll::Ready(Some(Err(error))),
                };
                this.pages += 1;
                this.items = page.participants.into_iter();
                this.state = StreamState::Walking(page.walk);
                this.start_next();
                continue;
            }
            this.start_next();
            if this.pending.is_some() {
                continue;
            }
            match std::mem::replace(&mut this.state, StreamState::Idle) {
                // start_next left no query: the walk is at its end or broken.
                StreamState::Walking(walk) => match walk.next.into_query() {
                    Ok(_) => return Poll::Ready(None),
                    Err(error) => return Poll::Ready(Some(Err(error))),
                },
                StreamState::Invalid(error) => return Poll::Ready(Some(Err(error))),
                StreamState::Idle => return Poll::Ready(None),
            }
        }
    }
}
