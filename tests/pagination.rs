//! Walking pages through the ergonomic client against a local httpmock server.

mod common;

use common::*;
use futures_util::TryStreamExt;
use httpmock::{Method::GET, Mock, MockServer};
use twilio_conversations::Error;

/// Serves `total` participants in pages of `size`, each next page behind a token `PT<n>`,
/// with next_page_url pointing at `link_host`. Returns one mock per page.
async fn serve_pages<'a>(
    server: &'a MockServer,
    link_host: &str,
    total: usize,
    size: usize,
) -> Vec<Mock<'a>> {
    let pages = total.div_ceil(size).max(1);
    let mut mocks = Vec::new();
    for index in 0..pages {
        let start = index * size;
        let end = (start + size).min(total);
        let next = (index + 1 < pages).then(|| {
            next_url(
                link_host,
                size as u64,
                index as u64 + 1,
                &format!("PT{end}"),
            )
        });
        let body = page(start..end, index as u64, size as u64, next).to_string();
        let mock = server
            .mock_async(|when, then| {
                let when = when
                    .method(GET)
                    .path(PATH)
                    .header("authorization", basic_header());
                if index == 0 {
                    when.query_param_missing("PageToken");
                } else {
                    when.query_param("PageToken", format!("PT{start}"))
                        .query_param("Page", index.to_string());
                }
                then.status(200)
                    .header("content-type", "application/json")
                    .body(body);
            })
            .await;
        mocks.push(mock);
    }
    mocks
}

#[tokio::test]
async fn streams_across_pages_in_order() {
    let server = MockServer::start_async().await;
    let mocks = serve_pages(&server, &server.base_url(), 7, 3).await;
    let client = client(&server.base_url());
    let all = client
        .participants(&service(), CONVERSATION)
        .page_size(3)
        .list()
        .await
        .unwrap();
    assert_eq!(sids(&all), expected_sids(0..7));
    for mock in &mocks {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn stream_is_static_and_send() {
    fn assert_static_send<T: Send + 'static>(_: &T) {}
    let server = MockServer::start_async().await;
    let _mocks = serve_pages(&server, &server.base_url(), 4, 2).await;
    let stream = client(&server.base_url())
        .participants(&service(), CONVERSATION)
        .page_size(2)
        .stream();
    assert_static_send(&stream);
    let all: Vec<_> = tokio::spawn(stream.try_collect::<Vec<_>>())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sids(&all), expected_sids(0..4));
}

#[tokio::test]
async fn limit_below_total_stops_early_and_shrinks_the_last_page() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.path(PATH)
                .query_param("PageSize", "3")
                .query_param_missing("PageToken");
            then.status(200).body(
                page(0..3, 0, 3, Some(next_url(&server.base_url(), 3, 1, "PT3"))).to_string(),
            );
        })
        .await;
    // Only 2 more are needed, so the follow-up asks for 2, not 3.
    let second = server
        .mock_async(|when, then| {
            when.path(PATH)
                .query_param("PageSize", "2")
                .query_param("PageToken", "PT3");
            then.status(200).body(
                page(3..5, 1, 2, Some(next_url(&server.base_url(), 2, 2, "PT5"))).to_string(),
            );
        })
        .await;
    let client = client(&server.base_url());
    let got = client
        .participants(&service(), CONVERSATION)
        .page_size(3)
        .limit(5)
        .list()
        .await
        .unwrap();
    assert_eq!(sids(&got), expected_sids(0..5));
    first.assert_calls_async(1).await;
    second.assert_calls_async(1).await;
}

#[tokio::test]
async fn limit_alone_sets_the_page_size() {
    let server = MockServer::start_async().await;
    let only = server
        .mock_async(|when, then| {
            when.path(PATH).query_param("PageSize", "4");
            then.status(200).body(
                page(0..4, 0, 4, Some(next_url(&server.base_url(), 4, 1, "PT4"))).to_string(),
            );
        })
        .await;
    let got = client(&server.base_url())
        .participants(&service(), CONVERSATION)
        .limit(4)
        .list()
        .await
        .unwrap();
    assert_eq!(got.len(), 4);
    only.assert_calls_async(1).await;
}

