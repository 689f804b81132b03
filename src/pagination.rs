//! Walking Twilio's pages: single pages and an auto-paginating stream, for any of the
//! resource's lists (a conversation's participants, a participant's conversations).
//!
//! Follow-up pages are requested from the client's configured base URL with the `PageToken`,
//! `Page` and `PageSize` read from `meta.next_page_url`; the host named in that URL is never
//! contacted, so credentials never leave for a host the user did not configure.
//!
//! A walk judges progress by page, never by item, so its memory grows with the pages
//! received (two 64-bit hashes a page at most), never with the items: inside a page the
//! items are passed as the server sent them, repeats included (Twilio's own example page
//! lists one placeholder SID twice). It stops with [`Error::Pagination`] before following a
//! link that names a page token already followed or a `Page` number not beyond the last
//! page received (a link back to page 0 included), before yielding anything of a page whose
//! content (its items' SIDs, in order) repeats an earlier page, or when more than
//! [`MAX_EMPTY_PAGES`] empty pages in a row still name a next page.
//!
//! The stream needs a Tokio runtime, as reqwest does. Each page's request runs as a task
//! of its own, inside the caller's tracing span, started as soon as the page before it
//! arrives: its round trip overlaps the caller's work, and its answer is read (and retried
//! as the client's policy allows) whether or not the caller is polling the stream. It takes
//! a place under the client's cap ([`crate::ClientBuilder::max_concurrent_requests`]) only
//! while it is on the wire and its answer is read, like every request, so a caller that
//! sends requests of the same client between items never waits for the stream.

use std::{
    collections::{hash_map::DefaultHasher, HashMap},
    future::Future,
    hash::{Hash, Hasher},
    num::NonZeroU64,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures_core::Stream;
use futures_util::TryStreamExt;
use tracing::Instrument;

use crate::{
    error::{Error, Result},
    models::PageMeta,
};

/// How many empty pages in a row that still name a next page a walk follows.
pub const MAX_EMPTY_PAGES: u32 = 3;

/// The query of one page request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PageQuery {
    pub(crate) page: Option<u64>,
    pub(crate) page_size: Option<NonZeroU64>,
    pub(crate) page_token: Option<String>,
}

/// One page as a list returns it: its items, its meta, and a fingerprint of its content, to
/// notice a page served again.
pub(crate) struct Fetched<T> {
    pub(crate) items: Vec<T>,
    pub(crate) meta: PageMeta,
    /// A hash of the items' keys in order; `None` for a page with no keyed item (an empty
    /// page, or items without a SID), which is never taken for a repeat.
    pub(crate) fingerprint: Option<u64>,
}

impl<T> Fetched<T> {
    /// A page of `items`, each known by `key` (its SID; an item without one still counts
    /// by its place on the page).
    pub(crate) fn new<K: Hash>(
        items: Vec<T>,
        meta: PageMeta,
        key: impl Fn(&T) -> Option<K>,
    ) -> Self {
        let mut hasher = DefaultHasher::new();
        let mut keyed = false;
        for item in &items {
            let item_key = key(item);
            keyed |= item_key.is_some();
            item_key.hash(&mut hasher);
        }
        Self {
            items,
            meta,
            fingerprint: keyed.then(|| hasher.finish()),
        }
    }
}

type PageFuture<T> = Pin<Box<dyn Future<Output = Result<Fetched<T>>> + Send>>;

/// Requests one page of a list (with the client's retry policy); made by the list's
/// request type.
pub(crate) type FetchPage<T> = Arc<dyn Fn(PageQuery) -> PageFuture<T> + Send + Sync>;

/// How a walk starts: the list's page limit, the caller's page size and limit.
pub(crate) struct WalkSettings {
    /// The list's largest page, asked for when the caller sets none.
    pub(crate) max_page_size: u32,
    pub(crate) page_size: Option<u32>,
    pub(crate) limit: Option<u64>,
}

