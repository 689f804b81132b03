//! The participant events of a Conversations webhook, typed, and the answer to a pre-event.

use std::{collections::BTreeMap, str::FromStr};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    models::MessagingBinding,
    sid::{AccountSid, ConversationSid, InvalidSid, ParticipantSid, RoleSid, ServiceSid},
};

/// A participant webhook, by its `EventType`. `on…Add`, `on…Update` and `on…Remove` are
/// pre-events (answer with [`PreEventAnswer`]); the `…ed` ones are post-events.
///
/// Serialized (for logs and the tool) with the event's name under `event`, e.g.
/// `{"event":"onParticipantAdded","account_sid":"AC…",…}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event")]
#[non_exhaustive]
pub enum ParticipantEvent {
    /// `onParticipantAdd`: a participant is about to be added (no `participant_sid` yet).
    #[serde(rename = "onParticipantAdd")]
    Add(ParticipantFields),
    /// `onParticipantAdded`: a participant was added.
    #[serde(rename = "onParticipantAdded")]
    Added(ParticipantFields),
    /// `onParticipantUpdate`: a participant is about to change.
    #[serde(rename = "onParticipantUpdate")]
    Update(ParticipantFields),
    /// `onParticipantUpdated`: a participant changed.
    #[serde(rename = "onParticipantUpdated")]
    Updated(ParticipantFields),
    /// `onParticipantRemove`: a participant is about to be removed.
    #[serde(rename = "onParticipantRemove")]
    Remove(ParticipantFields),
    /// `onParticipantRemoved`: a participant was removed.
    #[serde(rename = "onParticipantRemoved")]
    Removed(ParticipantFields),
    /// Another `EventType` (or none): every field kept as sent.
    #[serde(rename = "other")]
    Other(OtherEvent),
}

/// A webhook that is not a participant event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OtherEvent {
    /// The `EventType` field, if there was one.
    pub event_type: Option<String>,
    /// Every field by name (a repeated name keeps its last value).
    pub params: BTreeMap<String, String>,
}

/// Who started the action, Twilio's `Source`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
#[non_exhaustive]
pub enum Source {
    /// `SDK`: a client SDK (then `client_identity` says who).
    Sdk,
    /// `API`: a REST call.
    Api,
    /// Any other value, as sent.
    Other(String),
}

impl Source {
    fn parse(value: &str) -> Self {
        match value {
            "SDK" => Source::Sdk,
            "API" => Source::Api,
            other => Source::Other(other.to_owned()),
        }
    }

    /// The value as Twilio sends it.
    pub fn as_str(&self) -> &str {
        match self {
            Source::Sdk => "SDK",
            Source::Api => "API",
            Source::Other(other) => other,
        }
    }
}

impl From<Source> for String {
    fn from(source: Source) -> String {
        source.as_str().to_owned()
    }
}

/// The fields of a participant event. Which are present depends on the event: every one
/// has `AccountSid`, `ConversationSid` and `Source`; all but `onParticipantAdd` have
/// `ParticipantSid` and `DateCreated`; the update and remove events `DateUpdated`;
/// `onParticipantUpdated` `LastReadMessageIndex`; `onParticipantRemoved` `DateRemoved`.
/// Empty fields (a chat participant's addresses, an SMS participant's identity) read as
/// `None`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ParticipantFields {
    /// `AccountSid`.
    pub account_sid: AccountSid,
    /// `ConversationSid`.
    pub conversation_sid: ConversationSid,
    /// `ChatServiceSid`, when sent (not documented for participant events).
    pub chat_service_sid: Option<ServiceSid>,
    /// `ParticipantSid` (absent before the participant exists).
    pub participant_sid: Option<ParticipantSid>,
    /// `Source`.
    pub source: Source,
    /// `ClientIdentity`: the SDK user who acted (SDK-originated events only).
    pub client_identity: Option<String>,
    /// `Identity`: the participant's chat identity.
    pub identity: Option<String>,
    /// `RoleSid`.
    pub role_sid: Option<RoleSid>,
    /// `Attributes`: JSON text, as sent.
    pub attributes: Option<String>,
    /// The `MessagingBinding.*` fields, when any is set; `type_` as sent (`SMS`,
    /// `WHATSAPP`, `CHAT`).
    pub messaging_binding: Option<MessagingBinding>,
    /// `DateCreated`.
    pub date_created: Option<DateTime<Utc>>,
    /// `DateUpdated`.
    pub date_updated: Option<DateTime<Utc>>,
    /// `DateRemoved`.
    pub date_removed: Option<DateTime<Utc>>,
    /// `LastReadMessageIndex`.
    pub last_read_message_index: Option<i64>,
    /// Any other field (e.g. `RetryCount`, `WebhookSid`), by name; a repeated name keeps
    /// its last value.
    pub extra: BTreeMap<String, String>,
}

