//! The client a user holds, and its builder; the resource handlers hang off it.

use std::{fmt, future::Future, sync::Arc, time::Duration};

use progenitor_client::ResponseValue;
use reqwest::header::HeaderValue;

use crate::{
    auth::Credentials,
    call::{self, WireError},
    config::{
        checked_base_url, default_http_client, twilio_host, Config, DEFAULT_CALL_TIMEOUT,
        DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
    },
    error::{Error, Result},
    fleet::Fleet,
    generated,
    limits::{
        Budget, ClientStats, Limiter, Outage, RetryBudget, WritePacer,
        DEFAULT_CONVERSATION_WRITE_RATE, DEFAULT_MAX_CONCURRENT_REQUESTS,
    },
    operation::{Exchange, Operation},
    participant_conversations::{ListParticipantConversations, ParticipantRef},
    participants::ParticipantsHandler,
    path::ConversationId,
    retry::RetryPolicy,
    sid::ServiceSid,
};

/// A Twilio Conversations client. Cheap to clone (one `Arc`), `Send + Sync`.
///
/// ```no_run
/// # async fn run() -> twilio_conversations::Result<()> {
/// use twilio_conversations::{prelude::*, Client, ServiceSid};
///
/// let client = Client::from_env()?;
/// let service: ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
/// let mut participants = client
///     .participants(&service, "CH0123456789abcdef0123456789abcdef")
///     .stream();
/// while let Some(participant) = participants.try_next().await? {
///     println!("{:?}", participant.identity);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    config: Arc<Config>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish()
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client with credentials from the environment (see [`Credentials::from_env`]), the
    /// region and edge from `TWILIO_REGION` / `TWILIO_EDGE` when set, and the server from
    /// `TWILIO_BASE_URL` when set (e.g. the fake `twilio-participants fake` runs, whose
    /// printed `export` lines set all of these; see [`ClientBuilder::base_url`]).
    ///
    /// # Errors
    /// [`Error::MissingCredentials`] naming the variables to set, [`Error::InvalidEnvVar`]
    /// naming a malformed one, or a configuration error.
    pub fn from_env() -> Result<Self> {
        let mut builder = Self::builder()
            .credentials(Credentials::from_env()?)
            .region_and_edge_from_env();
        if let Some(url) = std::env::var("TWILIO_BASE_URL")
            .ok()
            .filter(|v| !v.is_empty())
        {
            builder = builder.base_url(url);
        }
        builder.build()
    }

    /// The participants of a conversation in a Conversation Service: list, create, fetch,
    /// update and delete. `conversation` is its `CH…` SID ([`crate::ConversationSid`], owned
    /// or borrowed) or its unique name (`&str`, `String`). Nothing is sent until an
    /// operation runs.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_generated(&service, "support-room-7", 120, 7);
    /// use twilio_conversations::ConversationSid;
    ///
    /// let by_name = client.participants(&service, "support-room-7");
    /// assert_eq!(by_name.list().await?.len(), 120);
    /// let sid: ConversationSid = "CH0123456789abcdef0123456789abcdef".parse()?;
    /// let by_sid = client.participants(&service, &sid); // a conversation by its CH… SID
    /// # let _ = by_sid;
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn participants(
        &self,
        service: &ServiceSid,
        conversation: impl Into<ConversationId>,
    ) -> ParticipantsHandler {
        ParticipantsHandler::new(self.clone(), service.clone(), conversation.into())
    }

    /// The conversations of `service` that a participant is in, by chat identity or
    /// messaging address; nothing is sent until the request runs.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # for room in ["support-1", "support-2", "support-3"] { fake.add_conversation(&service, room, []); }
    /// # for room in ["support-1", "support-3"] {
    /// #     client.participants(&service, room).create().identity("agent-7").await?;
    /// # }
    /// use twilio_conversations::ParticipantRef;
    ///
    /// let found = client
    ///     .participant_conversations(&service, ParticipantRef::identity("agent-7"))
    ///     .list()
    ///     .await?;
    /// assert_eq!(found.len(), 2);
    /// let by_address = client
    ///     .participant_conversations(&service, ParticipantRef::address("+15558675310"))
    ///     .list()
    ///     .await?;
    /// assert!(by_address.is_empty());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn participant_conversations(
        &self,
        service: &ServiceSid,
        who: ParticipantRef,
    ) -> ListParticipantConversations {
        ListParticipantConversations::new(self.clone(), service.clone(), who)
    }

    /// Runs one participant operation over many conversations of `service`, at most
    /// [`Fleet::concurrency`] at once; see [`Fleet::run`].
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # for room in ["support-1", "support-2", "support-3"] { fake.add_conversation(&service, room, []); }
    /// use twilio_conversations::prelude::*;
    ///
    /// let rooms = ["support-1", "support-2", "support-3"];
    /// let mut results = client
    ///     .fleet(&service)
    ///     .concurrency(2)
    ///     .run(rooms, |participants, _room| async move {
    ///         participants.create().identity("supervisor-1").send_unless_present().await
    ///     });
    /// while let Some(done) = results.next().await {
    ///     println!("{:?}: {:?}", done.conversation, done.result.map(|_| "present"));
    /// }
    /// assert_eq!(results.progress().done, 3);
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn fleet(&self, service: &ServiceSid) -> Fleet {
        Fleet::new(self.clone(), service.clone())
    }

    /// The base URL every request goes to (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// The credentials' account.
    pub fn credentials(&self) -> &Credentials {
        &self.config.credentials
    }

    /// What the client has done to protect Twilio and the account so far: requests in
    /// flight, the current cap, 429s, retries made and refused, budget left, and whether
    /// it is waiting out an outage.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_generated(&service, "support-room-7", 120, 7);
    /// fake.fail_next(429, Some(0)); // rate-limited once, then retried
    /// let everyone = client.participants(&service, "support-room-7").list().await?;
    /// assert_eq!(everyone.len(), 120);
    /// let stats = client.stats();
    /// assert_eq!((stats.throttled, stats.retries, stats.in_flight), (1, 1, 0));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn stats(&self) -> ClientStats {
        ClientStats::read(
            &self.config.limiter,
            &self.config.budget,
            &self.config.outage,
        )
    }

    /// Runs one operation through the generated client (see `call.rs`).
    pub(crate) async fn call<T, Fut>(
        &self,
        operation: Operation,
        send: impl FnOnce(generated::Client) -> Fut,
    ) -> Exchange<T>
    where
        Fut: Future<Output = Result<ResponseValue<T>, WireError>>,
    {
        call::call(&self.config, operation, send).await
    }
}

