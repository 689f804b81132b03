//! Property tests: SID parsing agrees with the spec's pattern, no input makes the page
//! decoder panic, and any sequence of server pages is walked to an end or an error within a
//! bound, never yielding a page's participants twice. This is the bounded fuzz run CI does (set
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

/// A page's content: `len` participants of its own (numbered from `node * 4`), the first
/// sent twice on the page when `twice` (as Twilio's example page does).
#[derive(Clone, Debug)]
struct Content {
    len: usize,
    twice: bool,
}

impl Content {
    fn participants(&self, node: usize) -> Vec<Value> {
        let mut items: Vec<Value> = (node * 4..node * 4 + self.len)
            .map(common::participant)
            .collect();
        if self.twice && self.len > 0 {
            items.push(common::participant(node * 4));
        }
        items
    }
}

/// How a page links to the next: honest (a token and page number of the node it names),
/// fresh (a new token and a later page number every time, the hardest loop to notice),
/// a page number alone, a token alone, or no link (the last page).
#[derive(Clone, Copy, Debug)]
enum Link {
    Honest,
    Fresh,
    PageOnly,
    TokenOnly,
    None,
}

fn link() -> impl Strategy<Value = Link> {
    prop_oneof![
        3 => Just(Link::Honest),
        3 => Just(Link::Fresh),
        1 => Just(Link::PageOnly),
        1 => Just(Link::TokenOnly),
        1 => Just(Link::None),
    ]
}

/// The page a server answers at `step`: `node`'s content, linking as `link` says to
/// `target` (the node answered next).
fn server_page(
    contents: &[Content],
    step: usize,
    node: usize,
    link: Link,
    target: usize,
) -> String {
    let host = "https://conversations.twilio.com";
    let path = common::PATH;
    let next = match link {
        Link::Honest => Some(common::next_url(
            host,
            3,
            target as u64,
            &format!("PT{target}"),
        )),
        Link::Fresh => Some(common::next_url(
            host,
            3,
            step as u64 + 1,
            &format!("PTstep{step}"),
        )),
        Link::PageOnly => Some(format!("{host}{path}?Page={target}")),
        Link::TokenOnly => Some(format!("{host}{path}?PageToken=PT{target}")),
        Link::None => None,
    };
    let mut body = common::page(0..0, step as u64, 3, next);
    body["participants"] = Value::Array(contents[node].participants(node));
    body.to_string()
}

proptest! {
    #![proptest_config(common::cases(64))]

    /// A server made of a few distinct pages, answering in any order (links back, loops,
    /// fresh tokens for a page already sent, chains of empty pages; the last answer ever
    /// after): the walk ends or stops with `Error::Pagination` within the answers plus the
    /// empty-page bound, never yields a page's participants twice (inside a page they come
    /// as sent, a repeat included), and what it yields is the answers' pages in order.
    #[test]
    fn any_sequence_of_pages_ends_or_errors_without_repeating_a_page(
        contents in prop::collection::vec(
            (0usize..4, any::<bool>()).prop_map(|(len, twice)| Content { len, twice }),
            1..5,
        ),
        steps in prop::collection::vec((any::<prop::sample::Index>(), link()), 1..10),
    ) {
        let nodes: Vec<usize> = steps.iter().map(|(node, _)| node.index(contents.len())).collect();
        let script: Vec<common::Scripted> = steps
            .iter()
            .enumerate()
            .map(|(step, (_, link))| {
                let target = nodes.get(step + 1).copied().unwrap_or(nodes[step]);
                let body = server_page(&contents, step, nodes[step], *link, target);
                common::Scripted::Answer(200, body)
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
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
        let bound = steps.len() + MAX_EMPTY_PAGES as usize + 1;
        prop_assert!(requests <= bound, "{requests} requests for {} answers", steps.len());
        // Nobody twice across pages: a SID comes at most as often as its one page holds it.
        for (node, content) in contents.iter().enumerate() {
            let page: Vec<String> = content
                .participants(node)
                .iter()
                .map(|p| p["sid"].as_str().unwrap().to_owned())
                .collect();
            for sid in &page {
                let on_page = page.iter().filter(|s| *s == sid).count();
                let got = yielded.iter().filter(|s| *s == sid).count();
                prop_assert!(got <= on_page, "{sid} yielded {got} times: {yielded:?}");
            }
        }
    }
}
