//! Work that moves on its own: fleet items and a stream's page fetched ahead run as tasks,
//! under the client's cap like every request, whether or not the caller polls. Each test
//! reproduces a way the earlier design (futures polled only by the caller) stalled or
//! misreported: a caller that sends requests of the same client between items, a caller
//! slower than the attempt timeout, many streams at a cap of 1, and stopping early.

mod common;

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use tracing::Instrument;
use tracing_subscriber::{layer::SubscriberExt, registry::LookupSpan, Layer};

use twilio_conversations::{
    prelude::*, testing::FakeServer, Client, ConversationSid, Creation, Error, Participant,
};

/// Waits for `work`, failing the test instead of hanging when it never ends (what the
/// earlier design did). Generous: only a hang reaches it.
async fn finishes<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("the work hung")
}

/// Waits until `ready` holds, checking every few milliseconds; fails the test if it never
/// does.
async fn until(mut ready: impl FnMut() -> bool) {
    finishes(async {
        while !ready() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

fn room(i: usize) -> String {
    format!("room-{i:03}")
}

/// A fake holding `rooms` conversations of three participants each.
async fn fake_with_rooms(rooms: usize) -> FakeServer {
    let fake = FakeServer::start().await.unwrap();
    for i in 0..rooms {
        fake.add_generated(&common::service(), room(i), 3, i as u64);
    }
    fake
}

fn conversation() -> ConversationSid {
    common::CONVERSATION.parse().unwrap()
}

/// A fake holding one conversation of `count` participants.
async fn fake_with_participants(count: usize) -> FakeServer {
    let fake = FakeServer::start().await.unwrap();
    fake.add_generated(&common::service(), conversation(), count, 42);
    fake
}

fn client(fake: &FakeServer, cap: u32) -> Client {
    Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .max_concurrent_requests(cap)
        .retry_policy(
            twilio_conversations::RetryPolicy::default()
                .initial_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(200)),
        )
        .build()
        .unwrap()
}

/// Runs a fleet that lists each room's first page, and between two items sends a request of
/// the same client; returns how many items succeeded.
async fn fleet_with_requests_between_items(
    client: &Client,
    rooms: usize,
    concurrency: usize,
) -> usize {
    let mut run = client
        .fleet(&common::service())
        .concurrency(concurrency)
        .run((0..rooms).map(room), |participants, _| async move {
            participants.list().await.map(|all| all.len())
        });
    let mut succeeded = 0;
    while let Some(done) = run.next().await {
        assert_eq!(done.result.unwrap(), 3);
        let between = client.participants(&common::service(), room(0));
        assert_eq!(between.list().await.unwrap().len(), 3);
        succeeded += 1;
    }
    succeeded
}

#[tokio::test]
async fn a_caller_sending_requests_between_fleet_items_finishes_at_a_cap_of_one() {
    // Before: cap 1, fleet 2 hung after the first item (the second item held the only
    // place, and nobody polled it while the caller waited for a place).
    let fake = fake_with_rooms(12).await;
    fake.set_latency(Duration::from_millis(5));
    let client = client(&fake, 1);
    let done = finishes(fleet_with_requests_between_items(&client, 12, 2)).await;
    assert_eq!(done, 12);
    assert_eq!(fake.peak_in_flight(), 1, "the cap of 1 held");
    assert_eq!(client.stats().in_flight, 0);
}

#[tokio::test]
async fn a_caller_sending_requests_between_fleet_items_finishes_while_the_cap_is_halved() {
    // Before: with the defaults (cap 16, fleet 8) against a server that takes 4, the cap
    // halved to 4 and the run hung after a few items.
    let fake = fake_with_rooms(40).await;
    fake.set_latency(Duration::from_millis(20));
    fake.set_max_in_flight(Some(4));
    // Enough retries that no request gives up on its 429s on a loaded machine: what is
    // tested is that the run does not stall.
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .retry_policy(
            twilio_conversations::RetryPolicy::default()
                .max_retries(20)
                .initial_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(200)),
        )
        .retry_budget(twilio_conversations::RetryBudget::unlimited())
        .build()
        .unwrap();
    let done = finishes(fleet_with_requests_between_items(&client, 40, 8)).await;
    assert_eq!(done, 40);
    let stats = client.stats();
    assert!(stats.throttled > 0, "the server pushed back: {stats:?}");
    assert!(
        stats.concurrency_limit < 16,
        "the cap was lowered: {stats:?}"
    );
}

#[tokio::test]
async fn a_caller_slower_than_the_attempt_timeout_is_told_created_for_every_create() {
    // Before: 8 creates, 1 s attempt timeout, the caller 2 s on each result: the server
    // created 8, the caller was told 2 `Created` and 6 `OutcomeUnknown` (answers that had
    // arrived were timed out because nobody read them).
    const ROOMS: usize = 5;
    let fake = fake_with_rooms(ROOMS).await;
    fake.set_latency(Duration::from_millis(50));
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .timeout(Duration::from_secs(1))
        .call_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut run = client
        .fleet(&common::service())
        .concurrency(ROOMS)
        .run((0..ROOMS).map(room), |participants, _| async move {
            participants.create().identity("supervisor-1").await
        });
    let mut created = 0;
    while let Some(done) = run.next().await {
        let participant = done.result.expect("the server created it");
        assert_eq!(participant.identity.as_deref(), Some("supervisor-1"));
        created += 1;
        // Longer than an attempt timeout, without polling the run.
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    assert_eq!(created, ROOMS);
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, ROOMS, "each create was sent once");
    for i in 0..ROOMS {
        let supervisors = fake
            .participants(&common::service(), room(i))
            .into_iter()
            .filter(|p| p.identity.as_deref() == Some("supervisor-1"))
            .count();
        assert_eq!(supervisors, 1, "{}", room(i));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_streams_at_a_cap_of_one_never_have_two_requests_in_flight() {
    // Before: the pages fetched ahead took no place under the cap: the server saw 6 requests
    // in flight at once.
    let fake = fake_with_participants(120).await;
    fake.set_latency(Duration::from_millis(5));
    let client = client(&fake, 1);
    let streams: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .participants(&common::service(), common::CONVERSATION)
                    .page_size(10)
                    .stream()
                    .try_collect::<Vec<Participant>>()
                    .await
            })
        })
        .collect();
    for stream in streams {
        let everyone = finishes(stream).await.unwrap().unwrap();
        assert_eq!(everyone.len(), 120);
    }
    assert_eq!(fake.requests().len(), 8 * 12, "12 pages each, once");
    assert_eq!(fake.peak_in_flight(), 1);
    assert_eq!(client.stats().in_flight, 0);
}

