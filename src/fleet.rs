//! One participant operation over many conversations: at most N at once, results as they
//! complete, each tagged with its conversation, a failure per item (the rest go on unless
//! the caller asks otherwise), a progress hook, and a graceful stop.
//!
//! The items run as Tokio tasks, driven by a task of the run's own: they move on, and each
//! answer is read and decided, whether or not the caller is polling the [`FleetRun`] (a
//! caller busy between items neither holds up the requests nor times them out). Finished
//! items wait in a queue as long as the concurrency; while it is full no new item starts.
//!
//! Requests also pass the client's own protections (its cap on requests in flight, the pause
//! after a 429, the retry budget; see [`crate::ClientBuilder::max_concurrent_requests`]), so
//! a fleet asked for more than Twilio takes slows down instead of failing. A request holds
//! its place under the cap only while it is on the wire, so a caller may send requests of
//! the same client between items at any cap.

use std::{
    fmt,
    future::Future,
    iter::{Enumerate, Fuse},
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Context, Poll},
};

use futures_core::Stream;
use tokio::{
    runtime::Handle,
    sync::mpsc,
    task::{JoinHandle, JoinSet},
};
use tracing::Instrument;

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

    /// Called after each item completes (when its outcome is decided, whether or not the
    /// stream has yielded it yet), with the counts so far; called one item at a time, from
    /// the task that ran the item.
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
    ///     removed.push(done.conversation);
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
    ///     println!("added to {:?}", done.conversation);
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
        let shared = Arc::new(Shared {
            counts: Mutex::new(Counts {
                progress: FleetProgress {
                    total,
                    not_started: Some(0),
                    ..FleetProgress::default()
                },
                started: 0,
                stopped: false,
            }),
            hook: self.progress,
            stop_on_error: self.stop_on_error,
        });
        let launch = Launch {
            items: items.fuse().enumerate(),
            operation,
            client: self.client,
            service: self.service,
            concurrency: self.concurrency,
            shared: shared.clone(),
            span: tracing::Span::current(),
        };
        FleetRun {
            launch: Some(Box::new(launch)),
            running: None,
            shared,
        }
    }
}

/// What a run needs before it starts: the input, the operation and where to run them.
struct Launch<It, F> {
    items: Enumerate<Fuse<It>>,
    operation: F,
    client: Client,
    service: ServiceSid,
    concurrency: usize,
    shared: Arc<Shared>,
    /// The caller's span when the run was made: the driver and every item run inside it.
    span: tracing::Span,
}

/// Starts a run, type-erased so that [`FleetRun`] names only the result type.
trait Launcher<R>: Send {
    /// Spawns the driver on `runtime`; the items come through the receiver.
    fn spawn(self: Box<Self>, runtime: &Handle) -> (mpsc::Receiver<FleetItem<R>>, JoinHandle<()>);

    /// Without a runtime: the first item, failed with [`Error::Config`], and the rest
    /// counted as not started.
    fn refuse(self: Box<Self>) -> Option<FleetItem<R>>;
}

impl<It, T, R, F, Fut> Launcher<R> for Launch<It, F>
where
    It: Iterator<Item = T> + Send + 'static,
    T: InConversation + Send + 'static,
    R: Send + 'static,
    F: Fn(ParticipantsHandler, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R>> + Send + 'static,
{
    fn spawn(self: Box<Self>, runtime: &Handle) -> (mpsc::Receiver<FleetItem<R>>, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(self.concurrency);
        let span = self.span.clone();
        (receiver, runtime.spawn(self.drive(sender).instrument(span)))
    }

    fn refuse(mut self: Box<Self>) -> Option<FleetItem<R>> {
        let (index, item) = self.items.next()?;
        self.shared.try_start();
        self.shared.stop();
        self.shared.finished(true);
        Some(FleetItem {
            index,
            conversation: item.conversation(),
            result: Err(Error::Config(
                "a fleet must be polled inside a Tokio runtime; nothing was sent".into(),
            )),
        })
    }
}

impl<It, T, R, F, Fut> Launch<It, F>
where
    It: Iterator<Item = T> + Send + 'static,
    T: InConversation + Send + 'static,
    R: Send + 'static,
    F: Fn(ParticipantsHandler, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R>> + Send + 'static,
{
    /// Keeps up to `concurrency` items running, and passes each result on as it finishes;
    /// ends when nothing runs and nothing more may start. While the queue is full nothing
    /// new starts, but the running items go on to their outcome.
    async fn drive(mut self, results: mpsc::Sender<FleetItem<R>>) {
        let mut running = JoinSet::new();
        loop {
            while running.len() < self.concurrency && !self.shared.stopped() {
                let Some((index, item)) = self.items.next() else {
                    self.shared.input_ended();
                    break;
                };
                if !self.shared.try_start() {
                    break;
                }
                running.spawn(self.start(index, item).instrument(self.span.clone()));
            }
            let Some(joined) = running.join_next().await else {
                return;
            };
            let item = match joined {
                Ok(item) => item,
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                // Aborted: only when the runtime shuts down.
                Err(_) => continue,
            };
            if results.send(item).await.is_err() {
                // Nobody reads the results any more.
                return;
            }
        }
    }

    /// One item's work: the operation is called now, and its outcome counted as it ends.
    fn start(&self, index: usize, item: T) -> impl Future<Output = FleetItem<R>> + Send + 'static {
        let conversation = item.conversation();
        let running = conversation.clone().map(|conversation| {
            (self.operation)(self.client.participants(&self.service, conversation), item)
        });
        let shared = self.shared.clone();
        async move {
            let result = match running {
                Some(running) => running.await,
                None => Err(Error::InvalidInput {
                    parameter: "ConversationSid",
                    reason: "the item names no conversation".into(),
                }),
            };
            shared.finished(result.is_err());
            FleetItem {
                index,
                conversation,
                result,
            }
        }
    }
}

/// The counts of a run, shared by its driver, its items and the [`FleetRun`].
struct Shared {
    counts: Mutex<Counts>,
    hook: Option<ProgressHook>,
    stop_on_error: bool,
}

struct Counts {
    progress: FleetProgress,
    /// Items started so far.
    started: usize,
    /// No new item starts.
    stopped: bool,
}

impl Counts {
    /// Starts no new item; what is left of the input is counted as not started.
    fn stop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            // Saturating: an input may claim an exact length it does not keep.
            self.progress.not_started = self
                .progress
                .total
                .map(|total| total.saturating_sub(self.started));
        }
    }
}

