//! The `testing` feature's fake server behaves as the endpoint is documented.

mod common;

use std::time::Duration;

use futures_util::TryStreamExt;
use serde_json::Value;
use twilio_conversations::{
    testing::{self, FakeServer, Fault},
    Client, ConversationSid, Credentials, Error, RetryPolicy,
};

fn conversation() -> ConversationSid {
    common::CONVERSATION.parse().unwrap()
}

async fn fake_with(count: usize) -> FakeServer {
    let fake = FakeServer::start().await.unwrap();
    fake.add_generated(&common::service(), conversation(), count, 42);
    fake
}

fn client_for(fake: &FakeServer, retry: RetryPolicy) -> Client {
    Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .timeout(Duration::from_secs(10))
        .retry_policy(retry)
        .build()
        .unwrap()
}

#[tokio::test]
async fn serves_generated_participants_in_pages() {
    let fake = fake_with(120).await;
    let client = client_for(&fake, RetryPolicy::none());
    let expected = testing::participants(&common::service(), &conversation(), 120, 42);
    let got = client
        .participants(&common::service(), common::CONVERSATION)
        .list()
        .await
        .unwrap();
    assert_eq!(got, expected, "every field survives encode + decode");
    let requests = fake.requests();
    let queries: Vec<_> = requests
        .iter()
        .map(|r| {
            (
                r.query_value("PageSize"),
                r.query_value("Page"),
                r.query_value("PageToken"),
            )
        })
        .collect();
    // The credentials were sent and matched, and the record does not keep them.
    for request in &requests {
        assert!(request.has_credentials && request.authorized);
        assert_eq!(request.header("authorization"), Some("[REDACTED]"));
    }
    // No page size set: Twilio's largest page, so 120 participants take 2 round trips, not 3.
    assert_eq!(
        queries,
        [
            (Some("100"), None, None),
            (Some("100"), Some("1"), Some("PT00000064"))
        ]
    );
}

#[tokio::test]
async fn page_meta_is_shaped_like_twilio() {
    let fake = fake_with(3).await;
    let client = client_for(&fake, RetryPolicy::none());
    let first = client
        .participants(&common::service(), common::CONVERSATION)
        .page_size(2)
        .first_page()
        .await
        .unwrap()
        .expect("no limit: the first page is fetched");
    let path = format!("{}{}", fake.base_url(), common::PATH);
    assert_eq!(first.meta.key, "participants");
    assert_eq!(first.meta.page, 0);
    assert_eq!(first.meta.page_size, 2);
    assert_eq!(first.meta.url, format!("{path}?PageSize=2&Page=0"));
    assert_eq!(
        first.meta.first_page_url,
        format!("{path}?PageSize=2&Page=0")
    );
    assert_eq!(
        first.meta.next_page_url,
        Some(format!("{path}?PageSize=2&Page=1&PageToken=PT00000002"))
    );
    assert_eq!(first.meta.previous_page_url, None);
    let last = first.next_page().await.unwrap().unwrap();
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.meta.next_page_url, None);
    assert_eq!(
        last.meta.previous_page_url,
        Some(format!("{path}?PageSize=2&Page=0&PageToken=PB00000000"))
    );
}

#[tokio::test]
async fn rejects_bad_credentials_and_unknown_conversations() {
    let fake = fake_with(1).await;
    let wrong = Client::builder()
        .base_url(fake.base_url())
        .credentials(Credentials::auth_token(
            testing::FAKE_ACCOUNT_SID.parse().unwrap(),
            "wrong",
        ))
        .build()
        .unwrap();
    let err = wrong
        .participants(&common::service(), common::CONVERSATION)
        .list()
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.twilio_code()), (Some(401), Some(20003)));

    let client = client_for(&fake, RetryPolicy::none());
    let err = client
        .participants(&common::service(), "CHffffffffffffffffffffffffffffffff")
        .list()
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.twilio_code()), (Some(404), Some(20404)));
    let recorded = fake.requests();
    assert!(recorded[0].has_credentials && !recorded[0].authorized);
    assert!(recorded[1].authorized);
}

#[tokio::test]
async fn scripted_faults_are_retried() {
    let fake = fake_with(5).await;
    fake.inject(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        2,
    );
    fake.inject(Fault::Drop, 1);
    fake.inject(Fault::Delay(Duration::from_millis(5)), 1);
    let retry = RetryPolicy::default()
        .max_retries(4)
        .initial_delay(Duration::from_millis(1));
    let got = client_for(&fake, retry)
        .participants(&common::service(), common::CONVERSATION)
        .list()
        .await
        .unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(
        fake.requests().len(),
        4,
        "503, 503, dropped, delayed-then-served"
    );
}

#[tokio::test]
async fn faults_beyond_the_retry_budget_surface_with_the_attempt_count() {
    let fake = fake_with(5).await;
    fake.inject(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        10,
    );
    let retry = RetryPolicy::default()
        .max_retries(2)
        .initial_delay(Duration::from_millis(1));
    let err = client_for(&fake, retry)
        .participants(&common::service(), common::CONVERSATION)
        .list()
        .await
        .unwrap_err();
    match err {
        Error::Api(api) => assert_eq!((api.status, api.attempts), (503, 3)),
        other => panic!("expected an API error, got {other:?}"),
    }
    assert_eq!(fake.requests().len(), 3);
}

/// The `PageToken` of each request the fake received, in order.
fn tokens(fake: &FakeServer) -> Vec<Option<String>> {
    fake.requests()
        .iter()
        .map(|r| r.query_value("PageToken").map(str::to_owned))
        .collect()
}