#[tokio::test]
async fn limit_equal_and_above_total() {
    for limit in [6, 50] {
        let server = MockServer::start_async().await;
        let mocks = serve_pages(&server, &server.base_url(), 6, 3).await;
        let got = client(&server.base_url())
            .participants(&service(), CONVERSATION)
            .page_size(3)
            .limit(limit)
            .list()
            .await
            .unwrap();
        assert_eq!(sids(&got), expected_sids(0..6), "limit {limit}");
        for mock in &mocks {
            mock.assert_calls_async(1).await;
        }
    }
}

#[tokio::test]
async fn limit_zero_sends_nothing() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let got = client(&server.base_url())
        .participants(&service(), CONVERSATION)
        .limit(0)
        .list()
        .await
        .unwrap();
    assert!(got.is_empty());
    let request = client(&server.base_url())
        .participants(&service(), CONVERSATION)
        .limit(0);
    assert!(request.clone().first_page().await.unwrap().is_none());
    assert!(request.stream().try_next().await.unwrap().is_none());
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_next_page_url_without_token_naming_the_same_page_is_not_followed_forever() {
    let server = MockServer::start_async().await;
    let base = server.base_url();
    let same = format!("{base}{PATH}?PageSize=2&Page=1");
    server
        .mock_async(|when, then| {
            when.path(PATH).query_param_missing("Page");
            then.status(200)
                .body(page(0..2, 0, 2, Some(same.clone())).to_string());
        })
        .await;
    let looping = server
        .mock_async(|when, then| {
            when.path(PATH).query_param("Page", "1");
            then.status(200)
                .body(page(2..4, 1, 2, Some(same.clone())).to_string());
        })
        .await;
    let mut stream = client(&base)
        .participants(&service(), CONVERSATION)
        .page_size(2)
        .stream();
    let mut seen = Vec::new();
    let err = loop {
        match stream.try_next().await {
            Ok(Some(p)) => seen.push(p),
            Ok(None) => panic!("the stream ended without an error"),
            Err(err) => break err,
        }
    };
    assert_eq!(sids(&seen), expected_sids(0..4));
    assert!(err.to_string().contains("already received"), "{err}");
    looping.assert_calls_async(1).await;
}

#[tokio::test]
async fn empty_conversation() {
    let server = MockServer::start_async().await;
    let mocks = serve_pages(&server, &server.base_url(), 0, 50).await;
    let got = client(&server.base_url())
        .participants(&service(), CONVERSATION)
        .list()
        .await
        .unwrap();
    assert!(got.is_empty());
    mocks[0].assert_calls_async(1).await;
}

#[tokio::test]
async fn page_size_bounds_are_checked_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body(page(0..1, 0, 100, None).to_string());
        })
        .await;
    let client = client(&server.base_url());
    for bad in [0, 101] {
        let err = client
            .participants(&service(), CONVERSATION)
            .page_size(bad)
            .list()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    parameter: "PageSize",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("invalid PageSize: {bad} is not between 1 and 100")
        );
    }
    any.assert_calls_async(0).await;
    for good in [1, 100] {
        let got = client
            .participants(&service(), CONVERSATION)
            .page_size(good)
            .list()
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
    }
    any.assert_calls_async(2).await;
}

