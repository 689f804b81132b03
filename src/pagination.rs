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
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll, Wake, Waker},
    time::{Duration, Instant},
};

use futures_core::Stream;
use futures_util::{task::AtomicWaker, TryStreamExt};
use tracing::Instrument;

use crate::{
    client::Client,
    error::{Error, Result, TimeoutKind},
    models::{PageMeta, Participant, ParticipantPage},
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
        let (walk, error) = match self.walk() {
            Ok(walk) => (Some(walk), None),
            Err(error) => (None, Some(error)),
        };
        ParticipantStream {
            items: Vec::new().into_iter(),
            pending: None,
            walk,
            error,
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
        let page = self.request(query.clone()).await?;
        let (participants, meta) = self.move_past(&query, page);
        Ok(Page {
            participants,
            meta,
            walk: self,
        })
    }

    /// The request for `query`'s page, owning what it needs (the walk stays with the
    /// caller, so the same request can be started again).
    fn request(
        &self,
        query: PageQuery,
    ) -> impl Future<Output = Result<ParticipantPage>> + Send + 'static {
        let (client, service, conversation) = (
            self.client.clone(),
            self.service.clone(),
            self.conversation.clone(),
        );
        async move {
            let (service, conversation, asked) = (&service, conversation.checked()?, &query);
            client
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
                .await
                .0
        }
    }

    /// Moves the walk past `query`'s `page`: its participants (up to the limit) and meta.
    fn move_past(
        &mut self,
        query: &PageQuery,
        page: ParticipantPage,
    ) -> (Vec<Participant>, PageMeta) {
        let mut participants = page.participants;
        if let Some(remaining) = self.remaining.as_mut() {
            participants.truncate(usize::try_from(*remaining).unwrap_or(usize::MAX));
            *remaining -= participants.len() as u64;
        }
        self.followed.insert(link_hash(query));
        self.next = match (&page.meta.next_page_url, self.remaining) {
            (_, Some(0)) | (None, _) => Next::End,
            (Some(url), _) => self.follow(url).map_or_else(Next::Broken, Next::Query),
        };
        (participants, page.meta)
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
///
/// A request that is not polled cannot read its answer, while its timeouts keep running: a
/// caller that spends longer on one page than a timeout could see that timeout fire although
/// the server answered. So the request notes the longest time the caller kept it waiting
/// between two participants, and a timeout after such a wait is not the server's fault: the
/// request is started again (a `GET`), now polled without pause, as the caller is waiting.
struct InFlight {
    query: PageQuery,
    fetch: Pin<Box<dyn Future<Output = Result<ParticipantPage>> + Send>>,
    /// Whether the request asked to be polled again; a participant handed over polls it
    /// only then (on a current-thread runtime it cannot progress during a page at all).
    woken: Arc<Woken>,
    /// The waker the request is polled with: it marks `woken`, then wakes the caller.
    waker: Waker,
    /// The answer, once it arrived while the caller still had participants to consume.
    done: Option<Result<ParticipantPage>>,
    /// When the stream last handed the caller a participant with this request unfinished.
    away_since: Option<Instant>,
    /// The longest the caller kept this request waiting between two participants.
    longest_away: Duration,
    restarts: u32,
}

/// The waker of a page request: notes that the request wants a poll, then wakes the
/// caller's task (registered at each poll).
struct Woken {
    flag: AtomicBool,
    caller: AtomicWaker,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.flag.store(true, Ordering::Release);
        self.caller.wake();
    }
}

/// How often one page's request is started again after its caller starved it.
const MAX_RESTARTS: u32 = 2;

