//! Property tests: SID parsing agrees with the spec's pattern, no input makes the page
//! decoder panic, and any sequence of server pages is walked to an end or an error within a
//! bound, never yielding a participant twice. This is the bounded fuzz run CI does (set
//! `FUZZ_CASES` for a longer one).

mod common;

use proptest::prelude::*;
use serde_json::Value;
use twilio_conversations::{models::decode_page, Error, ServiceSid, MAX_EMPTY_PAGES};

/// `^IS[0-9a-fA-F]{32}$`, written independently of `src/sid.rs`.
fn matches_pattern(s: &str) -> bool {
    // 32 hexadecimal digits are exactly one u128; from_str_radix also takes a leading '+'.
    s.len() == 34
        && s.starts_with("IS")
        && !s[2..].starts_with('+')
        && u128::from_str_radix(&s[2..], 16).is_ok()
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid page with 3 participants, for mutation.
fn valid_page() -> Value {
    common::page(
        0..3,
        0,
        3,
        Some("https://conversations.twilio.com/x?PageToken=PT3&Page=1".into()),
    )
}

const FIELDS: [&str; 13] = [
    "sid",
    "url",
    "identity",
    "role_sid",
    "attributes",
    "account_sid",
    "date_created",
    "date_updated",
    "chat_service_sid",
    "conversation_sid",
    "messaging_binding",
    "last_read_timestamp",
    "last_read_message_index",
];

proptest! {
    #![proptest_config(common::cases(2_000))]

    #[test]
    fn every_matching_string_parses(s in "IS[0-9a-fA-F]{32}") {
        let sid: ServiceSid = s.parse().unwrap();
        prop_assert_eq!(sid.as_str(), s.as_str());
    }

    #[test]
    fn nothing_else_parses(s in "\\PC{0,40}") {
        prop_assert_eq!(s.parse::<ServiceSid>().is_ok(), matches_pattern(&s));
    }

    #[test]
    fn one_changed_character_is_judged_like_the_pattern(
        s in "IS[0-9a-fA-F]{32}",
        at in 0usize..34,
        c in any::<char>(),
    ) {
        let mut chars: Vec<char> = s.chars().collect();
        chars[at] = c;
        let mutated: String = chars.into_iter().collect();
        prop_assert_eq!(mutated.parse::<ServiceSid>().is_ok(), matches_pattern(&mutated));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_page(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        let result = decode_page(value.to_string().as_bytes());
        let is_decode_error = matches!(result, Err(Error::Decode { .. }));
        prop_assert!(is_decode_error);
    }

    #[test]
    fn a_mutated_field_is_decoded_or_named(
        index in 0usize..3,
        field in prop::sample::select(&FIELDS[..]),
        value in json_value(),
    ) {
        let mut page = valid_page();
        page["participants"][index][field] = value;
        match decode_page(page.to_string().as_bytes()) {
            Ok(decoded) => prop_assert_eq!(decoded.participants.len(), 3),
            Err(Error::Decode { path, .. }) => {
                let prefix = format!("participants[{index}].{field}");
                prop_assert!(path.starts_with(&prefix), "{} does not name {}", path, prefix);
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}

/// A `next_page_url` as a server might send it: a token and a page number, a page number
/// alone, a token alone, or none.
fn next_link() -> impl Strategy<Value = Option<String>> {
    let host = "https://conversations.twilio.com";
    prop_oneof![
        1 => Just(None),
        4 => (0u64..6, 0u64..6).prop_map(move |(page, token)| {
            Some(common::next_url(host, 3, page, &format!("PT{token}")))
        }),
        1 => (0u64..6).prop_map(move |page| Some(format!("{host}{}?Page={page}", common::PATH))),
        1 => (0u64..6).prop_map(move |token| {
            Some(format!("{host}{}?PageToken=PT{token}", common::PATH))
        }),
    ]
}

/// A page as a server might send it: up to four participants out of eight (so pages
/// overlap and repeat), any page number, any link.
fn server_page() -> impl Strategy<Value = String> {
    (prop::collection::vec(0usize..8, 0..4), 0u64..6, next_link()).prop_map(
        |(items, number, next)| {
            let mut body = common::page(0..0, number, 3, next);
            body["participants"] =
                Value::Array(items.into_iter().map(common::participant).collect());
            body.to_string()
        },
    )
}

proptest! {
    #![proptest_config(common::cases(64))]

    /// The server answers request `n` with page `n` (and the last page ever after): the walk
    /// ends or stops with `Error::Pagination` within the pages plus the empty-page bound,
    /// and no SID comes twice.
    #[test]
    fn any_sequence_of_pages_ends_or_errors_within_a_bound(
        pages in prop::collection::vec(server_page(), 1..8),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let script = pages.iter().map(|body| common::Scripted::Answer(200, body.clone())).collect();
        let (yielded, requests, outcome) = runtime.block_on(async {
            let (base, seen) = common::scripted_server(script).await;
            let mut stream = common::client(&base)
                .participants(&common::service(), common::CONVERSATION)
                .stream();
            let mut yielded = Vec::new();
            let outcome = loop {
                match futures_util::TryStreamExt::try_next(&mut stream).await {
                    Ok(Some(participant)) => yielded.push(participant.sid.unwrap().to_string()),
                    Ok(None) => break None,
                    Err(err) => break Some(err),
                }
            };
            let requests = seen.lock().unwrap().len();
            (yielded, requests, outcome)
        });
        if let Some(err) = &outcome {
            prop_assert!(matches!(err, Error::Pagination(_)), "{err:?}");
        }
        let bound = pages.len() + MAX_EMPTY_PAGES as usize + 1;
        prop_assert!(requests <= bound, "{requests} requests for {} pages", pages.len());
        let mut unique = yielded.clone();
        unique.sort();
        unique.dedup();
        prop_assert_eq!(unique.len(), yielded.len(), "{:?}", yielded);
    }
}