#[tokio::test]
async fn a_caller_sending_requests_between_stream_items_finishes_at_a_cap_of_one() {
    // The page fetched ahead takes the only place while it is on the wire, never while it
    // waits to be read: the caller's own request between two items gets its turn.
    let fake = fake_with_participants(10).await;
    fake.set_latency(Duration::from_millis(5));
    let client = client(&fake, 1);
    let participants = client.participants(&common::service(), common::CONVERSATION);
    let mut stream = participants.list_request().page_size(2).stream();
    let mut seen = 0;
    finishes(async {
        while let Some(participant) = stream.try_next().await.unwrap() {
            let sid = participant.sid.expect("a SID");
            assert_eq!(
                participants.fetch(sid.clone()).await.unwrap().sid,
                Some(sid)
            );
            seen += 1;
        }
    })
    .await;
    assert_eq!(seen, 10);
    assert_eq!(fake.peak_in_flight(), 1, "the cap of 1 held");
    assert_eq!(client.stats().in_flight, 0);
}

#[tokio::test]
async fn stats_count_the_page_fetched_ahead_and_dropping_the_stream_cancels_it() {
    let fake = fake_with_participants(4).await;
    let client = client(&fake, 4);
    let mut stream = client
        .participants(&common::service(), common::CONVERSATION)
        .page_size(2)
        .stream();
    stream.try_next().await.unwrap().unwrap();
    // Page 2 is asked for now, and answered only after a minute.
    fake.set_latency(Duration::from_secs(60));
    until(|| fake.requests().len() == 2).await;
    assert_eq!(client.stats().in_flight, 1, "the page fetched ahead counts");
    drop(stream);
    // Its place comes back long before the answer could.
    until(|| client.stats().in_flight == 0).await;
}

#[tokio::test]
async fn stopping_a_run_reports_every_item_on_the_wire_and_counts_the_rest() {
    const ROOMS: usize = 20;
    let fake = fake_with_rooms(ROOMS).await;
    fake.set_latency(Duration::from_millis(100));
    let client = client(&fake, 16);
    let mut run = client.fleet(&common::service()).concurrency(4).run(
        (0..ROOMS).map(room),
        |participants, _| async move {
            participants
                .create()
                .identity("supervisor-1")
                .send_unless_present()
                .await
        },
    );
    let first = run.next().await.unwrap();
    assert!(matches!(first.result, Ok(Creation::Created(_))));
    run.stop();
    let mut reported = 1;
    while let Some(done) = run.next().await {
        assert!(matches!(done.result, Ok(Creation::Created(_))), "{done:?}");
        reported += 1;
    }
    let created = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(reported, created, "every create sent was reported");
    assert!(reported < ROOMS, "the run stopped early");
    let progress = run.progress();
    assert_eq!(progress.done, reported);
    assert_eq!(progress.in_flight, 0);
    assert_eq!(progress.not_started, Some(ROOMS - reported));
}