/// Takes `n` participants from `stream`, letting the runtime run between them (the page
/// fetched ahead is a task, which on this current-thread runtime runs when the caller waits).
async fn take<S>(stream: &mut S, n: usize)
where
    S: futures_util::Stream<Item = twilio_conversations::Result<twilio_conversations::Participant>>
        + Unpin,
{
    for _ in 0..n {
        stream.try_next().await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn stream_prefetches_one_page_and_never_past_the_limit() {
    let fake = fake_with(250).await;
    let client = client_for(&fake, RetryPolicy::none());
    let mut stream = client
        .participants(&common::service(), common::CONVERSATION)
        .page_size(100)
        .stream();
    let page_2 = Some("PT00000064".to_owned());
    let page_3 = Some("PT000000c8".to_owned());
    // While the caller works through page 1, page 2 is asked for, and nothing further.
    take(&mut stream, 100).await;
    assert_eq!(tokens(&fake), [None, page_2.clone()]);
    // Page 3 is asked for while the caller works through page 2.
    take(&mut stream, 100).await;
    assert_eq!(tokens(&fake), [None, page_2.clone(), page_3.clone()]);
    let rest: Vec<_> = stream.try_collect().await.unwrap();
    assert_eq!(rest.len(), 50);
    assert_eq!(tokens(&fake), [None, page_2, page_3]);

    // A limit that one page satisfies: however long the caller takes, page 2 is never asked.
    let fake = fake_with(250).await;
    let client = client_for(&fake, RetryPolicy::none());
    let mut stream = client
        .participants(&common::service(), common::CONVERSATION)
        .page_size(100)
        .limit(100)
        .stream();
    take(&mut stream, 100).await;
    assert!(stream.try_next().await.unwrap().is_none());
    assert_eq!(tokens(&fake), [None]);
}

#[test]
fn outside_tokio_a_stream_says_it_needs_tokio_instead_of_panicking() {
    let client = Client::builder()
        .base_url("http://127.0.0.1:9")
        .credentials(testing::fake_credentials())
        .build()
        .unwrap();
    let mut stream = client
        .participants(&common::service(), common::CONVERSATION)
        .stream();
    let first = futures_util::FutureExt::now_or_never(stream.try_next());
    match first {
        Some(Err(Error::Config(message))) => {
            assert!(message.contains("Tokio runtime"), "{message}")
        }
        other => panic!("expected a configuration error naming Tokio, got {other:?}"),
    }
    // Invalid input is still reported first, without a request.
    let mut invalid = client
        .participants(&common::service(), common::CONVERSATION)
        .page_size(0)
        .stream();
    let first = futures_util::FutureExt::now_or_never(invalid.try_next());
    assert!(matches!(first, Some(Err(Error::InvalidInput { .. }))));
}

/// `?` works on the fake and on attributes inside a function returning the crate's `Result`.
async fn first_attributes(conversation: ConversationSid) -> twilio_conversations::Result<Value> {
    let fake = FakeServer::start().await?;
    fake.add_generated(&common::service(), &conversation, 1, 3);
    let client = client_for(&fake, RetryPolicy::none());
    let participants = client
        .participants(&common::service(), conversation)
        .list()
        .await?;
    let attributes = participants[0].attributes_json::<Value>()?;
    let _: Value = participants[0]
        .attributes_json::<Vec<u8>>()
        .map(Value::from)?;
    Ok(attributes)
}

#[tokio::test]
async fn question_mark_carries_the_crates_own_errors() {
    let err = first_attributes(conversation()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { path, .. } if path == "attributes"),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_next_page_is_requested_while_the_caller_works_through_this_one() {
    let fake = fake_with(200).await;
    let client = client_for(&fake, RetryPolicy::none());
    let mut stream = client
        .participants(&common::service(), common::CONVERSATION)
        .stream();
    // Consume the first page (100 participants) slowly, without asking for participant 101.
    for _ in 0..100 {
        stream.try_next().await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        fake.requests().len(),
        2,
        "page 2 was asked for during page 1"
    );
    assert_eq!(
        fake.requests()[1].query_value("PageToken"),
        Some("PT00000064")
    );
}

#[tokio::test]
async fn a_caller_slower_than_the_timeout_does_not_time_out_the_prefetched_page() {
    let fake = fake_with(4).await;
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .timeout(Duration::from_secs(1))
        .call_timeout(Duration::from_secs(2))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut stream = client
        .participants(&common::service(), common::CONVERSATION)
        .page_size(2)
        .stream();
    stream.try_next().await.unwrap().unwrap();
    // The caller works on participant 1 for longer than both timeouts, not polling; the
    // request for page 2 is already under way.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rest: Vec<_> = stream.try_collect().await.unwrap();
    let expected = testing::participants(&common::service(), &conversation(), 4, 42);
    assert_eq!(rest, expected[1..]);
    // Page 2 was asked for once: its answer was read while the caller was away, never timed
    // out.
    let page_2 = tokens(&fake).into_iter().filter(Option::is_some).count();
    assert_eq!(page_2, 1, "{:?}", tokens(&fake));
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn a_caller_may_send_requests_from_inside_a_stream_at_a_cap_of_one() {
    // The page fetched ahead must not hold the only place under the cap while the caller,
    // between two items, waits for a place for its own request.
    let fake = fake_with(30).await;
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .max_concurrent_requests(1)
        .call_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let participants = client.participants(&common::service(), common::CONVERSATION);
    let mut stream = participants.page_size(10).stream();
    let mut fetched = 0;
    while let Some(participant) = stream.try_next().await.unwrap() {
        let sid = participant.sid.unwrap();
        let again = participants.fetch(&sid).await.unwrap();
        assert_eq!(again.sid.as_ref(), Some(&sid));
        fetched += 1;
    }
    assert_eq!(fetched, 30);
}