/// One page of a list with Twilio's paging metadata.
#[non_exhaustive]
pub struct Page<T> {
    /// The items on this page, in the API's order.
    pub items: Vec<T>,
    /// Twilio's paging metadata for this page.
    pub meta: PageMeta,
    walk: Walk<T>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Page<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("items", &self.items)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Page<T> {
    /// Fetches the page after this one, or `None` on the last page (or once the request's
    /// limit is reached). Takes the page by value: the walk's state moves on with it.
    ///
    /// # Errors
    /// [`Error::Pagination`] when `next_page_url` cannot be followed or the next page would
    /// not make progress (its content repeats an earlier page); otherwise the request's
    /// error.
    pub async fn next_page(self) -> Result<Option<Page<T>>> {
        let mut walk = self.walk;
        match walk.next_query()? {
            Some(query) => walk.fetch(query).await.map(Some),
            None => Ok(None),
        }
    }
}

/// The first page of a walk; `None`, with nothing sent, when the limit is 0.
pub(crate) async fn first_page<T: Send + 'static>(
    fetch: FetchPage<T>,
    settings: WalkSettings,
) -> Result<Option<Page<T>>> {
    let mut walk = Walk::new(fetch, settings)?;
    match walk.next_query()? {
        Some(query) => walk.fetch(query).await.map(Some),
        None => Ok(None),
    }
}

/// A stream over every item of a walk, or one that yields `error` first.
pub(crate) fn stream_of<T: Send + 'static>(
    fetch: FetchPage<T>,
    settings: Result<WalkSettings>,
) -> PageStream<T> {
    let (walk, error) = match settings.and_then(|settings| Walk::new(fetch, settings)) {
        Ok(walk) => (Some(walk), None),
        Err(error) => (None, Some(error)),
    };
    PageStream {
        items: Vec::new().into_iter(),
        pending: None,
        walk,
        error,
        pages: 0,
    }
}

/// Collects a stream into memory.
pub(crate) async fn collect<T: Send + 'static>(stream: PageStream<T>) -> Result<Vec<T>> {
    stream.try_collect().await
}

/// Where a walk through the pages stands: what to ask next, and what it has seen of the
/// pages (never of the items).
struct Walk<T> {
    fetch: FetchPage<T>,
    max_page_size: u32,
    page_size: Option<u64>,
    remaining: Option<u64>,
    /// How many pages the walk has received.
    pages: u64,
    /// Every page token followed, hashed, with the walk's page (1-based) it brought.
    tokens: HashMap<u64, u64>,
    /// Every non-empty page's content fingerprint, with the walk's page (1-based) it was.
    fingerprints: HashMap<u64, u64>,
    /// The `Page` number of the last page received.
    last_page: Option<u64>,
    /// Empty pages in a row that named a next page.
    empty_in_a_row: u32,
    next: Next,
}

/// What follows the current page.
#[derive(Clone, Debug)]
enum Next {
    /// This request is next.
    Query(PageQuery),
    /// Nothing: the last page, or the limit is reached.
    End,
    /// The walk cannot go on; why, for [`Error::Pagination`].
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

impl<T: Send + 'static> Walk<T> {
    fn new(fetch: FetchPage<T>, settings: WalkSettings) -> Result<Self> {
        let max = settings.max_page_size;
        let page_size = match settings.page_size {
            Some(size) if (1..=max).contains(&size) => Some(u64::from(size)),
            Some(size) => {
                return Err(Error::InvalidInput {
                    parameter: "PageSize",
                    reason: format!("{size} is not between 1 and {max}"),
                })
            }
            None => None,
        };
        let mut walk = Walk {
            fetch,
            max_page_size: max,
            page_size,
            remaining: settings.limit,
            pages: 0,
            tokens: HashMap::new(),
            fingerprints: HashMap::new(),
            last_page: None,
            empty_in_a_row: 0,
            next: Next::End,
        };
        if walk.remaining != Some(0) {
            walk.next = Next::Query(PageQuery {
                page_size: walk.sized(None),
                ..PageQuery::default()
            });
        }
        Ok(walk)
    }

