//! The fake's state of one conversation and Twilio's rules for changing it.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicU64, Ordering},
};

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::generate::FAKE_ACCOUNT_SID;
use crate::{
    models::Participant,
    sid::{ConversationSid, RoleSid},
};

/// The role a participant gets when the create names none.
const DEFAULT_ROLE: &str = "RL6f3bd2c1aa0000000000000000000001";

/// Why a request is refused.
pub(super) enum Refusal {
    /// 404 with 20404.
    NotFound,
    /// Any other error answer.
    Error {
        status: u16,
        code: Option<i64>,
        message: String,
    },
}

/// A participant's JSON (with status) for 200/201, `None` for 204, or a refusal.
pub(super) type Answer = Result<Option<(u16, String)>, Refusal>;

fn bad_request(message: impl Into<String>) -> Refusal {
    Refusal::Error {
        status: 400,
        code: None,
        message: message.into(),
    }
}

/// 32 hexadecimal digits derived from `name` (FNV-1a and its length), for made-up SIDs.
pub(super) fn derived_digits(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{hash:016x}{:016x}", name.len())
}

/// A `CH…` SID for a conversation the caller named by its unique name.
pub(super) fn derived_conversation_sid(name: &str) -> ConversationSid {
    ConversationSid::new(format!("CH{}", derived_digits(name))).expect("32 hex digits after CH")
}

/// One conversation's participants, in list order.
pub(super) struct Conversation {
    /// Each participant's JSON, encoded once per change.
    items: Vec<Box<str>>,
    /// The conversation's `CH…` SID, for participants created here.
    sid: ConversationSid,
    /// Rendered page bodies by (page size, first item, page index); cleared on every change.
    pages: HashMap<(usize, usize, u64), Bytes>,
}

impl Conversation {
    pub(super) fn new(name: &str, participants: impl IntoIterator<Item = Participant>) -> Self {
        let items: Vec<Box<str>> = participants
            .into_iter()
            .map(|p| {
                serde_json::to_string(&p)
                    .unwrap_or_default()
                    .into_boxed_str()
            })
            .collect();
        let sid = name
            .parse()
            .unwrap_or_else(|_| derived_conversation_sid(name));
        Self {
            items,
            sid,
            pages: HashMap::new(),
        }
    }

    /// The conversation's `CH…` SID.
    pub(super) fn sid(&self) -> &ConversationSid {
        &self.sid
    }