impl InFlight {
    /// Starts `query`'s request inside the caller's current span, or says that Tokio is
    /// needed.
    fn start(walk: &Walk, query: PageQuery, restarts: u32) -> Result<Self> {
        tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config(
                "a participant stream must be polled inside a Tokio runtime (reqwest needs one)"
                    .into(),
            )
        })?;
        let fetch = walk
            .request(query.clone())
            .instrument(tracing::Span::current());
        let woken = Arc::new(Woken {
            // The first hand-over polls the request, which sends it.
            flag: AtomicBool::new(true),
            caller: AtomicWaker::new(),
        });
        Ok(InFlight {
            query,
            fetch: Box::pin(fetch),
            waker: Waker::from(Arc::clone(&woken)),
            woken,
            done: None,
            away_since: None,
            longest_away: Duration::ZERO,
            restarts,
        })
    }

    /// Moves the request on without waiting; keeps the answer if it arrived.
    fn advance(&mut self, cx: &mut Context<'_>) {
        if self.done.is_none() {
            if let Some(since) = self.away_since.take() {
                self.longest_away = self.longest_away.max(since.elapsed());
            }
            self.poll_fetch(cx);
        }
    }

    /// Moves the request on, if it was woken, as the stream hands the caller a participant,
    /// and notes from when the caller keeps it waiting (one clock reading per participant,
    /// and none once the answer is in).
    fn advance_and_hand_over(&mut self, cx: &mut Context<'_>) {
        if self.done.is_none() {
            let now = Instant::now();
            if let Some(since) = self.away_since {
                self.longest_away = self.longest_away.max(now - since);
            }
            if self.woken.flag.load(Ordering::Acquire) {
                self.poll_fetch(cx);
            }
            self.away_since = self.done.is_none().then_some(now);
        }
    }

    fn poll_fetch(&mut self, cx: &mut Context<'_>) {
        self.woken.caller.register(cx.waker());
        self.woken.flag.store(false, Ordering::Release);
        let mut inner = Context::from_waker(&self.waker);
        if let Poll::Ready(result) = self.fetch.as_mut().poll(&mut inner) {
            self.done = Some(result);
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<ParticipantPage>> {
        self.advance(cx);
        match self.done.take() {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }

    /// True when `error` is a timeout that fired after the caller kept this request
    /// waiting, between two participants, for at least half of that timeout.
    fn starved(&self, error: &Error) -> bool {
        matches!(
            error,
            Error::Timeout { kind: TimeoutKind::Attempt | TimeoutKind::Call, limit, .. }
                if self.longest_away >= *limit / 2
        ) && self.restarts < MAX_RESTARTS
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
    /// Where the walk stands; `None` once the stream has ended.
    walk: Option<Walk>,
    /// An error to report once the buffered participants are consumed; then the end.
    error: Option<Error>,
    pages: u64,
}

impl ParticipantStream {
    /// How many pages have been received so far (for progress displays).
    pub fn pages_fetched(&self) -> u64 {
        self.pages
    }

    /// Starts fetching the next page if there is one; an end or a broken link stays in the
    /// walk, to be reported once the buffered participants are consumed.
    fn start_next(&mut self, restarts: u32, query: Option<PageQuery>) {
        let Some(walk) = self.walk.as_mut() else {
            return;
        };
        let Some(query) = query.or_else(|| walk.next.take_query()) else {
            return;
        };
        match InFlight::start(walk, query, restarts) {
            Ok(in_flight) => self.pending = Some(in_flight),
            Err(error) => self.error = Some(error),
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
                    pending.advance_and_hand_over(cx);
                }
                return Poll::Ready(Some(Ok(participant)));
            }
            if let Some(error) = this.error.take() {
                this.walk = None;
                return Poll::Ready(Some(Err(error)));
            }
            if let Some(mut done) = this.pending.take() {
                let Poll::Ready(result) = done.poll(cx) else {
                    this.pending = Some(done);
                    return Poll::Pending;
                };
                match result {
                    Ok(page) => {
                        let Some(walk) = this.walk.as_mut() else {
                            return Poll::Ready(None);
                        };
                        let (participants, _) = walk.move_past(&done.query, page);
                        this.pages += 1;
                        this.items = participants.into_iter();
                        this.start_next(0, None);
                    }
                    Err(error) if done.starved(&error) => {
                        this.start_next(done.restarts + 1, Some(done.query));
                    }
                    Err(error) => {
                        this.walk = None;
                        return Poll::Ready(Some(Err(error)));
                    }
                }
                continue;
            }
            this.start_next(0, None);
            if this.pending.is_some() || this.error.is_some() {
                continue;
            }
            // No request to make: the walk is at its end or its next link is broken.
            return match this.walk.take().map(|walk| walk.next.into_query()) {
                Some(Err(error)) => Poll::Ready(Some(Err(error))),
                _ => Poll::Ready(None),
            };
        }
    }
}