/// Configures a [`Client`]. Credentials are required; everything else has a default.
///
/// ```
/// use std::time::Duration;
/// use twilio_conversations::{Client, Credentials, RetryBudget, RetryPolicy};
///
/// # fn main() -> Result<(), twilio_conversations::Error> {
/// let client = Client::builder()
///     .credentials(Credentials::auth_token("AC0123456789abcdef0123456789abcdef".parse()?, "token"))
///     .region("ie1")
///     .edge("dublin")
///     .timeout(Duration::from_secs(10))
///     .call_timeout(Duration::from_secs(60))
///     .max_concurrent_requests(8)
///     .conversation_write_rate(30)
///     .retry_budget(RetryBudget::standard())
///     .retry_policy(RetryPolicy::default())
///     .user_agent("my-app/1.2")
///     .build()?;
/// assert_eq!(client.base_url(), "https://conversations.dublin.ie1.twilio.com");
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    credentials: Option<Credentials>,
    base_url: Option<String>,
    region: Option<String>,
    edge: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    call_timeout: Option<Duration>,
    user_agent: Option<String>,
    http: Option<reqwest::Client>,
    retry: Option<RetryPolicy>,
    max_concurrent_requests: Option<u32>,
    conversation_write_rate: Option<u32>,
    budget: Option<RetryBudget>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("base_url", &self.base_url)
            .field("region", &self.region)
            .field("edge", &self.edge)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The credentials to authenticate with (required).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sends every request to this URL instead of Twilio's host (a mock, a proxy). A path
    /// prefix is kept. Plain `http://` is accepted only for loopback hosts.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// A Twilio region, e.g. `ie1`: the host becomes `conversations.{edge}.{region}.twilio.com`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// A Twilio edge location, e.g. `dublin`; without a region, the region is `us1`.
    pub fn edge(mut self, edge: impl Into<String>) -> Self {
        self.edge = Some(edge.into());
        self
    }

    /// Takes the region and edge from `TWILIO_REGION` / `TWILIO_EDGE` where they are set
    /// and not empty; a later [`region`](Self::region) or [`edge`](Self::edge) overrides them.
    pub fn region_and_edge_from_env(mut self) -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        if let Some(region) = var("TWILIO_REGION") {
            self.region = Some(region);
        }
        if let Some(edge) = var("TWILIO_EDGE") {
            self.edge = Some(edge);
        }
        self
    }

    /// The timeout of one attempt: connecting, sending and reading the whole body
    /// (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The deadline of a whole call, every attempt and retry wait included (default 90 s).
    /// For a stream, each page request is one call.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    /// The connect timeout of the built-in HTTP client (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Text appended to the user agent `twilio-conversations-rust/VERSION (OS ARCH)`.
    pub fn user_agent(mut self, extra: impl Into<String>) -> Self {
        self.user_agent = Some(extra.into());
        self
    }

    /// Uses this `reqwest::Client` (its TLS, proxy and pool settings) instead of the built-in
    /// one. The connect timeout setting does not apply to it; the request timeout does.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// How failed requests are retried (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The most requests the client (every clone and stream of it) has on the wire at once
    /// (default 16; at least 1). After a 429 the client lowers its own cap (halving), pauses
    /// every request for the wait, and grows the cap back by one per calm round trip.
    pub fn max_concurrent_requests(mut self, max: u32) -> Self {
        self.max_concurrent_requests = Some(max);
        self
    }

    /// The most participant writes (create, update, delete) a second the client starts in
    /// one conversation (default 30, Twilio's published per-conversation limit; reads are not
    /// limited; 0 turns pacing off). Writes to one conversation start at least
    /// `1.02 s / rate` apart (34 ms at 30: 20 ms a second of headroom for network jitter);
    /// writes to other conversations do not wait for them. A conversation is known by its
    /// service and the SID or unique name in the path, so the same conversation named both
    /// ways is paced as two.
    pub fn conversation_write_rate(mut self, per_second: u32) -> Self {
        self.conversation_write_rate = Some(per_second);
        self
    }

    /// How much retrying the client may do across all its requests (default
    /// [`RetryBudget::standard`]); [`RetryBudget::unlimited`] turns the budget off.
    ///
    /// When the budget refuses a failure's retry, or five failures (5xx answers, timeouts,
    /// broken connections) come in a row, the client is in an outage: it starts no attempt
    /// (first attempts included) but one probe at growing intervals (0.5 s doubling to 2 s,
    /// jittered), and requests wait within their call deadline. The first answer that is not
    /// such a failure ends it, refills the budget, and the waiting requests go on: a retry
    /// held back goes out if its operation may repeat it (a create that may have been
    /// applied never is). A request still waiting at its call deadline fails with
    /// [`Error::Unavailable`] (or, for a write whose earlier attempt may have been applied,
    /// [`Error::OutcomeUnknown`]). [`Client::stats`] shows the outage.
    pub fn retry_budget(mut self, budget: RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// # Errors
    /// [`Error::MissingCredentials`] without credentials; [`Error::Config`] for a malformed
    /// or plain-HTTP non-loopback base URL, a bad region/edge, or a TLS setup failure.
    pub fn build(self) -> Result<Client> {
        let credentials = self.credentials.ok_or_else(|| Error::MissingCredentials {
            missing: "credentials (ClientBuilder::credentials or Client::from_env)".into(),
        })?;
        let base_url = match self.base_url {
            Some(url) => checked_base_url(&url)?,
            None => twilio_host(self.region.as_deref(), self.edge.as_deref())?,
        };
        let mut agent = format!(
            "twilio-conversations-rust/{} ({} {})",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        );
        if let Some(extra) = self.user_agent {
            agent.push(' ');
            agent.push_str(&extra);
        }
        let user_agent = HeaderValue::try_from(agent)
            .map_err(|_| Error::Config("the user agent is not a valid header value".into()))?;
        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let http = match self.http {
            Some(http) => http,
            None => default_http_client(connect_timeout)?,
        };
        Ok(Client {
            config: Arc::new(Config {
                base_url,
                http,
                authorization: credentials.authorization()?,
                credentials,
                user_agent,
                timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                connect_timeout,
                call_timeout: self.call_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT),
                retry: self.retry.unwrap_or_default(),
                limiter: Limiter::new(
                    self.max_concurrent_requests
                        .unwrap_or(DEFAULT_MAX_CONCURRENT_REQUESTS),
                ),
                budget: Budget::new(self.budget.unwrap_or_default()),
                outage: Outage::default(),
                pacer: WritePacer::new(
                    self.conversation_write_rate
                        .unwrap_or(DEFAULT_CONVERSATION_WRITE_RATE),
                ),
            }),
        })
    }
}