#[tokio::test]
async fn dropping_a_run_aborts_its_requests() {
    let fake = fake_with_rooms(8).await;
    // Answered only after a minute.
    fake.set_latency(Duration::from_secs(60));
    let client = client(&fake, 16);
    let mut run = client
        .fleet(&common::service())
        .concurrency(4)
        .run((0..8).map(room), |participants, _| async move {
            participants.list().await
        });
    // The run starts when polled; nothing finishes for a minute.
    assert!(futures_util::FutureExt::now_or_never(run.next()).is_none());
    until(|| client.stats().in_flight == 4 && fake.requests().len() == 4).await;
    drop(run);
    until(|| client.stats().in_flight == 0).await;
    assert_eq!(fake.requests().len(), 4, "nothing more was sent");
}

#[test]
fn a_run_polled_outside_a_tokio_runtime_sends_nothing_and_says_why() {
    let client = Client::builder()
        .base_url("http://127.0.0.1:9")
        .credentials(common::credentials())
        .build()
        .unwrap();
    let mut run = client
        .fleet(&common::service())
        .run(["a", "b", "c"], |participants, _| async move {
            participants.list().await
        });
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let std::task::Poll::Ready(Some(first)) = run.poll_next_unpin(&mut cx) else {
        panic!("the first item is refused at once");
    };
    assert_eq!(first.index, 0);
    assert_eq!(first.conversation.unwrap().as_str(), "a");
    let error = first.result.unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert!(error.to_string().contains("Tokio runtime"), "{error}");
    assert!(matches!(
        run.poll_next_unpin(&mut cx),
        std::task::Poll::Ready(None)
    ));
    let progress = run.progress();
    assert_eq!(
        (progress.done, progress.failed, progress.not_started),
        (1, 1, Some(2))
    );
}

#[tokio::test]
async fn an_item_that_names_no_conversation_fails_alone_with_none() {
    let fake = fake_with_rooms(2).await;
    let client = client(&fake, 4);
    let items = vec![(Some(room(0)), 0), (None, 1), (Some(room(1)), 2)];
    let mut results: Vec<_> = client
        .fleet(&common::service())
        .run(
            items.into_iter().map(|(room, n)| (Named(room), n)),
            |participants, _| async move { participants.list().await },
        )
        .collect()
        .await;
    results.sort_by_key(|done| done.index);
    assert_eq!(results[1].conversation, None);
    assert!(matches!(results[1].result, Err(Error::InvalidInput { .. })));
    assert_eq!(
        results[2].conversation.as_ref().map(|c| c.as_str()),
        Some("room-001")
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "nothing sent for the unnamed item"
    );
}

/// An item that may name a conversation.
struct Named(Option<String>);

impl twilio_conversations::InConversation for Named {
    fn conversation(&self) -> Option<twilio_conversations::ConversationId> {
        self.0.as_deref().map(Into::into)
    }
}

/// Records the parent of every request's span (`twilio_request`).
#[derive(Clone, Default)]
struct Parents(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Parents {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "twilio_request" {
            let parent = ctx
                .span(id)
                .and_then(|span| span.parent().map(|p| p.name()))
                .unwrap_or("none");
            self.0.lock().unwrap().push(parent.to_owned());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_items_and_pages_fetched_ahead_run_inside_the_callers_span() {
    // The only test of this binary that sets a subscriber; the others' requests are
    // recorded too, without these spans as parents.
    let parents = Parents::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(parents.clone()))
        .unwrap();
    let fake = fake_with_rooms(6).await;
    let fleet_client = client(&fake, 4);
    let span = tracing::info_span!("fleet_job");
    let run = span.in_scope(|| {
        fleet_client
            .fleet(&common::service())
            .concurrency(3)
            .run((0..6).map(room), |participants, _| async move {
                participants.list().await
            })
    });
    assert_eq!(run.collect::<Vec<_>>().await.len(), 6);

    let fake = fake_with_participants(6).await;
    let everyone: Vec<Participant> = client(&fake, 4)
        .participants(&common::service(), common::CONVERSATION)
        .page_size(2)
        .stream()
        .try_collect()
        .instrument(tracing::info_span!("stream_job"))
        .await
        .unwrap();
    assert_eq!(everyone.len(), 6);

    let parents = parents.0.lock().unwrap();
    let count = |name: &str| parents.iter().filter(|p| *p == name).count();
    assert_eq!(count("fleet_job"), 6, "{parents:?}");
    assert_eq!(count("stream_job"), 3, "three pages: {parents:?}");
}