/// A participant event with a field that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// A field every participant event carries is absent or empty.
    #[error("the {event} webhook has no {field}")]
    Missing {
        /// The event type.
        event: String,
        /// The field's name, e.g. `ConversationSid`.
        field: &'static str,
    },
    /// A field's value is not of its type.
    #[error("the {event} webhook's {field} is invalid: {problem}")]
    Invalid {
        /// The event type.
        event: String,
        /// The field's name, e.g. `ParticipantSid`.
        field: &'static str,
        /// What is wrong, naming the value (at most 40 characters of it).
        problem: String,
    },
}

impl ParticipantEvent {
    /// Reads a verified webhook's fields (from [`VerifiedRequest::params`](super::VerifiedRequest::params)
    /// or any form): a participant event by its `EventType`, or [`ParticipantEvent::Other`].
    ///
    /// # Errors
    /// [`EventError`] naming the field when a participant event lacks `AccountSid`,
    /// `ConversationSid` or `Source`, or a field is not of its type (a SID of the wrong
    /// kind, a date that is not ISO 8601, an index that is not an integer).
    pub fn from_params(params: &[(String, String)]) -> Result<Self, EventError> {
        let event_type = params
            .iter()
            .rev()
            .find(|(name, _)| name == "EventType")
            .map(|(_, value)| value.as_str());
        let variant: fn(ParticipantFields) -> Self = match event_type {
            Some("onParticipantAdd") => Self::Add,
            Some("onParticipantAdded") => Self::Added,
            Some("onParticipantUpdate") => Self::Update,
            Some("onParticipantUpdated") => Self::Updated,
            Some("onParticipantRemove") => Self::Remove,
            Some("onParticipantRemoved") => Self::Removed,
            other => {
                return Ok(Self::Other(OtherEvent {
                    event_type: other.map(str::to_owned),
                    params: params.iter().cloned().collect(),
                }))
            }
        };
        let event = event_type.unwrap_or_default();
        ParticipantFields::read(event, params).map(variant)
    }

    /// The event's `EventType`, e.g. `onParticipantAdded` (`None` for an `Other` without one).
    pub fn event_type(&self) -> Option<&str> {
        Some(match self {
            Self::Add(_) => "onParticipantAdd",
            Self::Added(_) => "onParticipantAdded",
            Self::Update(_) => "onParticipantUpdate",
            Self::Updated(_) => "onParticipantUpdated",
            Self::Remove(_) => "onParticipantRemove",
            Self::Removed(_) => "onParticipantRemoved",
            Self::Other(other) => return other.event_type.as_deref(),
        })
    }

    /// The participant's fields, for the six participant events.
    pub fn fields(&self) -> Option<&ParticipantFields> {
        match self {
            Self::Add(fields)
            | Self::Added(fields)
            | Self::Update(fields)
            | Self::Updated(fields)
            | Self::Remove(fields)
            | Self::Removed(fields) => Some(fields),
            Self::Other(_) => None,
        }
    }

    /// Whether Twilio waits for the answer before acting (`onParticipantAdd`, `…Update`,
    /// `…Remove`): answer with a [`PreEventAnswer`].
    pub fn is_pre_event(&self) -> bool {
        matches!(self, Self::Add(_) | Self::Update(_) | Self::Remove(_))
    }
}