    /// The `PageSize` to ask for: the caller's, else the size the server's link offers
    /// when it is within the list's range, else the list's largest; capped by what the
    /// limit still needs.
    fn sized(&self, offered: Option<u64>) -> Option<NonZeroU64> {
        let max = u64::from(self.max_page_size);
        let size = self
            .page_size
            .or(offered.filter(|size| (1..=max).contains(size)))
            .unwrap_or(max);
        NonZeroU64::new(self.remaining.map_or(size, |remaining| size.min(remaining)))
    }

    /// Takes the next request, `None` at the end, or the reason the walk cannot go on.
    fn next_query(&mut self) -> Result<Option<PageQuery>> {
        std::mem::replace(&mut self.next, Next::End).into_query()
    }

    /// Fetches `query`'s page (with the full retry policy) and moves the walk past it.
    async fn fetch(mut self, query: PageQuery) -> Result<Page<T>> {
        let page = (self.fetch)(query.clone()).await?;
        let (items, meta) = self.move_past(&query, page)?;
        Ok(Page {
            items,
            meta,
            walk: self,
        })
    }

    /// How many page tokens and page fingerprints the walk remembers: at most two a page.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.tokens.len() + self.fingerprints.len()
    }

    /// Moves the walk past `query`'s `page`: its items (up to the limit) and meta, or
    /// [`Error::Pagination`] (and nothing of it) when its content repeats an earlier page.
    fn move_past(&mut self, query: &PageQuery, page: Fetched<T>) -> Result<(Vec<T>, PageMeta)> {
        let Fetched {
            mut items,
            meta,
            fingerprint,
        } = page;
        self.pages += 1;
        let this_page = self.pages;
        if let Some(token) = &query.page_token {
            self.tokens.insert(hash(token), this_page);
        }
        if let Some(fingerprint) = fingerprint {
            if let Some(earlier) = self.fingerprints.insert(fingerprint, this_page) {
                self.next = Next::End;
                return Err(Error::Pagination(format!(
                    "page {this_page} repeats page {earlier} (the same items in the same \
                     order); stopping instead of repeating them"
                )));
            }
        }
        self.last_page = Some(meta.page.max(query.page.unwrap_or(0)));
        if let Some(remaining) = self.remaining.as_mut() {
            items.truncate(usize::try_from(*remaining).unwrap_or(usize::MAX));
            *remaining -= items.len() as u64;
        }
        self.empty_in_a_row = if items.is_empty() {
            self.empty_in_a_row + 1
        } else {
            0
        };
        self.next = match (&meta.next_page_url, self.remaining) {
            (_, Some(0)) | (None, _) => Next::End,
            (Some(_), _) if self.empty_in_a_row > MAX_EMPTY_PAGES => Next::Broken(format!(
                "{} empty pages in a row still name a next page; stopping",
                self.empty_in_a_row
            )),
            (Some(url), _) => self.follow(url).map_or_else(Next::Broken, Next::Query),
        };
        Ok((items, meta))
    }

    /// Reads `PageToken`, `Page` and `PageSize` from a `next_page_url`, or says why it
    /// cannot be followed.
    fn follow(&self, next_page_url: &str) -> Result<PageQuery, String> {
        let this_page = self.pages;
        let url = url::Url::parse(next_page_url).map_err(|e| {
            format!("page {this_page}'s next_page_url {next_page_url:?} is not a URL: {e}")
        })?;
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
                "page {this_page}'s next_page_url {next_page_url:?} has neither PageToken \
                 nor Page"
            ));
        }
        if let Some(earlier) = query
            .page_token
            .as_ref()
            .and_then(|token| self.tokens.get(&hash(token)))
        {
            return Err(format!(
                "page {this_page} links to the PageToken that brought page {earlier}; \
                 stopping instead of repeating it"
            ));
        }
        if let (Some(page), Some(last)) = (query.page, self.last_page) {
            if page <= last {
                return Err(format!(
                    "page {this_page} links to Page={page}, not beyond Page={last} already \
                     received; stopping instead of repeating it"
                ));
            }
        }
        query.page_size = self.sized(offered);
        Ok(query)
    }
}

