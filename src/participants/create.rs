//! Create: add a participant to a conversation.

use std::{future::IntoFuture, pin::Pin};

use super::{parse_role, webhook_header, Attributes, ParticipantsHandler};
use crate::{
    error::{Error, Result},
    generated::types::CreateParticipantRequest,
    models::Participant,
    operation::{creation, Creation, Operation},
};

/// A participant to create; send it with [`send`](Self::send) or `.await`.
///
/// A chat participant needs an [`identity`](Self::identity); an SMS or WhatsApp
/// participant an [`address`](Self::address) (and usually a
/// [`proxy_address`](Self::proxy_address), the Twilio number); a group-MMS participant a
/// [`projected_address`](Self::projected_address). A create is never repeated once it may
/// have reached Twilio (see [`Error::OutcomeUnknown`]).
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
/// let participants = client.participants(&service, "support-room-7");
/// let alice = participants
///     .create()
///     .identity("alice")
///     .attributes(&serde_json::json!({ "nickname": "Al" }))
///     .webhook_enabled(false) // no webhook for this change
///     .await?; // or .send().await
/// assert_eq!(alice.attributes.as_deref(), Some(r#"{"nickname":"Al"}"#));
///
/// let whatsapp = participants
///     .create()
///     .address("whatsapp:+15558675310")
///     .proxy_address("whatsapp:+15017122661")
///     .await?;
/// let binding = whatsapp.messaging_binding.expect("a binding");
/// assert_eq!(binding.address.as_deref(), Some("whatsapp:+15558675310"));
/// # Ok(()) }
/// # #[cfg(not(feature = "testing"))] fn main() {}
/// ```
#[derive(Clone, Debug)]
#[must_use = "a create does nothing until it is sent"]
pub struct CreateParticipant {
    handler: ParticipantsHandler,
    fields: CreateParticipantRequest,
    attributes: Attributes,
    role: Option<String>,
    webhook: Option<bool>,
}

impl CreateParticipant {
    pub(super) fn new(handler: ParticipantsHandler) -> Self {
        Self {
            handler,
            fields: CreateParticipantRequest::default(),
            attributes: Attributes::Unset,
            role: None,
            webhook: None,
        }
    }

    /// The chat identity of a Conversations User (`Identity`).
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.fields.identity = Some(identity.into());
        self
    }

    /// The participant's own address, e.g. `+15558675310` or `whatsapp:+15558675310`
    /// (`MessagingBinding.Address`).
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.fields.messaging_binding_address = Some(address.into());
        self
    }

    /// The Twilio address the participant talks to (`MessagingBinding.ProxyAddress`).
    pub fn proxy_address(mut self, address: impl Into<String>) -> Self {
        self.fields.messaging_binding_proxy_address = Some(address.into());
        self
    }

    /// The address shown to others in a group-MMS conversation
    /// (`MessagingBinding.ProjectedAddress`).
    pub fn projected_address(mut self, address: impl Into<String>) -> Self {
        self.fields.messaging_binding_projected_address = Some(address.into());
        self
    }

    shared_write_setters!();

    /// Checks the fields and creates the participant (HTTP 201).
    ///
    /// # Errors
    /// Local errors with nothing sent: neither an identity nor an address, attributes that
    /// are not JSON, a malformed role SID or conversation. Then [`Error::Api`] (e.g. 409
    /// with Twilio code 50433 or 50416 for a participant already there; a 429 that was
    /// never processed), [`Error::OutcomeUnknown`] when the participant may exist (a 5xx, a
    /// timeout or a cut connection after sending, the call deadline with the request on the
    /// wire, or a 2xx whose body could not be read: its `sid` when the body showed one), or
    /// a transport error when nothing reached Twilio.
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
    /// use twilio_conversations::Error;
    ///
    /// let participants = client.participants(&service, "support-room-7");
    /// let alice = participants.create().identity("alice").send().await?;
    /// assert_eq!(alice.identity.as_deref(), Some("alice"));
    /// // The same identity again is a conflict: 409 with Twilio code 50433.
    /// match participants.create().identity("alice").send().await {
    ///     Err(Error::Api(api)) => assert_eq!((api.status, api.code), (409, Some(50433))),
    ///     other => panic!("expected a conflict, got {other:?}"),
    /// }
    /// // Neither an identity nor an address: refused before sending.
    /// assert!(participants.create().send().await.unwrap_err().is_local());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub async fn send(self) -> Result<Participant> {
        let Self {
            handler,
            mut fields,
            attributes,
            role,
            webhook,
        } = self;
        let conversation = handler.conversation.checked()?;
        if fields.identity.is_none()
            && fields.messaging_binding_address.is_none()
            && fields.messaging_binding_projected_address.is_none()
        {
            return Err(Error::InvalidInput {
                parameter: "Identity",
                reason: "a participant needs an identity (chat) or an address \
                         (MessagingBinding.Address or MessagingBinding.ProjectedAddress)"
                    .into(),
            });
        }
        fields.attributes = attributes.into_field()?;
        fields.role_sid = parse_role(role)?;
        let (service, fields) = (&handler.service, &fields);
        let exchange = handler
            .client
            .call(Operation::Create, |wire| async move {
                wire.create_service_conversation_participant(
                    service,
                    conversation,
                    webhook_header(webhook),
                    fields,
                )
                .await
            })
            .await;
        Operation::Create.conclude(exchange)
    }
}

impl CreateParticipant {
    /// Like [`send`](Self::send), but a participant already there (409 with Twilio code
    /// 50433 or 50416) is [`Creation::AlreadyPresent`] rather than an error: running the
    /// same create again (after an interruption, or an [`Error::OutcomeUnknown`]) adds
    /// nothing twice.
    ///
    /// # Errors
    /// As [`send`](Self::send), except those two conflicts.
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
    /// use twilio_conversations::Creation;
    ///
    /// let participants = client.participants(&service, "support-room-7");
    /// let first = participants.create().identity("alice").send_unless_present().await?;
    /// assert!(matches!(first, Creation::Created(_)));
    /// let again = participants.create().identity("alice").send_unless_present().await?;
    /// assert_eq!(again, Creation::AlreadyPresent { code: 50433 });
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub async fn send_unless_present(self) -> Result<Creation<Participant>> {
        creation(self.send().await)
    }
}

impl IntoFuture for CreateParticipant {
    type Output = Result<Participant>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
