//! The CloudEvents of an Event Streams delivery, typed: the envelope, and the data of the
//! three participant events (`com.twilio.conversations.participant.added`, `.updated`,
//! `.removed`); any other event's data is kept as raw JSON.
//!
//! Read leniently, as Twilio's own published examples require: `datacontenttype` is loose
//! text (Twilio's example holds a timestamp there), `time` may be absent, the binding's
//! `Type` is upper case (`SMS`), `ProjectedAddress` may be a bracketed list
//! (`[whatsapp:+12345678901]`), and the example's `AccountSid` and `RoleSid` are not valid
//! SIDs. Only the conversation and participant SIDs are required: without them the event
//! says nothing usable about a participant, and its data is kept raw with the reason
//! ([`EventData::Unreadable`]); any other field that cannot be typed stays in
//! [`ParticipantData::extra`] as sent, named in [`ParticipantData::unread`].

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::sid::{AccountSid, ConversationSid, InvalidSid, ParticipantSid, RoleSid};

/// The `type` of a participant added event.
pub const PARTICIPANT_ADDED: &str = "com.twilio.conversations.participant.added";
/// The `type` of a participant updated event.
pub const PARTICIPANT_UPDATED: &str = "com.twilio.conversations.participant.updated";
/// The `type` of a participant removed event.
pub const PARTICIPANT_REMOVED: &str = "com.twilio.conversations.participant.removed";

/// One CloudEvent (1.0) of a batch.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CloudEvent {
    /// `id`: the event's identity; a repeated delivery carries the same one.
    pub id: String,
    /// `type`, e.g. `com.twilio.conversations.participant.added`.
    pub event_type: String,
    /// `source`, as sent.
    pub source: Option<String>,
    /// `specversion`, as sent (`1.0`).
    pub specversion: Option<String>,
    /// `time`, when present and RFC 3339 (otherwise `None`; the text stays in `extensions`).
    pub time: Option<DateTime<Utc>>,
    /// `dataschema`, e.g. `https://events-schemas.twilio.com/Conversations.ParticipantAdded/2`.
    pub dataschema: Option<String>,
    /// `datacontenttype`, as sent: loose text (Twilio's published example holds a timestamp).
    pub datacontenttype: Option<String>,
    /// `data`: typed for the participant events, raw otherwise.
    pub data: EventData,
    /// Every other attribute (CloudEvents extensions), and a `time` that is not RFC 3339.
    pub extensions: Map<String, Value>,
}

/// An event's `data`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EventData {
    /// A participant added, updated or removed.
    Participant(Box<ParticipantData>),
    /// A participant event whose data lacks a field it cannot do without (the conversation
    /// or participant SID, or is not an object): kept as sent, with the reason.
    Unreadable {
        /// Why it could not be typed, naming the field.
        reason: String,
        /// The data as sent (`null` when absent).
        raw: Value,
    },
    /// Another event type: the data as sent (`null` when absent).
    Other(Value),
}

/// Which of the three participant events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParticipantEventKind {
    /// `com.twilio.conversations.participant.added`.
    Added,
    /// `com.twilio.conversations.participant.updated`.
    Updated,
    /// `com.twilio.conversations.participant.removed`.
    Removed,
}

impl ParticipantEventKind {
    /// The kind of event `type`, for the three participant events.
    pub fn from_type(event_type: &str) -> Option<Self> {
        match event_type {
            PARTICIPANT_ADDED => Some(Self::Added),
            PARTICIPANT_UPDATED => Some(Self::Updated),
            PARTICIPANT_REMOVED => Some(Self::Removed),
            _ => None,
        }
    }

    /// The event's `type`.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Added => PARTICIPANT_ADDED,
            Self::Updated => PARTICIPANT_UPDATED,
            Self::Removed => PARTICIPANT_REMOVED,
        }
    }
}

/// The data of a participant event (schema versions 1 and 2 carry the same fields).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ParticipantData {
    /// Which event this is.
    pub kind: ParticipantEventKind,
    /// `ConversationSid`.
    pub conversation_sid: ConversationSid,
    /// `ParticipantSid`.
    pub participant_sid: ParticipantSid,
    /// `AccountSid`, when a valid SID.
    pub account_sid: Option<AccountSid>,
    /// `Identity`: the participant's chat identity (absent or empty for SMS and WhatsApp).
    pub identity: Option<String>,
    /// `RoleSid`, when a valid SID.
    pub role_sid: Option<RoleSid>,
    /// `Attributes`: an object in Event Streams (JSON text in Conversations webhooks).
    pub attributes: Option<Value>,
    /// `MessagingBinding`, when sent.
    pub messaging_binding: Option<EventBinding>,
    /// `DateCreated`.
    pub date_created: Option<DateTime<Utc>>,
    /// `DateUpdated`.
    pub date_updated: Option<DateTime<Utc>>,
    /// Every field not typed above, as sent: unknown ones, and known ones that could not be
    /// typed (see `unread`).
    pub extra: Map<String, Value>,
    /// For each known field left in `extra`, why (e.g. `AccountSid: … is 33 characters`).
    pub unread: Vec<String>,
}

