//! One participant operation over many conversations: at most N at once, results as they
//! complete, each tagged with its conversation, a failure per item (the rest go on unless
//! the caller asks otherwise), and a progress hook.
//!
//! Requests also pass the client's own protections (its cap on requests in flight, the pause
//! after a 429, the retry budget; see [`crate::ClientBuilder::max_concurrent_requests`]), so
//! a fleet asked for more than Twilio takes slows down instead of failing.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures_core::Stream;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::{
    client::Client,
    error::{Error, Result},
    models::ParticipantConversation,
    participant_conversations::ParticipantRef,
    participants::ParticipantsHandler,
    path::ConversationId,
    remove_everywhere::RemoveEverywhere,
    sid::{ConversationSid, ServiceSid},
};

/// The default number of conversations worked on at once.
pub const DEFAULT_FLEET_CONCURRENCY: usize = 8;

/// Something that names the conversation a fleet item is for: a conversation SID or unique
/// name, a listing of where a participant is, or a pair of a conversation and your data.
pub trait InConversation {
    /// The conversation, or `None` when the item names none (it then fails with
    /// [`Error::InvalidInput`], and nothing is sent for it).
    fn conversation(&self) -> Option<ConversationId>;
}

impl InConversation for ConversationId {
    fn conversation(&self) -> Option<ConversationId> {
        Some(self.clone())
    }
}

impl InConversation for ConversationSid {
    fn conversation(&self) -> Option<ConversationId> {
        Some(self.into())
    }
}

impl InConversation for String {
    fn conversation(&self) -> Option<ConversationId> {
        Some(self.into())
    }
}

impl InConversation for &str {
    fn conversation(&self) -> Option<ConversationId> {
        Some((*self).into())
    }
}

impl InConversation for ParticipantConversation {
    /// The conversation's SID, or its unique name when the SID is missing.
    fn conversation(&self) -> Option<ConversationId> {
        match (&self.conversation_sid, &self.conversation_unique_name) {
            (Some(sid), _) => Some(sid.into()),
            (None, Some(name)) => Some(name.into()),
            (None, None) => None,
        }
    }
}

impl<C: InConversation, T> InConversation for (C, T) {
    fn conversation(&self) -> Option<ConversationId> {
        self.0.conversation()
    }
}

/// Runs one operation over many conversations of a Conversation Service; made by
/// [`Client::fleet`].
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
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use twilio_conversations::prelude::*;
///
/// let finished = Arc::new(AtomicUsize::new(0));
/// let counter = finished.clone();
/// let results: Vec<_> = client
///     .fleet(&service)
///     .concurrency(2)
///     .stop_on_error(true)
///     .on_progress(move |progress| counter.store(progress.done, Ordering::Relaxed))
///     .run(["support-1", "support-2", "no-such-room"], |participants, _| async move {
///         participants.list().await
///     })
///     .collect()
///     .await;
/// assert_eq!(results.len(), 3);
/// assert_eq!(results.iter().filter(|done| done.result.is_err()).count(), 1); // 404
/// assert_eq!(finished.load(Ordering::Relaxed), 3);
/// # Ok(()) }
/// # #[cfg(not(feature = "testing"))] fn main() {}
/// ```
#[derive(Clone)]
#[must_use = "a fleet does nothing until it runs"]
pub struct Fleet {
    client: Client,
    service: ServiceSid,
    concurrency: usize,
    stop_on_error: bool,
    progress: Option<ProgressHook>,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("service", &self.service)
            .field("concurrency", &self.concurrency)
            .field("stop_on_error", &self.stop_on_error)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    pub(crate) fn new(client: Client, service: ServiceSid) -> Self {
        Self {
            client,
            service,
            concurrency: DEFAULT_FLEET_CONCURRENCY,
            stop_on_error: false,
            progress: None,
        }
    }

    /// How many conversations are worked on at once (default 8; at least 1). The client's
    /// own cap on requests in flight still applies.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Stops starting new items after the first failure (items already started finish
    /// and are reported). By default every item runs.
    pub fn stop_on_error(mut self, stop: bool) -> Self {
        self.stop_on_error = stop;
        self
    }

    /// Called after each item completes, with the counts so far.
    pub fn on_progress(mut self, hook: impl Fn(&FleetProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(hook));
        self
    }

    /// Removes a participant from every conversation of the service it is in: lists them
    /// (by identity or address), then deletes each by the participant SID the listing gives;
    /// see [`RemoveEverywhere`] (its webhook flag, and [`RemoveEverywhere::plan`] for a dry
    /// run).
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
    /// use twilio_conversations::{prelude::*, Deletion, ParticipantRef};
    ///
    /// // A dry run: where the participant is; nothing is deleted.
    /// let plan = client
    ///     .fleet(&service)
    ///     .remove_everywhere(ParticipantRef::identity("agent-7"))
    ///     .plan()
    ///     .await?;
    /// assert_eq!(plan.entries().len(), 2);
    ///
    /// let mut removals = client
    ///     .fleet(&service)
    ///     .remove_everywhere(ParticipantRef::identity("agent-7"))
    ///     .webhook_enabled(false)
    ///     .await?;
    /// let mut removed = Vec::new();
    /// while let Some(done) = removals.next().await {
    ///     assert_eq!(done.result?, Deletion::Deleted);
    ///     removed.push(done.conversation.to_string());
    /// }
    /// assert_eq!(removed.len(), 2);
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn remove_everywhere(self, who: ParticipantRef) -> RemoveEverywhere {
        RemoveEverywhere::new(self, who)
    }

    /// The client this fleet sends with.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The service this fleet works in.
    pub(crate) fn service(&self) -> &ServiceSid {
        &self.service
    }