impl ParticipantFields {
    fn read(event: &str, params: &[(String, String)]) -> Result<Self, EventError> {
        let mut values: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, value) in params {
            values.insert(name, value);
        }
        values.remove("EventType");
        // Each known field is taken out of `values`; what remains is `extra`.
        let mut reader = Reader { event, values };
        let account_sid = reader.required_sid("AccountSid")?;
        let conversation_sid = reader.required_sid("ConversationSid")?;
        let source = Source::parse(reader.required("Source")?);
        let binding = MessagingBinding {
            address: reader.text("MessagingBinding.Address"),
            projected_address: reader.text("MessagingBinding.ProjectedAddress"),
            proxy_address: reader.text("MessagingBinding.ProxyAddress"),
            type_: reader.text("MessagingBinding.Type"),
            extra: serde_json::Map::new(),
        };
        let last_read_message_index = match reader.take("LastReadMessageIndex") {
            Some(value) => Some(value.parse::<i64>().map_err(|_| {
                reader.invalid(
                    "LastReadMessageIndex",
                    format!("{:?} is not an integer", short(value)),
                )
            })?),
            None => None,
        };
        Ok(Self {
            account_sid,
            conversation_sid,
            chat_service_sid: reader.sid("ChatServiceSid")?,
            participant_sid: reader.sid("ParticipantSid")?,
            source,
            client_identity: reader.text("ClientIdentity"),
            identity: reader.text("Identity"),
            role_sid: reader.sid("RoleSid")?,
            attributes: reader.text("Attributes"),
            messaging_binding: (binding != MessagingBinding::default()).then_some(binding),
            date_created: reader.date("DateCreated")?,
            date_updated: reader.date("DateUpdated")?,
            date_removed: reader.date("DateRemoved")?,
            last_read_message_index,
            extra: reader
                .values
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        })
    }
}

/// Takes the fields of one event out of its form, one by one.
struct Reader<'a> {
    event: &'a str,
    values: BTreeMap<&'a str, &'a str>,
}

impl<'a> Reader<'a> {
    /// The field's value; an empty one counts as absent.
    fn take(&mut self, field: &str) -> Option<&'a str> {
        self.values.remove(field).filter(|v| !v.is_empty())
    }

    fn text(&mut self, field: &str) -> Option<String> {
        self.take(field).map(str::to_owned)
    }

    fn invalid(&self, field: &'static str, problem: String) -> EventError {
        EventError::Invalid {
            event: self.event.to_owned(),
            field,
            problem,
        }
    }

    fn required(&mut self, field: &'static str) -> Result<&'a str, EventError> {
        self.take(field).ok_or_else(|| EventError::Missing {
            event: self.event.to_owned(),
            field,
        })
    }

    fn required_sid<T: FromStr<Err = InvalidSid>>(
        &mut self,
        field: &'static str,
    ) -> Result<T, EventError> {
        let value = self.required(field)?;
        value
            .parse()
            .map_err(|e: InvalidSid| self.invalid(field, e.to_string()))
    }

    fn sid<T: FromStr<Err = InvalidSid>>(
        &mut self,
        field: &'static str,
    ) -> Result<Option<T>, EventError> {
        match self.take(field) {
            Some(value) => {
                Ok(Some(value.parse().map_err(|e: InvalidSid| {
                    self.invalid(field, e.to_string())
                })?))
            }
            None => Ok(None),
        }
    }

    fn date(&mut self, field: &'static str) -> Result<Option<DateTime<Utc>>, EventError> {
        match self.take(field) {
            Some(value) => DateTime::parse_from_rfc3339(value)
                .map(|date| Some(date.with_timezone(&Utc)))
                .map_err(|e| {
                    self.invalid(field, format!("{:?} is not ISO 8601: {e}", short(value)))
                }),
            None => Ok(None),
        }
    }
}

/// At most 40 characters of `value`, for an error message.
fn short(value: &str) -> String {
    value.chars().take(40).collect()
}

/// The answer to a pre-event (`onParticipantAdd`, `…Update`, `…Remove`): 200 with an empty
/// body lets the action through; a 4xx status rejects it. (Twilio lets the action through
/// when no answer comes within 5 seconds.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreEventAnswer {
    status: http::StatusCode,
}

impl PreEventAnswer {
    /// Lets the action through: 200, empty body.
    pub fn allow() -> Self {
        Self {
            status: http::StatusCode::OK,
        }
    }

    /// Rejects the action: 403, empty body.
    pub fn reject() -> Self {
        Self {
            status: http::StatusCode::FORBIDDEN,
        }
    }

    /// Rejects the action with `status`; `None` unless it is a 4xx status.
    pub fn reject_with(status: u16) -> Option<Self> {
        http::StatusCode::from_u16(status)
            .ok()
            .filter(http::StatusCode::is_client_error)
            .map(|status| Self { status })
    }

    /// Whether the action goes ahead.
    pub fn is_allowed(&self) -> bool {
        self.status.is_success()
    }

    /// The status to answer with.
    pub fn status(&self) -> http::StatusCode {
        self.status
    }

    /// The body to answer with: empty.
    pub fn body(&self) -> &'static str {
        ""
    }

    /// The answer as an [`http::Response`], for `http`-based servers (hyper, axum).
    pub fn into_response(self) -> http::Response<&'static str> {
        let mut response = http::Response::new(self.body());
        *response.status_mut() = self.status;
        response
    }
}
