//! One operation over many conversations, through the client's protections: the cap on
//! requests in flight, the pause and back-off after a 429, and the retry budget.

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use common::rooms::{fake_with_rooms, first_participants, room};
use twilio_conversations::{
    models::ConversationState, prelude::*, testing::FakeServer, Client, Creation, Deletion, Error,
    FleetProgress, ParticipantRef, ParticipantSid, RetryBudget, RetryPolicy, ServiceSid,
};

const CONVERSATIONS: usize = 40;

fn client(fake: &FakeServer, retry: RetryPolicy, budget: RetryBudget) -> Client {
    Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .retry_policy(retry)
        .retry_budget(budget)
        .build()
        .unwrap()
}

/// Retries with short waits, so a test of pacing takes seconds, not minutes.
fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(200))
}

/// Removes each listed participant; the results by conversation.
async fn remove_all(
    client: &Client,
    service: &ServiceSid,
    work: Vec<(String, ParticipantSid)>,
    concurrency: usize,
) -> HashMap<String, Result<Deletion, Error>> {
    client
        .fleet(service)
        .concurrency(concurrency)
        .run(work, |participants, (_, sid)| async move {
            participants.delete(sid).send_unless_gone().await
        })
        .map(|done| (done.conversation.unwrap().to_string(), done.result))
        .collect()
        .await
}

#[tokio::test]
async fn a_job_asked_for_16_at_once_by_a_server_that_takes_4_completes() {
    let fake = fake_with_rooms(CONVERSATIONS).await;
    fake.set_latency(Duration::from_millis(20));
    fake.set_max_in_flight(Some(4));
    let client = client(&fake, quick_retries(), RetryBudget::standard());
    let work = first_participants(&fake, CONVERSATIONS);
    let results = remove_all(&client, &common::service(), work.clone(), 16).await;

    assert_eq!(results.len(), CONVERSATIONS);
    for (conversation, result) in &results {
        assert!(
            matches!(result, Ok(Deletion::Deleted)),
            "{conversation}: {result:?}"
        );
    }
    for (conversation, sid) in &work {
        let left = fake.participants(&common::service(), conversation.as_str());
        assert_eq!(left.len(), 2, "{conversation}");
        assert!(left.iter().all(|p| p.sid.as_ref() != Some(sid)));
    }
    assert!(
        fake.peak_in_flight() > 4,
        "the job did ask for more than the server takes"
    );
    let stats = client.stats();
    assert!(stats.throttled > 0, "the server did push back: {stats:?}");
    assert!(
        stats.concurrency_limit < 16,
        "the client lowered its cap: {stats:?}"
    );
    assert_eq!(stats.in_flight, 0);
}

#[tokio::test]
async fn a_rerun_finishes_the_job_without_doing_anything_twice() {
    let fake = fake_with_rooms(CONVERSATIONS).await;
    let client = client(&fake, quick_retries(), RetryBudget::standard());
    let work = first_participants(&fake, CONVERSATIONS);
    let (half, _) = work.split_at(CONVERSATIONS / 2);
    let first = remove_all(&client, &common::service(), half.to_vec(), 8).await;
    assert!(first.values().all(|r| matches!(r, Ok(Deletion::Deleted))));

    let again = remove_all(&client, &common::service(), work.clone(), 8).await;
    let gone = again
        .values()
        .filter(|r| matches!(r, Ok(Deletion::AlreadyGone)))
        .count();
    let deleted = again
        .values()
        .filter(|r| matches!(r, Ok(Deletion::Deleted)))
        .count();
    assert_eq!((gone, deleted), (CONVERSATIONS / 2, CONVERSATIONS / 2));

    // Adding a supervisor everywhere, twice: the second run finds it present.
    let rooms: Vec<String> = (0..CONVERSATIONS).map(room).collect();
    for expect_created in [true, false] {
        let mut run =
            client
                .fleet(&common::service())
                .run(rooms.clone(), |participants, _| async move {
                    participants
                        .create()
                        .identity("supervisor-1")
                        .send_unless_present()
                        .await
                });
        let mut count = 0;
        while let Some(done) = run.next().await {
            count += 1;
            match (expect_created, done.result) {
                (true, Ok(Creation::Created(p))) => {
                    assert_eq!(p.identity.as_deref(), Some("supervisor-1"))
                }
                (false, Ok(Creation::AlreadyPresent { code: 50433 })) => {}
                (_, other) => panic!("{:?}: {other:?}", done.conversation),
            }
        }
        assert_eq!(count, CONVERSATIONS);
    }
    let creates = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(
        creates,
        2 * CONVERSATIONS,
        "each create was sent once per run"
    );
}