fn hash(value: &(impl Hash + ?Sized)) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// A page request running as a task of its own, under the client's cap and retry policy
/// like any request: it moves on and its answer is read whether or not the caller polls
/// the stream. Dropping it aborts the request.
struct Fetching<T> {
    query: PageQuery,
    task: tokio::task::JoinHandle<Result<Fetched<T>>>,
}

impl<T: Send + 'static> Fetching<T> {
    /// Spawns `query`'s request inside the caller's current span, or says that Tokio is
    /// needed.
    fn start(walk: &Walk<T>, query: PageQuery) -> Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config(
                "a participant stream must be polled inside a Tokio runtime (reqwest needs one)"
                    .into(),
            )
        })?;
        let fetch = (walk.fetch)(query.clone()).instrument(tracing::Span::current());
        Ok(Fetching {
            query,
            task: runtime.spawn(fetch),
        })
    }

    /// The page, once its request is over.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<Fetched<T>>> {
        Pin::new(&mut self.task)
            .poll(cx)
            .map(|joined| match joined {
                Ok(page) => page,
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                Err(_) => Err(Error::Config(
                    "the page request was cancelled: the Tokio runtime is shutting down".into(),
                )),
            })
    }
}

impl<T> Drop for Fetching<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An auto-paginating stream of a list's items (participants, or a participant's
/// conversations).
///
/// While the caller consumes one page, the next one (if the limit needs it) is already
/// being fetched by a task of its own: at most one request is in flight and at most two
/// pages are in memory. Dropping the stream aborts that request.
#[must_use = "streams do nothing unless polled"]
pub struct PageStream<T> {
    items: std::vec::IntoIter<T>,
    pending: Option<Fetching<T>>,
    /// Where the walk stands; `None` once the stream has ended.
    walk: Option<Walk<T>>,
    /// An error to report once the buffered items are consumed; then the end.
    error: Option<Error>,
    pages: u64,
}

impl<T: Send + 'static> PageStream<T> {
    /// How many pages have been received so far (for progress displays).
    pub fn pages_fetched(&self) -> u64 {
        self.pages
    }

    /// Starts fetching the next page if there is one; an end or a broken link stays in the
    /// walk, to be reported once the buffered items are consumed.
    fn start_next(&mut self) {
        let Some(walk) = self.walk.as_mut() else {
            return;
        };
        let Some(query) = walk.next.take_query() else {
            return;
        };
        match Fetching::start(walk, query) {
            Ok(in_flight) => self.pending = Some(in_flight),
            Err(error) => self.error = Some(error),
        }
    }
}

impl<T> std::fmt::Debug for PageStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStream")
            .field("buffered", &self.items.len())
            .field("fetching", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Stream for PageStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.items.next() {
                return Poll::Ready(Some(Ok(item)));
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
                        match walk.move_past(&done.query, page) {
                            Ok((items, _)) => {
                                this.pages += 1;
                                this.items = items.into_iter();
                                // Fetched ahead while the caller works on this page.
                                this.start_next();
                            }
                            Err(error) => this.error = Some(error),
                        }
                    }
                    Err(error) => {
                        this.walk = None;
                        return Poll::Ready(Some(Err(error)));
                    }
                }
                continue;
            }
            // The first page: the caller is waiting for it.
            this.start_next();
            if this.pending.is_some() || this.error.is_some() {
                continue;
            }
            // No request to make: the walk is at its end or cannot go on.
            return match this.walk.take().map(|walk| walk.next.into_query()) {
                Some(Err(error)) => Poll::Ready(Some(Err(error))),
                _ => Poll::Ready(None),
            };
        }
    }
}