/// A participant's `MessagingBinding` as Event Streams sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventBinding {
    /// `Type` as sent (`SMS`, `WHATSAPP`, …; Twilio's example is upper case).
    pub binding_type: Option<String>,
    /// `Address`: the participant's address.
    pub address: Option<String>,
    /// `ProxyAddress`: the Twilio address it talks to.
    pub proxy_address: Option<String>,
    /// `ProjectedAddress`, read as a list: a bracketed list (`[a, b]`, as Twilio's example
    /// sends it), a JSON array or one address.
    pub projected_addresses: Vec<String>,
    /// `Level`.
    pub level: Option<String>,
    /// `Name`.
    pub name: Option<String>,
    /// Any other field, as sent.
    pub extra: Map<String, Value>,
}

impl CloudEvent {
    /// Reads one element of a batch: an object with a text `id` and `type`.
    ///
    /// # Errors
    /// Why the element is not a CloudEvent.
    pub(super) fn from_value(value: Value) -> Result<Self, String> {
        let Value::Object(mut fields) = value else {
            return Err("is not a JSON object".to_owned());
        };
        let mut text = |name: &str| match fields.remove(name) {
            Some(Value::String(text)) => Some(text),
            Some(other) => {
                // Not text: kept where the caller can see it.
                fields.insert(name.to_owned(), other);
                None
            }
            None => None,
        };
        let id = text("id").filter(|id| !id.is_empty());
        let event_type = text("type").filter(|t| !t.is_empty());
        let (Some(id), Some(event_type)) = (id, event_type) else {
            return Err("has no text `id` and `type`".to_owned());
        };
        let source = text("source");
        let specversion = text("specversion");
        let dataschema = text("dataschema");
        let datacontenttype = text("datacontenttype");
        let time_text = text("time");
        let time = time_text.as_deref().and_then(parse_date);
        if let (Some(raw), None) = (time_text, time) {
            fields.insert("time".to_owned(), Value::String(raw));
        }
        let raw = fields.remove("data").unwrap_or(Value::Null);
        let data = match ParticipantEventKind::from_type(&event_type) {
            Some(kind) => match ParticipantData::from_value(kind, raw) {
                Ok(data) => EventData::Participant(Box::new(data)),
                Err((reason, raw)) => EventData::Unreadable { reason, raw },
            },
            None => EventData::Other(raw),
        };
        Ok(Self {
            id,
            event_type,
            source,
            specversion,
            time,
            dataschema,
            datacontenttype,
            data,
            extensions: fields,
        })
    }

    /// The schema version, from `dataschema`'s last path segment (`…/ParticipantAdded/2`).
    pub fn schema_version(&self) -> Option<u32> {
        self.dataschema.as_deref()?.rsplit('/').next()?.parse().ok()
    }

    /// The participant data, for a participant event that could be read.
    pub fn participant(&self) -> Option<&ParticipantData> {
        match &self.data {
            EventData::Participant(data) => Some(data),
            _ => None,
        }
    }
}

