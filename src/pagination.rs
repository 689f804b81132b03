//! Walking Twilio's pages: a request builder, single pages, and an auto-paginating stream.
//!
//! Follow-up pages are requested from the client's configured base URL with the `PageToken`,
//! `Page` and `PageSize` read from `meta.next_page_url`; the host named in that URL is never
//! contacted, so credentials never leave for a host the user did not configure.

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

use crate::{
    client::{Client, PageQuery},
    error::{Error, Result},
    models::{PageMeta, Participant},
    sid::ServiceSid,
};

/// Twilio's largest page.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A request for a conversation's participants; run it with [`stream`](Self::stream),
/// [`list`](Self::list) or [`first_page`](Self::first_page).
#[derive(Clone, Debug)]
#[must_use = "a participants request does nothing until it is run"]
pub struct ParticipantsRequest {
    client: Client,
    service: ServiceSid,
    conversation: String,
    page_size: Option<u32>,
    limit: Option<u64>,
}

impl ParticipantsRequest {
    pub(crate) fn new(client: Client, service: ServiceSid, conversation: String) -> Self {
        Self {
            client,
            service,
            conversation,
            page_size: None,
            limit: None,
        }
    }

    /// Participants per request, 1 to 100 (checked when the request runs). Without it
    /// Twilio's default of 50 applies, or the limit when that is smaller.
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
    /// The stream owns a clone of the client (it is `'static + Send`). Its first item is an
    /// error, with no request sent, when the page size or the conversation is invalid; it
    /// ends after the first error.
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

    /// Fetches the first page only, with its paging metadata.
    ///
    /// # Errors
    /// Invalid input before any request, or the request's error.
    pub async fn first_page(self) -> Result<Page> {
        let walk = self.walk()?;
        let query = walk.next.clone().into_query()?.unwrap_or_default();
        walk.fetch(query).await
    }

    fn walk(self) -> Result<Walk> {
        if self.conversation.is_empty() {
            return Err(Error::InvalidInput {
                parameter: "ConversationSid",
                reason: "the conversation SID or unique name is empty".into(),
            });
        }
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
            seen_tokens: HashSet::new(),
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
    /// [`Error::Pagination`] when `next_page_url` cannot be followed or repeats a page token
    /// seen before; otherwise the request's error.
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
    conversation: String,
    page_size: Option<u64>,
    remaining: Option<u64>,
    seen_tokens: HashSet<u64>,
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
    /// The `PageSize` to ask for: the configured or offered size, capped by what the limit
    /// still needs (and by 100). `None` leaves Twilio's default.
    fn sized(&self, offered: Option<u64>) -> Option<NonZeroU64> {
        let size = match (offered.or(self.page_size), self.remaining) {
            (Some(size), Some(remaining)) => size.min(remaining),
            (None, Some(remaining)) => remaining.min(u64::from(MAX_PAGE_SIZE)),
            (size, None) => size?,
        };
        NonZeroU64::new(size)
    }

    /// Fetches `query`'s page and moves the walk past it.
    async fn fetch(mut self, query: PageQuery) -> Result<Page> {
        let page = self
            .client
            .fetch_page(&self.service, &self.conversation, &query)
            .await?;
        let mut participants = page.participants;
        if let Some(remaining) = self.remaining.as_mut() {
            participants.truncate(usize::try_from(*remaining).unwrap_or(usize::MAX));
            *remaining -= participants.len() as u64;
        }
        if let Some(token) = &query.page_token {
            self.seen_tokens.insert(token_hash(token));
        }
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
        match &query.page_token {
            Some(token) if self.seen_tokens.contains(&token_hash(token)) => {
                return Err(format!(
                    "next_page_url repeats the page token {token:?}; stopping instead of looping"
                ))
            }
            None if query.page.is_none() => {
                return Err(format!(
                    "next_page_url {next_page_url:?} has neither PageToken nor Page"
                ))
            }
            _ => {}
        }
        query.page_size = self.sized(offered);
        Ok(query)
    }
}

/// Page tokens are remembered as hashes so a walk over millions of participants stays small.
fn token_hash(token: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    token.hash(&mut hasher);
    hasher.finish()
}

/// A page request under way. Inside a Tokio runtime it runs as its own task, so the next
/// page downloads and decodes while the caller works through the current one; elsewhere it
/// is polled in place. Dropping it cancels the request.
enum InFlight {
    Spawned(tokio::task::JoinHandle<Result<Page>>),
    Local(Pin<Box<dyn Future<Output = Result<Page>> + Send>>),
}

impl InFlight {
    fn start(fetch: impl Future<Output = Result<Page>> + Send + 'static) -> Self {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => InFlight::Spawned(runtime.spawn(fetch)),
            Err(_) => InFlight::Local(Box::pin(fetch)),
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<Page>> {
        match self {
            InFlight::Spawned(task) => Pin::new(task).poll(cx).map(|joined| {
                joined.unwrap_or_else(|e| {
                    Err(Error::Pagination(format!("the page request stopped: {e}")))
                })
            }),
            InFlight::Local(fetch) => fetch.as_mut().poll(cx),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let InFlight::Spawned(task) = self {
            task.abort();
        }
    }
}

/// An auto-paginating stream of participants; see [`ParticipantsRequest::stream`].
///
/// While the caller consumes one page, the next one (if the limit needs it) is already
/// being fetched: at most one request is in flight and at most two pages are in memory.
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
            self.pending = Some(InFlight::start(walk.fetch(query)));
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