impl Shared {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopped(&self) -> bool {
        self.counts().stopped
    }

    fn stop(&self) {
        self.counts().stop();
    }

    /// Counts an item as running, unless the run is stopped.
    fn try_start(&self) -> bool {
        let mut counts = self.counts();
        if counts.stopped {
            return false;
        }
        counts.started += 1;
        counts.progress.in_flight += 1;
        true
    }

    /// The input has no more items: its length is now known.
    fn input_ended(&self) {
        let mut counts = self.counts();
        counts.progress.total = Some(counts.started);
    }

    /// Counts an item's end, stops the run at a failure if asked, and tells the hook.
    fn finished(&self, failed: bool) {
        let mut counts = self.counts();
        counts.progress.done += 1;
        counts.progress.in_flight -= 1;
        if failed {
            counts.progress.failed += 1;
            if self.stop_on_error {
                counts.stop();
            }
        }
        if let Some(hook) = &self.hook {
            hook(&counts.progress);
        }
    }
}

/// The caller's progress callback.
type ProgressHook = Arc<dyn Fn(&FleetProgress) + Send + Sync>;

/// One item's result in a [`FleetRun`].
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetItem<R> {
    /// The item's position in the input, from 0.
    pub index: usize,
    /// The conversation it was for; `None` when the item named none (its result is then
    /// [`Error::InvalidInput`], and nothing was sent).
    pub conversation: Option<ConversationId>,
    /// What the operation returned for it.
    pub result: Result<R>,
}

/// Counts of a fleet run so far, given to [`Fleet::on_progress`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetProgress {
    /// How many items there are, when the input knows.
    pub total: Option<usize>,
    /// Items completed: their outcome is decided, whether or not the stream has yielded
    /// them yet.
    pub done: usize,
    /// Of those, how many failed.
    pub failed: usize,
    /// Items running now.
    pub in_flight: usize,
    /// Items that will never start because the run was stopped ([`FleetRun::stop`], or
    /// [`Fleet::stop_on_error`] at a failure), when the input knows how many are left
    /// (`Some(0)` while the run is not stopped).
    pub not_started: Option<usize>,
}

/// The results of a [`Fleet`] run as they complete; a `Stream` of [`FleetItem`]s.
///
/// Stopping early: [`FleetRun::stop`] starts no new item; the stream still yields each item
/// already running, with its outcome, as it finishes, then ends, and
/// [`FleetProgress::not_started`] tells how many never started. This is the way to stop
/// without losing track of a write.
///
/// Dropping a `FleetRun` aborts its tasks at once: items waiting for their turn are never
/// sent, but a request already on the wire is abandoned mid-way, so a create, update or
/// delete may have happened (Twilio may have applied it) without anyone learning its
/// outcome. Stop, then read the stream to its end, to learn every outcome.
#[must_use = "streams do nothing unless polled"]
pub struct FleetRun<R> {
    /// The run before it is first polled; nothing has started.
    launch: Option<Box<dyn Launcher<R>>>,
    /// The running driver, until every result has been yielded.
    running: Option<Running<R>>,
    shared: Arc<Shared>,
}

/// A started run: the driver task, and the results it passes on.
struct Running<R> {
    results: mpsc::Receiver<FleetItem<R>>,
    driver: Driver,
}

/// The run's driver task, aborted when dropped (which aborts the items it runs).
struct Driver(JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<R> FleetRun<R> {
    /// The counts so far.
    pub fn progress(&self) -> FleetProgress {
        self.shared.counts().progress.clone()
    }

    /// Starts no new item: the stream yields the items already running as they finish,
    /// then ends. Stopping twice, or after the end, does nothing.
    pub fn stop(&self) {
        self.shared.stop();
    }
}

impl<R> fmt::Debug for FleetRun<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetRun")
            .field("progress", &self.progress())
            .finish_non_exhaustive()
    }
}

impl<R> Stream for FleetRun<R> {
    type Item = FleetItem<R>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(launch) = self.launch.take() {
            match Handle::try_current() {
                Ok(runtime) => {
                    let (results, driver) = launch.spawn(&runtime);
                    self.running = Some(Running {
                        results,
                        driver: Driver(driver),
                    });
                }
                Err(_) => return Poll::Ready(launch.refuse()),
            }
        }
        let Some(running) = self.running.as_mut() else {
            return Poll::Ready(None);
        };
        match running.results.poll_recv(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending => Poll::Pending,
            // The driver has ended, or is ending: an item's panic comes out here.
            Poll::Ready(None) => match Pin::new(&mut running.driver.0).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(error)) if error.is_panic() => {
                    std::panic::resume_unwind(error.into_panic())
                }
                Poll::Ready(_) => {
                    self.running = None;
                    Poll::Ready(None)
                }
            },
        }
    }
}

impl<R> Unpin for FleetRun<R> {}