#[tokio::test]
async fn bad_input_never_reaches_the_server() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let err = "IS123"
        .parse::<twilio_conversations::ServiceSid>()
        .unwrap_err();
    assert_eq!(err.kind, "ChatServiceSid");
    let err = client(&server.base_url())
        .participants(&service(), "")
        .first_page()
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput {
            parameter: "ConversationSid",
            ..
        }
    ));
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn unique_names_are_path_encoded() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path(
                "/v1/Services/IS0123456789abcdef0123456789abcdef/Conversations/support%2Fticket%20%2342/Participants",
            );
            then.status(200).body(page(0..1, 0, 50, None).to_string());
        })
        .await;
    let got = client(&server.base_url())
        .participants(&service(), "support/ticket #42")
        .list()
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn base_url_path_prefix_is_kept() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path(format!("/proxy/twilio{PATH}"));
            then.status(200).body(page(0..2, 0, 50, None).to_string());
        })
        .await;
    let got = client(&format!("{}/proxy/twilio/", server.base_url()))
        .participants(&service(), CONVERSATION)
        .list()
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn foreign_next_page_host_is_never_contacted() {
    let configured = MockServer::start_async().await;
    let foreign = MockServer::start_async().await;
    let foreign_any = foreign
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body(page(0..0, 0, 2, None).to_string());
        })
        .await;
    // next_page_url names the foreign host; the follow-up must go to the configured one.
    let mocks = serve_pages(&configured, &foreign.base_url(), 5, 2).await;
    let got = client(&configured.base_url())
        .participants(&service(), CONVERSATION)
        .page_size(2)
        .list()
        .await
        .unwrap();
    assert_eq!(sids(&got), expected_sids(0..5));
    for mock in &mocks {
        mock.assert_calls_async(1).await;
    }
    foreign_any.assert_calls_async(0).await;
}

#[tokio::test]
async fn repeated_page_token_is_an_error_not_a_loop() {
    let server = MockServer::start_async().await;
    let base = server.base_url();
    server
        .mock_async(|when, then| {
            when.path(PATH).query_param_missing("PageToken");
            then.status(200)
                .body(page(0..2, 0, 2, Some(next_url(&base, 2, 1, "PTloop"))).to_string());
        })
        .await;
    let looping = server
        .mock_async(|when, then| {
            when.path(PATH).query_param("PageToken", "PTloop");
            then.status(200)
                .body(page(2..4, 1, 2, Some(next_url(&base, 2, 2, "PTloop"))).to_string());
        })
        .await;
    let mut stream = client(&base)
        .participants(&service(), CONVERSATION)
        .page_size(2)
        .stream();
    let mut seen = Vec::new();
    let err = loop {
        match stream.try_next().await {
            Ok(Some(p)) => seen.push(p),
            Ok(None) => panic!("the stream ended without an error"),
            Err(err) => break err,
        }
    };
    assert_eq!(sids(&seen), expected_sids(0..4));
    assert_eq!(
        err.to_string(),
        "cannot follow the next page: page 2 links to the PageToken that brought page 2; \
         stopping instead of repeating it"
    );
    looping.assert_calls_async(1).await;
    assert!(
        stream.try_next().await.unwrap().is_none(),
        "the stream ends after an error"
    );
}

/// Streams every participant the server gives, up to the first error: the SIDs yielded, and
/// the error (or `None` when the stream ended).
async fn walk(base: &str, page_size: Option<u32>) -> (Vec<String>, Option<Error>) {
    let participants = client(base).participants(&service(), CONVERSATION);
    let mut stream = match page_size {
        Some(size) => participants.page_size(size).stream(),
        None => participants.stream(),
    };
    let mut seen = Vec::new();
    loop {
        match stream.try_next().await {
            Ok(Some(p)) => seen.push(p),
            Ok(None) => return (sids(&seen), None),
            Err(err) => {
                assert!(
                    stream.try_next().await.unwrap().is_none(),
                    "the stream ends after an error"
                );
                return (sids(&seen), Some(err));
            }
        }
    }
}

const TWILIO: &str = "https://conversations.twilio.com";

/// The request line of a GET of the participants with `query`.
fn get(query: &str) -> String {
    format!("GET {PATH}?{query} HTTP/1.1")
}