#[tokio::test]
async fn failures_are_per_item_unless_the_caller_stops_at_the_first() {
    let fake = fake_with_rooms(CONVERSATIONS).await;
    let client = client(&fake, RetryPolicy::none(), RetryBudget::standard());
    let mut work: Vec<String> = (0..CONVERSATIONS).map(room).collect();
    work.insert(3, "no-such-room".into());
    let seen = Arc::new(Mutex::new(Vec::<FleetProgress>::new()));
    let hook = seen.clone();
    let results: Vec<_> = client
        .fleet(&common::service())
        .concurrency(1)
        .on_progress(move |progress| hook.lock().unwrap().push(progress.clone()))
        .run(work.clone(), |participants, _| async move {
            participants
                .first_page()
                .await
                .map(|page| page.map(|p| p.items.len()))
        })
        .collect()
        .await;
    assert_eq!(results.len(), CONVERSATIONS + 1);
    let failed: Vec<_> = results
        .iter()
        .filter(|done| done.result.is_err())
        .map(|done| (done.index, done.conversation.as_ref().unwrap().to_string()))
        .collect();
    assert_eq!(failed, [(3, "no-such-room".to_string())]);
    let progress = seen.lock().unwrap().clone();
    assert_eq!(progress.len(), CONVERSATIONS + 1);
    let last = progress.last().unwrap();
    assert_eq!(
        (
            last.total,
            last.done,
            last.failed,
            last.in_flight,
            last.not_started
        ),
        (Some(CONVERSATIONS + 1), CONVERSATIONS + 1, 1, 0, Some(0))
    );

    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    let mut run = client
        .fleet(&common::service())
        .concurrency(1)
        .stop_on_error(true)
        .run(work, move |participants, _| {
            *counted.lock().unwrap() += 1;
            async move { participants.first_page().await.map(|page| page.is_some()) }
        });
    let mut stopped = Vec::new();
    while let Some(done) = run.next().await {
        stopped.push(done);
    }
    assert_eq!(stopped.len(), 4, "items 0..=3 ran, the rest never started");
    assert!(stopped[3].result.is_err());
    assert_eq!(
        *calls.lock().unwrap(),
        4,
        "no operation is made for a skipped item"
    );
    assert_eq!(run.progress().not_started, Some(CONVERSATIONS + 1 - 4));
}

#[tokio::test]
async fn a_participant_is_found_everywhere_it_is_and_removed_from_all_of_it() {
    let fake = fake_with_rooms(CONVERSATIONS).await;
    let client = client(&fake, quick_retries(), RetryBudget::standard());
    // agent-7 joins the even rooms.
    let rooms: Vec<String> = (0..CONVERSATIONS).step_by(2).map(room).collect();
    let joined: Vec<_> = client
        .fleet(&common::service())
        .run(rooms.clone(), |participants, _| async move {
            participants.create().identity("agent-7").await
        })
        .collect()
        .await;
    assert!(joined.iter().all(|done| done.result.is_ok()));

    let found = client
        .participant_conversations(&common::service(), ParticipantRef::identity("agent-7"))
        .page_size(7)
        .list()
        .await
        .unwrap();
    assert_eq!(found.len(), rooms.len());
    for conversation in &found {
        assert_eq!(
            conversation.participant_identity.as_deref(),
            Some("agent-7")
        );
        assert_eq!(conversation.conversation_state, ConversationState::Active);
        assert!(conversation.participant_sid.is_some());
    }
    let asked: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/ParticipantConversations"))
        .map(|r| {
            (
                r.query_value("Identity").map(str::to_owned),
                r.query_value("PageSize").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(asked.len(), rooms.len().div_ceil(7), "pages of 7");
    assert!(asked
        .iter()
        .all(|(identity, size)| identity.as_deref() == Some("agent-7")
            && size.as_deref() == Some("7")));

    let removed: Vec<_> = client
        .fleet(&common::service())
        .remove_everywhere(ParticipantRef::identity("agent-7"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(removed.len(), rooms.len());
    for done in &removed {
        assert!(
            matches!(done.result, Ok(Deletion::Deleted)),
            "{:?}: {:?}",
            done.conversation,
            done.result
        );
    }
    for room in &rooms {
        let left = fake.participants(&common::service(), room.as_str());
        assert!(
            left.iter()
                .all(|p| p.identity.as_deref() != Some("agent-7")),
            "{room}"
        );
    }
    // Nothing left to do: the listing is empty and no delete is sent.
    let deletes = fake
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    let again: Vec<_> = client
        .fleet(&common::service())
        .remove_everywhere(ParticipantRef::identity("agent-7"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(again.is_empty());
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        deletes
    );
}

#[tokio::test]
async fn looking_for_nobody_is_refused_before_sending() {
    let fake = fake_with_rooms(CONVERSATIONS).await;
    let client = client(&fake, quick_retries(), RetryBudget::standard());
    for who in [ParticipantRef::identity(""), ParticipantRef::address("")] {
        let err = client
            .participant_conversations(&common::service(), who)
            .list()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    }
    let err = client
        .participant_conversations(&common::service(), ParticipantRef::identity("a"))
        .page_size(51)
        .list()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("between 1 and 50"), "{err}");
    assert!(fake.requests().is_empty());
}
