//! The fake's answer to `GET /v1/Services/{ChatServiceSid}/ParticipantConversations`: the
//! conversations of a service that hold a participant with this `Identity` or this
//! `messaging_binding.address` (`Address`), one item each, paged like the participant list
//! (`PageSize` 1..=50, default 50; `PageToken` URLs; `meta.key` `"conversations"`).
//!
//! The fake holds participants, not conversations' own properties: an item's friendly name,
//! creator and dates are `null`, its attributes `"{}"`, its state `active`, its timers `{}`;
//! `conversation_unique_name` is the name a conversation was added under, when that is not
//! its SID; `participant_user_sid` is derived from the identity. Items are in conversation
//! SID order.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use serde_json::{json, Value};

use super::{error, json_response, resource::Conversation, RecordedRequest, State};
use crate::sid::ConversationSid;

/// The largest (and default) `PageSize` here: 50, not the participant list's 100.
const MAX_PAGE_SIZE: usize = 50;

/// The service SID (still percent-encoded, as the path is) of
/// `/v1/Services/{service}/ParticipantConversations`.
pub(super) fn parse_path(path: &str) -> Option<&str> {
    let service = path
        .strip_prefix("/v1/Services/")?
        .strip_suffix("/ParticipantConversations")?;
    (!service.is_empty() && !service.contains('/')).then_some(service)
}

/// Whom to look for.
enum Wanted<'a> {
    Identity(&'a str),
    Address(&'a str),
}

impl Wanted<'_> {
    /// The query parameter as it appears first in Twilio's page URLs.
    fn query(&self) -> String {
        let (key, value) = match self {
            Self::Identity(identity) => ("Identity", identity),
            Self::Address(address) => ("Address", address),
        };
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(key, value)
            .finish()
    }

    fn holds(&self, participant: &Value) -> bool {
        match self {
            Self::Identity(identity) => participant["identity"] == *identity,
            Self::Address(address) => participant["messaging_binding"]["address"] == *address,
        }
    }
}

impl State {
    /// GET: one page of the conversations of `service` holding the participant asked for.
    pub(super) fn participant_conversations(
        &self,
        service: &str,
        request: &RecordedRequest,
    ) -> Response<Full<Bytes>> {
        let service = percent_encoding::percent_decode_str(service).decode_utf8_lossy();
        let wanted = match (
            request.query_value("Identity"),
            request.query_value("Address"),
        ) {
            (Some(identity), None) => Wanted::Identity(identity),
            (None, Some(address)) => Wanted::Address(address),
            (None, None) => {
                return error(400, None, "Either Identity or Address must be specified")
            }
            (Some(_), Some(_)) => {
                return error(
                    400,
                    None,
                    "Only one of Identity and Address may be specified",
                )
            }
        };
        let size = match request.query_value("PageSize").map(str::parse::<usize>) {
            None => MAX_PAGE_SIZE,
            Some(Ok(size @ 1..=MAX_PAGE_SIZE)) => size,
            Some(_) => return error(400, None, "PageSize must be an integer from 1 to 50"),
        };
        let Ok(page) = request.query_value("Page").map_or(Ok(0), str::parse::<u64>) else {
            return error(400, None, "Page must be a non-negative integer");
        };
        let items = self.items(&service, &wanted);
        let start = match request.query_value("PageToken") {
            Some(token) => match super::parse_token(token) {
                Some(start) if start <= items.len() => start,
                _ => return error(400, Some(21481), "Invalid PageToken"),
            },
            None if page > 0 => {
                return error(400, Some(70002), "Paged requests must include a PageToken")
            }
            None => 0,
        };
        let first = format!("{}{}?{}", self.base_url, request.path, wanted.query());
        json_response(200, render(&first, &items, size, start, page))
    }

    /// One item per participant of `service` that is the one asked for, in conversation
    /// SID then participant SID order (an address in one conversation twice, with two
    /// proxy addresses, is two items).
    fn items(&self, service: &str, wanted: &Wanted<'_>) -> Vec<Value> {
        let conversations: Vec<(String, Arc<Mutex<Conversation>>)> = self
            .conversations
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|((held_by, _), _)| held_by == service)
            .map(|((_, name), conversation)| (name.clone(), conversation.clone()))
            .collect();
        let mut items: Vec<Value> = conversations
            .into_iter()
            .flat_map(|(name, conversation)| {
                let conversation = conversation.lock().unwrap_or_else(PoisonError::into_inner);
                conversation
                    .all_where(|p| wanted.holds(p))
                    .iter()
                    .map(|participant| self.item(service, &name, conversation.sid(), participant))
                    .collect::<Vec<_>>()
            })
            .collect();
        items.sort_by(|a, b| {
            let key = |item: &Value| {
                (
                    item["conversation_sid"].as_str().map(str::to_owned),
                    item["participant_sid"].as_str().map(str::to_owned),
                )
            };
            key(a).cmp(&key(b))
        });
        items
    }

    /// The item for `participant` of the conversation added as `name`.
    fn item(&self, service: &str, name: &str, sid: &ConversationSid, participant: &Value) -> Value {
        let conversation_url = format!(
            "{}/v1/Services/{service}/Conversations/{sid}",
            self.base_url
        );
        let identity = participant["identity"].as_str();
        json!({
            "account_sid": participant["account_sid"],
            "chat_service_sid": service,
            "conversation_sid": sid.as_str(),
            "participant_sid": participant["sid"],
            "conversation_friendly_name": null,
            "conversation_state": "active",
            "conversation_timers": {},
            "conversation_attributes": "{}",
            "conversation_date_created": null,
            "conversation_date_updated": null,
            "conversation_created_by": null,
            "conversation_unique_name": (name != sid.as_str()).then_some(name),
            "participant_user_sid": identity.map(|i| format!("US{}", super::resource::derived_digits(i))),
            "participant_identity": identity,
            "participant_messaging_binding": participant["messaging_binding"],
            "links": {
                "participant": format!("{conversation_url}/Participants/{}", participant["sid"].as_str().unwrap_or_default()),
                "conversation": conversation_url,
            },
        })
    }
}

/// The body of the page of `size` items from `start`, its URLs built on `first` (the path
/// and the `Identity`/`Address` pair).
fn render(first: &str, items: &[Value], size: usize, start: usize, page: u64) -> Bytes {
    let end = (start + size).min(items.len());
    let url = |page: u64, token: Option<String>| {
        let mut url = format!("{first}&PageSize={size}&Page={page}");
        if let Some(token) = token {
            url.push_str("&PageToken=");
            url.push_str(&token);
        }
        url
    };
    let next = (end < items.len()).then(|| url(page + 1, Some(format!("PT{end:08x}"))));
    let previous = (page > 0).then(|| {
        url(
            page - 1,
            Some(format!("PB{:08x}", start.saturating_sub(size))),
        )
    });
    let body = json!({
        "conversations": items[start..end],
        "meta": {
            "page": page,
            "page_size": size,
            "first_page_url": url(0, None),
            "previous_page_url": previous,
            "url": url(page, (page > 0).then(|| format!("PT{start:08x}"))),
            "next_page_url": next,
            "key": "conversations",
        },
    });
    Bytes::from(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_service_level_path_matches() {
        assert_eq!(
            parse_path("/v1/Services/IS1/ParticipantConversations"),
            Some("IS1")
        );
        assert_eq!(parse_path("/v1/Services//ParticipantConversations"), None);
        assert_eq!(
            parse_path("/v1/Services/IS1/x/ParticipantConversations"),
            None
        );
        assert_eq!(parse_path("/v1/ParticipantConversations"), None);
    }
}