fn lines(seen: &std::sync::Mutex<Vec<(String, String)>>) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|(line, _)| line.clone())
        .collect()
}

fn pagination_error(err: Option<Error>) -> String {
    match err {
        Some(Error::Pagination(why)) => why,
        other => panic!("expected a pagination error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_chain_of_empty_pages_stops_after_max_empty_pages() {
    use twilio_conversations::MAX_EMPTY_PAGES;
    // Endless empty pages, each naming a new token and a later page.
    let script = (0..20u64)
        .map(|n| {
            let next = next_url(TWILIO, 50, n + 1, &format!("PT{}", n + 1));
            Scripted::Answer(200, page(0..0, n, 50, Some(next)).to_string())
        })
        .collect();
    let (base, seen) = scripted_server(script).await;
    let (yielded, err) = walk(&base, Some(50)).await;
    assert!(yielded.is_empty());
    assert_eq!(
        pagination_error(err),
        format!(
            "{} empty pages in a row still name a next page; stopping",
            MAX_EMPTY_PAGES + 1
        )
    );
    let mut expected = vec![get("PageSize=50")];
    expected.extend(
        (1..=MAX_EMPTY_PAGES).map(|n| get(&format!("Page={n}&PageSize=50&PageToken=PT{n}"))),
    );
    assert_eq!(lines(&seen), expected);
}

#[tokio::test]
async fn a_link_back_to_page_0_after_the_first_page_stops_without_repeats() {
    let back = format!("{TWILIO}{PATH}?Page=0&PageSize=3&PageToken=PTnew");
    let (base, seen) = scripted_server(vec![
        Scripted::Answer(
            200,
            page(0..3, 0, 3, Some(next_url(TWILIO, 3, 1, "PT1"))).to_string(),
        ),
        Scripted::Answer(200, page(3..6, 1, 3, Some(back.clone())).to_string()),
        Scripted::Answer(200, page(0..3, 0, 3, None).to_string()),
    ])
    .await;
    let (yielded, err) = walk(&base, Some(3)).await;
    assert_eq!(yielded, expected_sids(0..6));
    assert_eq!(
        pagination_error(err),
        "page 2 links to Page=0, not beyond Page=1 already received; stopping instead of \
         repeating it"
    );
    assert_eq!(
        lines(&seen),
        [get("PageSize=3"), get("Page=1&PageSize=3&PageToken=PT1")]
    );
}

#[tokio::test]
async fn a_page_served_again_under_a_new_token_stops_without_repeats() {
    let (base, seen) = scripted_server(vec![
        Scripted::Answer(
            200,
            page(0..3, 0, 3, Some(next_url(TWILIO, 3, 1, "PT1"))).to_string(),
        ),
        Scripted::Answer(
            200,
            page(3..6, 1, 3, Some(next_url(TWILIO, 3, 2, "PT2"))).to_string(),
        ),
        Scripted::Answer(
            200,
            page(3..6, 2, 3, Some(next_url(TWILIO, 3, 3, "PT3"))).to_string(),
        ),
        Scripted::Answer(200, page(6..7, 3, 3, None).to_string()),
    ])
    .await;
    let (yielded, err) = walk(&base, Some(3)).await;
    assert_eq!(yielded, expected_sids(0..6));
    assert_eq!(
        pagination_error(err),
        "page 3 repeats page 2 (the same items in the same order); stopping instead of \
         repeating them"
    );
    assert_eq!(lines(&seen).len(), 3);
}

#[tokio::test]
async fn the_callers_page_size_is_kept_and_the_servers_is_range_checked() {
    // The caller asked for 3; the links offer 50: the caller's size is asked every time.
    let (base, seen) = scripted_server(vec![
        Scripted::Answer(
            200,
            page(0..3, 0, 3, Some(next_url(TWILIO, 50, 1, "PT1"))).to_string(),
        ),
        Scripted::Answer(200, page(3..5, 1, 3, None).to_string()),
    ])
    .await;
    let (yielded, err) = walk(&base, Some(3)).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(yielded, expected_sids(0..5));
    assert_eq!(
        lines(&seen),
        [get("PageSize=3"), get("Page=1&PageSize=3&PageToken=PT1")]
    );

    // No size from the caller: a link's size within 1..=100 is followed, one outside is not
    // (the list's largest is asked instead).
    let (base, seen) = scripted_server(vec![
        Scripted::Answer(
            200,
            page(0..3, 0, 3, Some(next_url(TWILIO, 20, 1, "PT1"))).to_string(),
        ),
        Scripted::Answer(
            200,
            page(3..5, 1, 20, Some(next_url(TWILIO, 1000, 2, "PT2"))).to_string(),
        ),
        Scripted::Answer(
            200,
            page(5..6, 2, 100, Some(next_url(TWILIO, 0, 3, "PT3"))).to_string(),
        ),
        Scripted::Answer(200, page(6..7, 3, 100, None).to_string()),
    ])
    .await;
    let (yielded, err) = walk(&base, None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(yielded, expected_sids(0..7));
    assert_eq!(
        lines(&seen),
        [
            get("PageSize=100"),
            get("Page=1&PageSize=20&PageToken=PT1"),
            get("Page=2&PageSize=100&PageToken=PT2"),
            get("Page=3&PageSize=100&PageToken=PT3"),
        ]
    );
}

#[tokio::test]
async fn participants_without_a_sid_are_never_taken_for_repeats() {
    let server = MockServer::start_async().await;
    let mut body = page(0..3, 0, 3, None);
    for participant in body["participants"].as_array_mut().unwrap() {
        participant["sid"] = serde_json::Value::Null;
    }
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).body(body.to_string());
        })
        .await;
    let all = client(&server.base_url())
        .participants(&service(), CONVERSATION)
        .list()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|p| p.sid.is_none()));
}

