//! Delete: remove a participant from a conversation.

use std::{future::IntoFuture, pin::Pin};

use super::{webhook_header, ParticipantsHandler};
use crate::{
    error::Result,
    operation::{deletion, gone, Deletion, Operation},
    path::ParticipantId,
};

/// A participant to remove; send with [`send`](Self::send) or `.await`.
///
/// ```
/// # #[cfg(feature = "testing")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let fake = twilio_conversations::testing::FakeServer::start().await?;
/// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
/// # let client = twilio_conversations::Client::builder()
/// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
/// # fake.add_conversation(&service, "support-room-7", []);
/// # let alice = client.participants(&service, "support-room-7").create().identity("alice").await?;
/// # let sid = alice.sid.expect("a SID");
/// use twilio_conversations::Deletion;
///
/// let participants = client.participants(&service, "support-room-7");
/// let removed = participants.delete(&sid).webhook_enabled(false).await?; // or .send().await
/// assert_eq!(removed, Deletion::Deleted);
/// # Ok(()) }
/// # #[cfg(not(feature = "testing"))] fn main() {}
/// ```
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
    /// [`Error::InvalidSid`] with nothing sent when the participant is not an `MB…` SID,
    /// [`Error::InvalidInput`] for an unusable conversation name; [`Error::Api`] with
    /// 404/20404 when the participant did not exist (on the first attempt; after a lost
    /// answer that is [`Deletion::AlreadyGone`]); [`Error::OutcomeUnknown`] when the
    /// attempts may have removed it without an answer saying so (repeating is harmless).
    ///
    /// [`Error::InvalidSid`]: crate::Error::InvalidSid
    /// [`Error::InvalidInput`]: crate::Error::InvalidInput
    /// [`Error::Api`]: crate::Error::Api
    /// [`Error::OutcomeUnknown`]: crate::Error::OutcomeUnknown
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_conversation(&service, "support-room-7", []);
    /// # let alice = client.participants(&service, "support-room-7").create().identity("alice").await?;
    /// # let sid = alice.sid.expect("a SID");
    /// use twilio_conversations::{Deletion, Error};
    ///
    /// let participants = client.participants(&service, "support-room-7");
    /// assert_eq!(participants.delete(&sid).send().await?, Deletion::Deleted);
    /// match participants.delete(&sid).send().await {
    ///     Err(Error::Api(api)) => assert_eq!((api.status, api.code), (404, Some(20404))),
    ///     other => panic!("expected a 404, got {other:?}"),
    /// }
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub async fn send(self) -> Result<Deletion> {
        let (conversation, sid) = self.handler.write_path(&self.participant)?;
        let (service, sid) = (&self.handler.service, sid.as_str());
        let webhook = webhook_header(self.webhook);
        let exchange = self
            .handler
            .client
            .call(Operation::Delete, |wire| async move {
                wire.delete_service_conversation_participant(service, conversation, sid, webhook)
                    .await
            })
            .await;
        deletion(exchange)
    }
}

impl DeleteParticipant {
    /// Like [`send`](Self::send), but a participant that is not there (404) is
    /// [`Deletion::AlreadyGone`] rather than an error: running the same removal again
    /// removes nothing twice and fails on nothing already done.
    ///
    /// # Errors
    /// As [`send`](Self::send), except the 404.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_conversation(&service, "support-room-7", []);
    /// # let alice = client.participants(&service, "support-room-7").create().identity("alice").await?;
    /// # let sid = alice.sid.expect("a SID");
    /// use twilio_conversations::Deletion;
    ///
    /// let participants = client.participants(&service, "support-room-7");
    /// assert_eq!(participants.delete(&sid).send_unless_gone().await?, Deletion::Deleted);
    /// assert_eq!(participants.delete(&sid).send_unless_gone().await?, Deletion::AlreadyGone);
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub async fn send_unless_gone(self) -> Result<Deletion> {
        gone(self.send().await)
    }
}

impl IntoFuture for DeleteParticipant {
    type Output = Result<Deletion>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
