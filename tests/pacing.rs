//! The engine's pacing against the fake: an outage waited out (one probe at a time, items
//! held within their call deadline), one conversation's writes paced to Twilio's limit, a
//! 429 near the deadline returned as the 429, and 5xx answers that do not grow the cap.
//!
//! These talk to a real socket, so they run on the real clock; every assertion is on counts
//! and outcomes, never on how long something took.

mod common;

use std::time::Duration;

use common::rooms::{fake_with_rooms, first_participants, room};
use twilio_conversations::{
    prelude::*,
    testing::{FakeServer, Fault},
    Client, ClientBuilder, Deletion, Error, ParticipantSid, RetryBudget, RetryPolicy,
};

fn builder(fake: &FakeServer) -> ClientBuilder {
    Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
}

/// Removes each listed participant at concurrency 8; the results in input order.
async fn remove_all(
    client: &Client,
    work: Vec<(String, ParticipantSid)>,
) -> Vec<Result<Deletion, Error>> {
    let mut results: Vec<_> = client
        .fleet(&common::service())
        .concurrency(8)
        .run(work, |participants, (_, sid)| async move {
            participants.delete(sid).send_unless_gone().await
        })
        .map(|done| (done.index, done.result))
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

fn deletes(fake: &FakeServer) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_second_outage_during_200_deletions_is_waited_out_in_one_run() {
    const ITEMS: usize = 200;
    let fake = fake_with_rooms(ITEMS).await;
    let client = builder(&fake).build().unwrap();
    let work = first_participants(&fake, ITEMS);
    // 503 for 3 s from the first DELETE on.
    fake.fail_for(Duration::from_secs(3), 503);
    let results = remove_all(&client, work.clone()).await;

    for (result, (conversation, _)) in results.iter().zip(&work) {
        assert!(
            matches!(result, Ok(Deletion::Deleted)),
            "{conversation}: {result:?}"
        );
    }
    for (conversation, sid) in &work {
        let left = fake.participants(&common::service(), conversation.as_str());
        assert!(
            left.iter().all(|p| p.sid.as_ref() != Some(sid)),
            "{conversation}"
        );
    }
    let sent = deletes(&fake);
    assert!(
        sent <= 240,
        "{sent} DELETEs for {ITEMS} items: the outage was multiplied"
    );
    let stats = client.stats();
    assert!(stats.outages >= 1 && stats.outage_probes >= 1, "{stats:?}");
    assert!(!stats.outage, "the outage is over: {stats:?}");
    assert_eq!(
        stats.budget_tokens, 500,
        "the budget is not left empty: {stats:?}"
    );
    assert_eq!(stats.in_flight, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_longer_than_the_call_deadline_ends_each_item_with_a_clear_error() {
    const ITEMS: usize = 16;
    let fake = fake_with_rooms(ITEMS).await;
    fake.fail_for(Duration::from_secs(600), 503);
    let client = builder(&fake)
        .call_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    // A guard against a hang only: the items end at their 2 s deadlines, about 4 s in all.
    let results = tokio::time::timeout(
        Duration::from_secs(120),
        remove_all(&client, first_participants(&fake, ITEMS)),
    )
    .await
    .expect("every item ends at its deadline");

    assert_eq!(results.len(), ITEMS);
    let mut never_sent = 0;
    for result in &results {
        match result {
            // Held back from its first attempt: nothing was sent, and it says so.
            Err(error @ Error::Unavailable { attempts: 0, .. }) => {
                assert!(error.is_retryable());
                assert!(error.to_string().contains("never sent"), "{error}");
                never_sent += 1;
            }
            // A 503 that may have deleted it, then held back until the deadline (or with no
            // time left for another wait): a delete's unknown outcome, naming the outage or
            // its 503.
            Err(error @ Error::OutcomeUnknown { cause, .. }) => {
                let cause = cause.to_string();
                assert!(
                    cause.starts_with("the API was unavailable") || cause.contains("HTTP 503"),
                    "{error}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(never_sent > 0, "items were held back before sending");
    // The first wave's attempts, their one retry each, and one probe at a time after.
    let sent = deletes(&fake);
    assert!(sent < 2 * ITEMS, "{sent} DELETEs for {ITEMS} items");
    assert!(client.stats().outage, "the outage goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_creates_into_one_conversation_are_paced_below_its_write_limit() {
    const CREATES: usize = 300;
    let fake = FakeServer::start().await.unwrap();
    fake.add_conversation(&common::service(), "import-room", []);
    fake.set_conversation_write_limit(Some(30));
    let client = builder(&fake).build().unwrap();
    let items: Vec<(&str, usize)> = (0..CREATES).map(|i| ("import-room", i)).collect();
    let results: Vec<_> = client
        .fleet(&common::service())
        .concurrency(8)
        .run(items, |participants, (_, i)| async move {
            participants
                .create()
                .identity(format!("member-{i}"))
                .send_unless_present()
                .await
        })
        .map(|done| done.result)
        .collect()
        .await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let held = fake.participants(&common::service(), "import-room");
    assert_eq!(held.len(), CREATES);
    let throttled = client.stats().throttled;
    assert!(throttled <= 10, "{throttled} 429s");
}

#[tokio::test]
async fn paced_writes_stay_under_the_conversations_limit_unpaced_ones_do_not() {
    let fake = fake_with_rooms(1).await;
    // The fake takes 3 writes a second; the client paces to 2 (510 ms apart), so only a
    // delay of half a second on a loaded machine could crowd a fourth into one second.
    fake.set_conversation_write_limit(Some(3));
    let client = builder(&fake)
        .conversation_write_rate(2)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let participants = client.participants(&common::service(), room(0));
    // Four writes, paced: the fake refuses none.
    for i in 0..4 {
        participants
            .create()
            .identity(format!("w-{i}"))
            .await
            .unwrap();
    }
    assert_eq!(client.stats().throttled, 0);

    // Without pacing, the same writes meet the limit.
    let unpaced = builder(&fake)
        .conversation_write_rate(0)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let participants = unpaced.participants(&common::service(), room(0));
    let mut refused = 0;
    for i in 0..4 {
        if let Err(Error::Api(api)) = participants.create().identity(format!("u-{i}")).await {
            assert_eq!((api.status, api.code), (429, Some(20429)));
            refused += 1;
        }
    }
    assert!(refused >= 1, "{refused}");
}

#[tokio::test]
async fn a_write_retries_a_429_only_when_a_whole_attempt_fits_before_the_deadline() {
    let fake = FakeServer::start().await.unwrap();
    fake.add_conversation(&common::service(), "room", []);
    // 1 s to wait, then a 30 s attempt: more than the 10 s left of the call.
    let tight = builder(&fake)
        .timeout(Duration::from_secs(30))
        .call_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    fake.fail_next(429, Some(1));
    let err = tight
        .participants(&common::service(), "room")
        .create()
        .identity("alice")
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("the 429, not an unknown outcome: {err:?}")
    };
    assert_eq!(
        (api.status, api.code, api.retry_after, api.attempts),
        (429, Some(20429), Some(Duration::from_secs(1)), 1)
    );
    assert!(err.is_retryable());
    assert!(fake.participants(&common::service(), "room").is_empty());

    // With room for the wait and a whole attempt, the create is retried and made.
    let roomy = builder(&fake)
        .timeout(Duration::from_secs(2))
        .call_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    fake.fail_next(429, Some(1));
    let created = roomy
        .participants(&common::service(), "room")
        .create()
        .identity("alice")
        .await
        .unwrap();
    assert_eq!(created.identity.as_deref(), Some("alice"));
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 3, "one 429 given back, one retried");
}

#[tokio::test]
async fn server_errors_are_not_calm_answers() {
    let fake = fake_with_rooms(1).await;
    let client = builder(&fake)
        .max_concurrent_requests(4)
        .retry_policy(
            RetryPolicy::default()
                .initial_delay(Duration::from_millis(2))
                .max_delay(Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let participants = client.participants(&common::service(), room(0));
    fake.fail_next(429, Some(0));
    participants.list().await.unwrap();
    // The 429 halved the cap to 2; the retry's answer was the first calm one of two.
    assert_eq!(client.stats().concurrency_limit, 2);
    // Four 503s (one fetch and its three retries) are not calm: the cap stays.
    fake.inject(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        4,
    );
    let err = participants.fetch("nobody").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(client.stats().concurrency_limit, 2);
    // A calm answer (a 404 is one) completes the two.
    participants.fetch("nobody").await.unwrap_err();
    assert_eq!(client.stats().concurrency_limit, 3);
}

#[tokio::test]
async fn every_request_sent_counts_as_an_attempt_probes_included() {
    let fake = fake_with_rooms(1).await;
    fake.fail_for(Duration::from_secs(600), 503);
    // A budget of one retry: the second failure closes the gate, and the fetch then goes
    // out only as the outage's probe until its deadline.
    let client = builder(&fake)
        .call_timeout(Duration::from_secs(3))
        .retry_budget(RetryBudget::standard().capacity(10))
        .retry_policy(RetryPolicy::default().initial_delay(Duration::from_millis(20)))
        .build()
        .unwrap();
    let err = client
        .participants(&common::service(), room(0))
        .fetch("nobody")
        .await
        .unwrap_err();
    let attempts = match &err {
        Error::Unavailable { attempts, .. } => *attempts,
        Error::Api(api) => api.attempts,
        other => panic!("{other:?}"),
    };
    let sent = fake.requests().len() as u32;
    assert!(client.stats().outage_probes >= 1, "{:?}", client.stats());
    assert!(sent >= 3, "two attempts and a probe at least: {sent}");
    assert_eq!(attempts, sent, "{err}");
}
