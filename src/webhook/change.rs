//! One shape for a participant change, whichever channel told of it: a Conversations
//! webhook ([`ParticipantEvent`]) or an Event Streams CloudEvent ([`CloudEvent`]), so that
//! a handler is written once.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    cloud_event::{CloudEvent, EventData, ParticipantEventKind},
    event::ParticipantEvent,
};
use crate::sid::{ConversationSid, ParticipantSid};

/// Which channel a change came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Channel {
    /// A Conversations webhook (form-encoded, `onParticipant…`).
    Webhook,
    /// An Event Streams delivery (CloudEvents).
    EventStreams,
}

impl Channel {
    /// `webhook` or `event_streams`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::EventStreams => "event_streams",
        }
    }
}

/// What happened (or, for a pre-event, is about to happen) to the participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum ChangeKind {
    /// The participant was added.
    #[serde(rename = "participant.added")]
    Added,
    /// The participant changed.
    #[serde(rename = "participant.updated")]
    Updated,
    /// The participant was removed.
    #[serde(rename = "participant.removed")]
    Removed,
    /// A pre-event: the participant is about to be added (webhooks only; no SID yet).
    #[serde(rename = "participant.add")]
    Add,
    /// A pre-event: the participant is about to change (webhooks only).
    #[serde(rename = "participant.update")]
    Update,
    /// A pre-event: the participant is about to be removed (webhooks only).
    #[serde(rename = "participant.remove")]
    Remove,
}

impl ChangeKind {
    /// `participant.added`, …, or the pre-event's `participant.add`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "participant.added",
            Self::Updated => "participant.updated",
            Self::Removed => "participant.removed",
            Self::Add => "participant.add",
            Self::Update => "participant.update",
            Self::Remove => "participant.remove",
        }
    }

    /// Whether it is a pre-event (Twilio waits for the answer before acting).
    pub fn is_pre_event(self) -> bool {
        matches!(self, Self::Add | Self::Update | Self::Remove)
    }
}

impl From<ParticipantEventKind> for ChangeKind {
    fn from(kind: ParticipantEventKind) -> Self {
        match kind {
            ParticipantEventKind::Added => Self::Added,
            ParticipantEventKind::Updated => Self::Updated,
            ParticipantEventKind::Removed => Self::Removed,
        }
    }
}

/// A participant change from either channel. Serialized (for logs and the tool) as
/// `{"channel":"event_streams","type":"participant.added","conversation_sid":"CH…",…}`,
/// leaving out what the channel did not give.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ParticipantChange {
    /// The channel it came through.
    pub channel: Channel,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: ChangeKind,
    /// The conversation.
    pub conversation_sid: ConversationSid,
    /// The participant (`None` only for the `participant.add` pre-event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_sid: Option<ParticipantSid>,
    /// The chat identity, for a chat participant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The address (the binding's address, else its projected address), for an SMS,
    /// WhatsApp or group MMS participant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The event's id (Event Streams; webhooks carry none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// When it happened: the CloudEvent's `time`, or else the data's `DateUpdated` (updated,
    /// removed) or `DateCreated` (added); for a webhook, `DateRemoved`, `DateUpdated` or
    /// `DateCreated` by the same rule (none for `participant.add`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
}

/// Why an event is not a participant change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotAParticipantChange {
    /// The event is about something else (its type, when it has one).
    #[error("not a participant event ({})", event_type.as_deref().unwrap_or("no type"))]
    OtherEvent {
        /// The webhook's `EventType` or the CloudEvent's `type`.
        event_type: Option<String>,
    },
    /// A participant CloudEvent whose data could not be typed.
    #[error("a participant event whose data cannot be read: {reason}")]
    UnreadableData {
        /// Why, naming the field.
        reason: String,
    },
}

impl TryFrom<&ParticipantEvent> for ParticipantChange {
    type Error = NotAParticipantChange;

    fn try_from(event: &ParticipantEvent) -> Result<Self, Self::Error> {
        let (kind, fields) = match event {
            ParticipantEvent::Add(fields) => (ChangeKind::Add, fields),
            ParticipantEvent::Added(fields) => (ChangeKind::Added, fields),
            ParticipantEvent::Update(fields) => (ChangeKind::Update, fields),
            ParticipantEvent::Updated(fields) => (ChangeKind::Updated, fields),
            ParticipantEvent::Remove(fields) => (ChangeKind::Remove, fields),
            ParticipantEvent::Removed(fields) => (ChangeKind::Removed, fields),
            // `Other`, and any event kind newer than this conversion.
            _ => {
                return Err(NotAParticipantChange::OtherEvent {
                    event_type: event.event_type().map(str::to_owned),
                })
            }
        };
        let binding = fields.messaging_binding.as_ref();
        let time = match kind {
            ChangeKind::Add => None,
            ChangeKind::Added => fields.date_created,
            ChangeKind::Update | ChangeKind::Updated => fields.date_updated.or(fields.date_created),
            ChangeKind::Remove | ChangeKind::Removed => fields
                .date_removed
                .or(fields.date_updated)
                .or(fields.date_created),
        };
        Ok(Self {
            channel: Channel::Webhook,
            kind,
            conversation_sid: fields.conversation_sid.clone(),
            participant_sid: fields.participant_sid.clone(),
            identity: fields.identity.clone(),
            address: binding.and_then(|b| b.address.clone().or(b.projected_address.clone())),
            event_id: None,
            time,
        })
    }
}

impl TryFrom<&CloudEvent> for ParticipantChange {
    type Error = NotAParticipantChange;

    fn try_from(event: &CloudEvent) -> Result<Self, Self::Error> {
        let data = match &event.data {
            EventData::Participant(data) => data,
            EventData::Unreadable { reason, .. } => {
                return Err(NotAParticipantChange::UnreadableData {
                    reason: reason.clone(),
                })
            }
            // `Other`, and any data kind newer than this conversion.
            _ => {
                return Err(NotAParticipantChange::OtherEvent {
                    event_type: Some(event.event_type.clone()),
                })
            }
        };
        let data_time = match data.kind {
            ParticipantEventKind::Added => data.date_created,
            _ => data.date_updated.or(data.date_created),
        };
        Ok(Self {
            channel: Channel::EventStreams,
            kind: data.kind.into(),
            conversation_sid: data.conversation_sid.clone(),
            participant_sid: Some(data.participant_sid.clone()),
            identity: data.identity.clone(),
            address: data.address().map(str::to_owned),
            event_id: Some(event.id.clone()),
            time: event.time.or(data_time),
        })
    }
}