    /// The JSON of every participant for which `wanted` holds, in list order (an address
    /// can be here twice, with two proxy addresses).
    pub(super) fn all_where(&self, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.items
            .iter()
            .filter_map(|item| serde_json::from_str::<Value>(item).ok())
            .filter(|participant| wanted(participant))
            .collect()
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn decoded(&self) -> Vec<Participant> {
        self.items
            .iter()
            .filter_map(|item| serde_json::from_str(item).ok())
            .collect()
    }

    /// The position and JSON of the participant whose `sid` (or, with `by_identity`, whose
    /// `identity`) is `id`.
    fn find(&self, id: &str, by_identity: bool) -> Option<(usize, Value)> {
        self.items.iter().enumerate().find_map(|(at, item)| {
            let value: Value = serde_json::from_str(item).ok()?;
            let hit = value["sid"] == id || (by_identity && value["identity"] == id);
            hit.then_some((at, value))
        })
    }

    fn store(&mut self, at: Option<usize>, value: &Value) -> String {
        let text = value.to_string();
        match at {
            Some(at) => self.items[at] = text.clone().into_boxed_str(),
            None => self.items.push(text.clone().into_boxed_str()),
        }
        self.pages.clear();
        text
    }

    /// Create: 201, or 400 without identity or address, 409 (50433/50416) for a duplicate.
    /// `created` counts the participants the whole fake has created: each new SID is
    /// numbered by it, so SIDs are unique across conversations, as Twilio's are.
    pub(super) fn create(
        &mut self,
        service: &str,
        collection_url: &str,
        form: &[(String, String)],
        created: &AtomicU64,
    ) -> Answer {
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let identity = field("Identity");
        let address = field("MessagingBinding.Address");
        let proxy = field("MessagingBinding.ProxyAddress");
        let projected = field("MessagingBinding.ProjectedAddress");
        if identity.is_none() && address.is_none() && projected.is_none() {
            return Err(bad_request(
                "Either Identity or MessagingBinding.Address must be specified",
            ));
        }
        let attributes = checked_attributes(field("Attributes"))?.unwrap_or_else(|| "{}".into());
        let role = checked_role(field("RoleSid"))?.unwrap_or(DEFAULT_ROLE);
        for item in &self.items {
            let Ok(existing) = serde_json::from_str::<Value>(item) else {
                continue;
            };
            if identity.is_some() && existing["identity"].as_str() == identity {
                return Err(Refusal::Error {
                    status: 409,
                    code: Some(50433),
                    message: "Participant already exists".into(),
                });
            }
            let binding = &existing["messaging_binding"];
            if address.is_some()
                && binding["address"].as_str() == address
                && binding["proxy_address"].as_str() == proxy
            {
                return Err(Refusal::Error {
                    status: 409,
                    code: Some(50416),
                    message: format!(
                        "A binding for this participant and proxy address already exists in Conversation {}",
                        self.sid
                    ),
                });
            }
        }
        let number = created.fetch_add(1, Ordering::Relaxed) + 1;
        let sid = format!("MBfa4e{number:028x}");
        let now = now();
        let binding = if address.is_some() || projected.is_some() {
            let kind = match address {
                Some(a) if a.starts_with("whatsapp:") => "whatsapp",
                _ => "sms",
            };
            let mut binding = Map::new();
            binding.insert("type".into(), kind.into());
            for (key, value) in [
                ("address", address),
                ("proxy_address", proxy),
                ("projected_address", projected),
            ] {
                if let Some(value) = value {
                    binding.insert(key.into(), value.into());
                }
            }
            Value::Object(binding)
        } else {
            Value::Null
        };
        let participant = json!({
            "account_sid": FAKE_ACCOUNT_SID,
            "chat_service_sid": service,
            "conversation_sid": self.sid.as_str(),
            "sid": sid,
            "identity": identity,
            "attributes": attributes,
            "messaging_binding": binding,
            "role_sid": role,
            "date_created": field("DateCreated").unwrap_or(&now),
            "date_updated": field("DateUpdated").unwrap_or(&now),
            "url": format!("{collection_url}/{sid}"),
            "last_read_message_index": null,
            "last_read_timestamp": null,
        });
        Ok(Some((201, self.store(None, &participant))))
    }

    /// Fetch by `MB…` SID or identity.
    pub(super) fn fetch(&self, id: &str) -> Answer {
        let (_, participant) = self.find(id, true).ok_or(Refusal::NotFound)?;
        Ok(Some((200, participant.to_string())))
    }

    /// Update: only the fields sent change; `null` removes a binding field; `date_updated`
    /// moves unless `DateUpdated` is sent.
    pub(super) fn update(&mut self, id: &str, form: &[(String, String)]) -> Answer {
        let (at, mut participant) = self.find(id, false).ok_or(Refusal::NotFound)?;
        let mut date_updated = now();
        for (key, value) in form {
            match key.as_str() {
                "Identity" => participant["identity"] = value.as_str().into(),
                "Attributes" => participant["attributes"] = checked_attributes(Some(value))?.into(),
                "RoleSid" => participant["role_sid"] = checked_role(Some(value))?.into(),
                "DateCreated" => participant["date_created"] = value.as_str().into(),
                "DateUpdated" => date_updated.clone_from(value),
                "LastReadMessageIndex" => {
                    let index: i64 = value
                        .parse()
                        .map_err(|_| bad_request("LastReadMessageIndex must be an integer"))?;
                    participant["last_read_message_index"] = index.into();
                }
                "LastReadTimestamp" => participant["last_read_timestamp"] = value.as_str().into(),
                "MessagingBinding.ProxyAddress" | "MessagingBinding.ProjectedAddress" => {
                    let field = if key.ends_with("ProxyAddress") {
                        "proxy_address"
                    } else {
                        "projected_address"
                    };
                    let Some(binding) = participant["messaging_binding"].as_object_mut() else {
                        return Err(bad_request(format!(
                            "{key} needs a participant with a messaging binding"
                        )));
                    };
                    if value == "null" {
                        binding.remove(field);
                    } else {
                        binding.insert(field.into(), value.as_str().into());
                    }
                }
                other => return Err(bad_request(format!("Unknown parameter {other}"))),
            }
        }
        participant["date_updated"] = date_updated.into();
        Ok(Some((200, self.store(Some(at), &participant))))
    }

    /// Delete: 204, then 404.
    pub(super) fn delete(&mut self, id: &str) -> Answer {
        let (at, _) = self.find(id, false).ok_or(Refusal::NotFound)?;
        self.items.remove(at);
        self.pages.clear();
        Ok(None)
    }

    /// The body of the page of `size` items from `start`, rendered once and then cached.
    pub(super) fn page(
        &mut self,
        base: &str,
        path: &str,
        size: usize,
        start: usize,
        page: u64,
    ) -> Bytes {
        let key = (size, start, page);
        if let Some(body) = self.pages.get(&key) {
            return body.clone();
        }
        let end = (start + size).min(self.items.len());
        let url = |page: u64, token: Option<String>| {
            let mut url = format!("{base}{path}?PageSize={size}&Page={page}");
            if let Some(token) = token {
                url.push_str("&PageToken=");
                url.push_str(&token);
            }
            Value::String(url).to_string()
        };
        let this_token = (page > 0).then(|| format!("PT{start:08x}"));
        let next = if end < self.items.len() {
            url(page + 1, Some(format!("PT{end:08x}")))
        } else {
            "null".into()
        };
        let previous = if page > 0 {
            url(
                page - 1,
                Some(format!("PB{:08x}", start.saturating_sub(size))),
            )
        } else {
            "null".into()
        };
        let mut body = format!(
            "{{\"meta\":{{\"key\":\"participants\",\"url\":{},\"page\":{page},\"page_size\":{size},\
             \"first_page_url\":{},\"next_page_url\":{next},\"previous_page_url\":{previous}}},\
             \"participants\":[",
            url(page, this_token),
            url(0, None),
        );
        for (i, item) in self.items[start..end].iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(item);
        }
        body.push_str("]}");
        let body = Bytes::from(body);
        self.pages.insert(key, body.clone());
        body
    }
}

/// Now, as Twilio writes dates.
fn now() -> String {
    DateTime::<Utc>::from(std::time::SystemTime::now()).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `Attributes` must hold JSON text.
fn checked_attributes(value: Option<&str>) -> Result<Option<String>, Refusal> {
    match value {
        Some(text) if serde_json::from_str::<Value>(text).is_err() => {
            Err(bad_request("Attributes must be valid JSON"))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// `RoleSid` must be an `RL…` SID.
fn checked_role(value: Option<&str>) -> Result<Option<&str>, Refusal> {
    match value {
        Some(role) if role.parse::<RoleSid>().is_err() => Err(bad_request(format!(
            "RoleSid {role:?} is not a valid Role SID"
        ))),
        other => Ok(other),
    }
}