impl ParticipantData {
    /// Types `data`; on failure gives it back with the reason.
    fn from_value(kind: ParticipantEventKind, data: Value) -> Result<Self, (String, Value)> {
        let Value::Object(mut fields) = data else {
            return Err(("the data is not a JSON object".to_owned(), data));
        };
        let required = |fields: &Map<String, Value>, name: &str| match fields.get(name) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(format!("{name} is not text")),
            None => Err(format!("the data has no {name}")),
        };
        let ids = required(&fields, "ConversationSid").and_then(|conversation| {
            let participant = required(&fields, "ParticipantSid")?;
            let conversation = conversation
                .parse::<ConversationSid>()
                .map_err(|e| format!("ConversationSid: {e}"))?;
            let participant = participant
                .parse::<ParticipantSid>()
                .map_err(|e| format!("ParticipantSid: {e}"))?;
            Ok((conversation, participant))
        });
        let (conversation_sid, participant_sid) = match ids {
            Ok(ids) => ids,
            Err(reason) => return Err((reason, Value::Object(fields))),
        };
        fields.remove("ConversationSid");
        fields.remove("ParticipantSid");
        let mut reader = Lenient {
            fields,
            unread: Vec::new(),
        };
        let account_sid = reader.sid("AccountSid");
        let role_sid = reader.sid("RoleSid");
        let identity = reader.text("Identity");
        let date_created = reader.date("DateCreated");
        let date_updated = reader.date("DateUpdated");
        let attributes = reader.fields.remove("Attributes").filter(|v| !v.is_null());
        let messaging_binding = reader.binding();
        Ok(Self {
            kind,
            conversation_sid,
            participant_sid,
            account_sid,
            identity,
            role_sid,
            attributes,
            messaging_binding,
            date_created,
            date_updated,
            extra: reader.fields,
            unread: reader.unread,
        })
    }

    /// The participant's address: the binding's `Address`, else its first projected one.
    pub fn address(&self) -> Option<&str> {
        let binding = self.messaging_binding.as_ref()?;
        binding
            .address
            .as_deref()
            .or(binding.projected_addresses.first().map(String::as_str))
    }
}

/// Takes typed fields out of an object; a field that cannot be typed stays in it, named in
/// `unread`.
struct Lenient {
    fields: Map<String, Value>,
    unread: Vec<String>,
}

impl Lenient {
    /// A non-empty text field.
    fn text(&mut self, name: &str) -> Option<String> {
        match self.fields.get(name) {
            Some(Value::String(text)) => {
                let text = text.clone();
                self.fields.remove(name);
                Some(text).filter(|t| !t.is_empty())
            }
            Some(Value::Null) => {
                self.fields.remove(name);
                None
            }
            Some(_) => {
                self.unread.push(format!("{name} is not text"));
                None
            }
            None => None,
        }
    }

    fn sid<T: std::str::FromStr<Err = InvalidSid>>(&mut self, name: &str) -> Option<T> {
        let text = self.text(name)?;
        match text.parse() {
            Ok(sid) => Some(sid),
            Err(e) => {
                self.unread.push(format!("{name}: {e}"));
                self.fields.insert(name.to_owned(), Value::String(text));
                None
            }
        }
    }

    fn date(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let text = self.text(name)?;
        let date = parse_date(&text);
        if date.is_none() {
            let shown: String = text.chars().take(40).collect();
            self.unread
                .push(format!("{name}: {shown:?} is not an RFC 3339 date"));
            self.fields.insert(name.to_owned(), Value::String(text));
        }
        date
    }

    fn binding(&mut self) -> Option<EventBinding> {
        let Value::Object(fields) = self.fields.remove("MessagingBinding")? else {
            self.unread
                .push("MessagingBinding is not an object".to_owned());
            return None;
        };
        let mut inner = Lenient {
            fields,
            unread: Vec::new(),
        };
        let projected_addresses = match inner.fields.remove("ProjectedAddress") {
            Some(Value::String(text)) => bracketed_list(&text),
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .filter(|item| !item.is_empty())
                .collect(),
            Some(Value::Null) | None => Vec::new(),
            Some(other) => {
                inner
                    .unread
                    .push("MessagingBinding.ProjectedAddress is not text".to_owned());
                inner.fields.insert("ProjectedAddress".to_owned(), other);
                Vec::new()
            }
        };
        let binding = EventBinding {
            binding_type: inner.text("Type"),
            address: inner.text("Address"),
            proxy_address: inner.text("ProxyAddress"),
            projected_addresses,
            level: inner.text("Level"),
            name: inner.text("Name"),
            extra: inner.fields,
        };
        self.unread.extend(
            inner
                .unread
                .into_iter()
                .map(|why| format!("MessagingBinding.{why}")),
        );
        Some(binding)
    }
}

/// `[a, b]` (Twilio's published shape), or a single address: the addresses, trimmed.
fn bracketed_list(text: &str) -> Vec<String> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(trimmed);
    inner
        .split(',')
        .map(|item| item.trim().trim_matches('"').trim())
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An RFC 3339 date in UTC.
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projected_addresses_read_as_a_list() {
        assert_eq!(
            bracketed_list("[whatsapp:+12345678901]"),
            ["whatsapp:+12345678901"]
        );
        assert_eq!(bracketed_list("[a, \"b\" ,]"), ["a", "b"]);
        assert_eq!(bracketed_list("info@example.com"), ["info@example.com"]);
        assert!(bracketed_list("[]").is_empty());
        assert!(bracketed_list("").is_empty());
    }
}