/// Twilio's documented example page, served as Twilio's description serves it: two
/// participants under one placeholder SID, no next page. Both are listed, as sent.
#[tokio::test]
async fn twilios_documented_example_page_lists_both_participants() {
    let body = spec_example("documented");
    let sent: Vec<&str> = body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sid"].as_str().unwrap())
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0], sent[1],
        "Twilio's example repeats its placeholder SID"
    );
    assert!(body["meta"]["next_page_url"].is_null());
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200)
                .header("content-type", "application/json")
                .body(body.to_string());
        })
        .await;
    let participants = client(&server.base_url()).participants(&service(), CONVERSATION);

    let all = participants.list().await.unwrap();
    assert_eq!(sids(&all), [sent[0], sent[1]]);
    assert_eq!(all[1].identity.as_deref(), Some("IDENTITY"));

    let page = participants.first_page().await.unwrap().expect("a page");
    assert_eq!(sids(&page.items), [sent[0], sent[1]]);
    assert!(page.next_page().await.unwrap().is_none());
}

#[tokio::test]
async fn hand_paging_reports_a_repeated_page_instead_of_an_empty_one() {
    let (base, seen) = scripted_server(vec![
        Scripted::Answer(
            200,
            page(0..3, 0, 3, Some(next_url(TWILIO, 3, 1, "PT1"))).to_string(),
        ),
        Scripted::Answer(
            200,
            page(0..3, 1, 3, Some(next_url(TWILIO, 3, 2, "PT2"))).to_string(),
        ),
    ])
    .await;
    let first = client(&base)
        .participants(&service(), CONVERSATION)
        .page_size(3)
        .first_page()
        .await
        .unwrap()
        .expect("a page");
    assert_eq!(sids(&first.items), expected_sids(0..3));
    let err = first.next_page().await.unwrap_err();
    assert_eq!(
        pagination_error(Some(err)),
        "page 2 repeats page 1 (the same items in the same order); stopping instead of \
         repeating them"
    );
    assert_eq!(lines(&seen).len(), 2);
}
