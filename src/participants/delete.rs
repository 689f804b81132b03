//! Delete: remove a participant from a conversation.

use std::{future::IntoFuture, pin::Pin};

use super::{webhook_header, ParticipantsHandler};
use crate::{
    error::{Error, Result},
    path::ParticipantId,
    retry::Operation,
};

/// How a delete ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deletion {
    /// Twilio answered 204: this request removed the participant.
    Deleted,
    /// An earlier attempt's answer was lost (a timeout, a cut connection or a 5xx), and the
    /// retry found the participant gone (404/20404): most likely that attempt removed it.
    AlreadyGone,
}

/// A participant to remove; send with [`send`](Self::send) or `.await`.
#[derive(Clone, Debug)]
#[must_use = "a delete does nothing until it is sent"]
pub struct DeleteParticipant {
    handler: ParticipantsHandler,
    participant: ParticipantId,
    webhook: Option<bool>,
}

impl DeleteParticipant {
    pub(super) fn new(handler: ParticipantsHandler, participant: ParticipantId) -> Self {
        Self {
            handler,
            participant,
            webhook: None,
        }
    }

    /// Whether the service's webhooks fire for this change (`X-Twilio-Webhook-Enabled`);
    /// unset sends no header.
    pub fn webhook_enabled(mut self, enabled: bool) -> Self {
        self.webhook = Some(enabled);
        self
    }

    /// Removes the participant (HTTP 204). Retried like a list: removing twice removes once.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] with nothing sent for an empty or unusable name;
    /// [`Error::Api`] with 404/20404 when the participant did not exist (on the first
    /// attempt; after a lost answer that is [`Deletion::AlreadyGone`]).
    pub async fn send(self) -> Result<Deletion> {
        let (service, conversation, sid) = self.handler.path(&self.participant)?;
        let webhook = webhook_header(self.webhook);
        let (result, maybe_applied) = self
            .handler
            .client
            .call(Operation::Delete, |wire| async move {
                wire.delete_service_conversation_participant(service, conversation, sid, webhook)
                    .await
            })
            .await;
        match result {
            Ok(()) => Ok(Deletion::Deleted),
            Err(Error::Api(api)) if api.status == 404 && maybe_applied => Ok(Deletion::AlreadyGone),
            Err(error) => Err(error),
        }
    }
}

impl IntoFuture for DeleteParticipant {
    type Output = Result<Deletion>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