    /// Runs `operation` for each item, on the participants of the item's conversation; the
    /// results arrive as they complete.
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
    /// use twilio_conversations::{prelude::*, Creation};
    ///
    /// let rooms = ["support-1", "support-2", "support-3"];
    /// let mut results = client
    ///     .fleet(&service)
    ///     .concurrency(4)
    ///     .run(rooms, |participants, _room| async move {
    ///         participants.create().identity("supervisor-1").send_unless_present().await
    ///     });
    /// while let Some(done) = results.next().await {
    ///     assert!(matches!(done.result?, Creation::Created(_)));
    ///     println!("added to {}", done.conversation);
    /// }
    ///
    /// // Items can carry your own data: (conversation, data) pairs.
    /// let last_read = [("support-1", 4), ("support-2", 9)];
    /// let updated: Vec<_> = client
    ///     .fleet(&service)
    ///     .run(last_read, |participants, (_room, index)| async move {
    ///         let sid = participants.fetch("supervisor-1").await?.sid.expect("a SID");
    ///         participants.update(&sid).last_read_message_index(index).await
    ///     })
    ///     .collect()
    ///     .await;
    /// assert!(updated.iter().all(|done| done.result.is_ok()));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn run<I, T, R, F, Fut>(self, items: I, operation: F) -> FleetRun<R>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
        T: InConversation + Send + 'static,
        R: Send + 'static,
        F: Fn(ParticipantsHandler, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R>> + Send + 'static,
    {
        let items = items.into_iter();
        let total = match items.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        };
        let (client, service) = (self.client.clone(), self.service.clone());
        let start = Arc::new(move |index: usize, item: T| -> ItemFuture<R> {
            let conversation = item.conversation();
            let handler = conversation
                .clone()
                .map(|conversation| client.participants(&service, conversation));
            let running = handler.map(|handler| operation(handler, item));
            Box::pin(async move {
                let result = match running {
                    Some(running) => running.await,
                    None => Err(Error::InvalidInput {
                        parameter: "ConversationSid",
                        reason: "the item names no conversation".into(),
                    }),
                };
                FleetItem {
                    index,
                    conversation: conversation.unwrap_or_else(|| ConversationId::from("")),
                    result,
                }
            })
        });
        FleetRun {
            pending: Box::new(items.enumerate().map(move |(index, item)| {
                let start = start.clone();
                Box::new(move || start(index, item)) as Starter<R>
            })),
            running: FuturesUnordered::new(),
            concurrency: self.concurrency,
            stop_on_error: self.stop_on_error,
            stopped: false,
            progress: self.progress,
            counts: FleetProgress {
                total,
                skipped: Some(0),
                ..FleetProgress::default()
            },
        }
    }
}

/// The caller's progress callback.
type ProgressHook = Arc<dyn Fn(&FleetProgress) + Send + Sync>;

/// Starts one item's operation.
type Starter<R> = Box<dyn FnOnce() -> ItemFuture<R> + Send>;

type ItemFuture<R> = Pin<Box<dyn Future<Output = FleetItem<R>> + Send>>;

/// One item's result in a [`FleetRun`].
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetItem<R> {
    /// The item's position in the input, from 0.
    pub index: usize,
    /// The conversation it was for.
    pub conversation: ConversationId,
    /// What the operation returned for it.
    pub result: Result<R>,
}

/// Counts of a fleet run so far, given to [`Fleet::on_progress`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetProgress {
    /// How many items there are, when the input knows.
    pub total: Option<usize>,
    /// Items completed.
    pub done: usize,
    /// Of those, how many failed.
    pub failed: usize,
    /// Items running now.
    pub in_flight: usize,
    /// Items never started because the run stopped at a failure, when the input knows how
    /// many are left (`Some(0)` while nothing was skipped).
    pub skipped: Option<usize>,
}

/// The results of a [`Fleet`] run as they complete; a `Stream` of [`FleetItem`]s.
#[must_use = "streams do nothing unless polled"]
pub struct FleetRun<R> {
    /// The items not started yet: the operation is called for an item only when it starts.
    pending: Box<dyn Iterator<Item = Starter<R>> + Send>,
    running: FuturesUnordered<ItemFuture<R>>,
    concurrency: usize,
    stop_on_error: bool,
    stopped: bool,
    progress: Option<ProgressHook>,
    counts: FleetProgress,
}

impl<R> FleetRun<R> {
    /// The counts so far.
    pub fn progress(&self) -> &FleetProgress {
        &self.counts
    }
}

impl<R> fmt::Debug for FleetRun<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetRun")
            .field("progress", &self.counts)
            .finish_non_exhaustive()
    }
}

impl<R> Stream for FleetRun<R> {
    type Item = FleetItem<R>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        while !this.stopped && this.running.len() < this.concurrency {
            match this.pending.next() {
                Some(start) => this.running.push(start()),
                None => break,
            }
        }
        this.counts.in_flight = this.running.len();
        match this.running.poll_next_unpin(cx) {
            Poll::Ready(Some(item)) => {
                this.counts.done += 1;
                this.counts.in_flight = this.running.len();
                if item.result.is_err() {
                    this.counts.failed += 1;
                    if this.stop_on_error && !this.stopped {
                        this.stopped = true;
                        // Known only when the input knows its length; nothing else is asked
                        // of it (it may be endless).
                        this.counts.skipped = match this.pending.size_hint() {
                            (low, Some(high)) if low == high => Some(low),
                            _ => None,
                        };
                    }
                }
                if let Some(hook) = &this.progress {
                    hook(&this.counts);
                }
                Poll::Ready(Some(item))
            }
            // Nothing running and nothing left to start.
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<R> Unpin for FleetRun<R> {}