// Nothing in a `PageStream` is pinned in place (its request is a task), so it can be moved
// while polled whatever the item type.
impl<T> Unpin for PageStream<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(page: u64, next: Option<String>) -> PageMeta {
        PageMeta {
            first_page_url: String::new(),
            key: "participants".into(),
            next_page_url: next,
            page,
            page_size: 100,
            previous_page_url: None,
            url: String::new(),
        }
    }

    /// A walk with no limit and no page size whose pages the test hands over itself (it
    /// never makes a request).
    fn unfetched_walk() -> Walk<u64> {
        let fetch: FetchPage<u64> = Arc::new(|_| unreachable!("no request in this test"));
        let settings = WalkSettings {
            max_page_size: 100,
            page_size: None,
            limit: None,
        };
        Walk::new(fetch, settings).unwrap()
    }

    /// Walks `pages` pages of `per_page` distinct items each (no request is made: the pages
    /// are handed to the walk) and returns how many hashes it remembers at the end.
    fn remembered_after(pages: u64, per_page: u64) -> usize {
        let mut walk = unfetched_walk();
        for page in 0..pages {
            let query = walk.next_query().unwrap().expect("a next page");
            let next = (page + 1 < pages).then(|| {
                format!(
                    "https://x.test/P?Page={}&PageToken=PT{}",
                    page + 1,
                    page + 1
                )
            });
            let items: Vec<u64> = (page * per_page..(page + 1) * per_page).collect();
            let fetched = Fetched::new(items, meta(page, next), |item| Some(*item));
            let (items, _) = walk.move_past(&query, fetched).unwrap();
            assert_eq!(items.len() as u64, per_page);
            assert!(walk.remembered() as u64 <= 2 * (page + 1));
        }
        assert!(walk.next_query().unwrap().is_none());
        walk.remembered()
    }

    #[test]
    fn the_walks_memory_grows_with_pages_never_with_items() {
        let few = remembered_after(200, 1);
        let many = remembered_after(200, 1_000);
        assert_eq!(few, many);
        assert_eq!(many, 2 * 200 - 1, "a token for every page but the first");
    }

    proptest::proptest! {
        /// Any sequence of pages (items drawn from a few, so pages repeat; links with any
        /// page number and token, or none): after each page the walk remembers at most two
        /// hashes a page, whatever the items, and it ends.
        #[test]
        fn any_page_sequence_is_remembered_by_page_and_ends(
            pages in proptest::collection::vec(
                (
                    proptest::collection::vec(0u64..6, 0..300),
                    proptest::option::of((0u64..8, 0u64..8)),
                ),
                1..40,
            ),
        ) {
            let mut walk = unfetched_walk();
            let mut received = 0u64;
            let mut answers = pages.iter().cycle();
            while let Ok(Some(query)) = walk.next_query() {
                let (items, link) = answers.next().unwrap();
                let next = link.map(|(page, token)| {
                    format!("https://x.test/P?Page={page}&PageToken=PT{token}")
                });
                let fetched = Fetched::new(items.clone(), meta(received, next), |item| Some(*item));
                received += 1;
                let moved = walk.move_past(&query, fetched);
                proptest::prop_assert!(walk.remembered() as u64 <= 2 * received);
                if moved.is_err() {
                    break;
                }
                // Each link followed names a Page (0 to 7) beyond the last page received.
                proptest::prop_assert!(received <= 9);
            }
        }
    }

    #[test]
    fn a_page_may_repeat_an_item_of_its_own() {
        let mut walk = unfetched_walk();
        let query = walk.next_query().unwrap().unwrap();
        let fetched = Fetched::new(vec![7, 7], meta(0, None), |item| Some(*item));
        let (items, _) = walk.move_past(&query, fetched).unwrap();
        assert_eq!(items, [7, 7]);
    }
}
