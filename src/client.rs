//! The client a user holds: configuration, and one page request through the generated code.

use std::{fmt, num::NonZeroU64, sync::Arc, time::Duration};

use reqwest::header::HeaderValue;

use crate::{
    auth::Credentials,
    error::{ApiError, Error, Result},
    generated::{self, types::ParticipantPage},
    pagination::ParticipantsRequest,
    retry::RetryPolicy,
    sid::ServiceSid,
    transport::{CallRecord, Transport},
};

/// Twilio's default host for Conversations v1.
pub const DEFAULT_BASE_URL: &str = "https://conversations.twilio.com";
/// The default per-request timeout (connect, send and read the whole body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings shared by every request of a [`Client`] and its clones.
pub(crate) struct Config {
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) credentials: Credentials,
    pub(crate) authorization: HeaderValue,
    pub(crate) user_agent: HeaderValue,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("user_agent", &self.user_agent)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A Twilio Conversations client. Cheap to clone (one `Arc`), `Send + Sync`.
///
/// ```no_run
/// # async fn run() -> twilio_conversations::Result<()> {
/// use futures_util::TryStreamExt;
/// use twilio_conversations::{Client, ServiceSid};
///
/// let client = Client::from_env()?;
/// let service: ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
/// let mut participants = client.participants(&service, "CH0123456789abcdef0123456789abcdef").stream();
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

    /// A client with credentials from the environment (see [`Credentials::from_env`]) and
    /// the region and edge from `TWILIO_REGION` / `TWILIO_EDGE` when set.
    ///
    /// # Errors
    /// [`Error::MissingCredentials`] naming the variables to set, or a configuration error.
    pub fn from_env() -> Result<Self> {
        Self::builder()
            .credentials(Credentials::from_env()?)
            .region_and_edge_from_env()
            .build()
    }

    /// The participants of a conversation in a Conversation Service; `conversation` is its
    /// `CH…` SID or its unique name. Nothing is sent until the request is run.
    pub fn participants(
        &self,
        service: &ServiceSid,
        conversation: impl Into<String>,
    ) -> ParticipantsRequest {
        ParticipantsRequest::new(self.clone(), service.clone(), conversation.into())
    }

    /// The base URL every request goes to (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// The credentials' account.
    pub fn credentials(&self) -> &Credentials {
        &self.config.credentials
    }

    /// Fetches one page through the generated client and maps its outcome to [`Error`].
    pub(crate) async fn fetch_page(
        &self,
        service: &ServiceSid,
        conversation: &str,
        query: &PageQuery,
    ) -> Result<ParticipantPage> {
        let record = Arc::new(CallRecord::default());
        let wire = generated::Client::new_with_client(
            &self.config.base_url,
            self.config.http.clone(),
            Transport {
                config: self.config.clone(),
                record: record.clone(),
            },
        );
        let result = wire
            .list_service_conversation_participant(
                service,
                conversation,
                query.page,
                query.page_size,
                query.page_token.as_deref(),
            )
            .await;
        match result {
            Ok(page) => Ok(page.into_inner()),
            Err(error) => Err(self.map_error(error, &record).await),
        }
    }

    async fn map_error(
        &self,
        error: progenitor_client::Error<generated::types::TwilioError>,
        record: &CallRecord,
    ) -> Error {
        use progenitor_client::Error as Wire;
        let attempts = record.attempts();
        match error {
            Wire::ErrorResponse(response) => {
                let status = response.status().as_u16();
                Error::Api(Box::new(ApiError::from_twilio(
                    status,
                    response.into_inner(),
                    attempts,
                )))
            }
            Wire::InvalidResponsePayload(body, _) => match record.status() {
                Some(status) if status >= 400 => {
                    Error::Api(Box::new(ApiError::from_raw(status, &body, attempts)))
                }
                _ => crate::models::decode_page(&body)
                    .err()
                    .unwrap_or_else(|| Error::Decode {
                        path: String::new(),
                        message: "the body did not decode".into(),
                    }),
            },
            Wire::UnexpectedResponse(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                Error::Api(Box::new(ApiError::from_raw(status, &body, attempts)))
            }
            Wire::CommunicationError(source)
            | Wire::ResponseBodyError(source)
            | Wire::InvalidUpgrade(source) => {
                if source.is_timeout() {
                    Error::Timeout {
                        source,
                        attempts,
                        timeout: self.config.timeout,
                    }
                } else {
                    Error::Transport { source, attempts }
                }
            }
            Wire::Custom(message) => Error::ResponseTooLarge(message),
            Wire::InvalidRequest(message) => Error::Config(message),
        }
    }
}

/// The query of one page request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PageQuery {
    pub(crate) page: Option<u64>,
    pub(crate) page_size: Option<NonZeroU64>,
    pub(crate) page_token: Option<String>,
}

/// Configures a [`Client`]. Credentials are required; everything else has a default.
#[derive(Default)]
pub struct ClientBuilder {
    credentials: Option<Credentials>,
    base_url: Option<String>,
    region: Option<String>,
    edge: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    user_agent: Option<String>,
    http: Option<reqwest::Client>,
    retry: Option<RetryPolicy>,
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

    /// The per-request timeout: connecting, sending and reading the whole body (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
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
        let http = match self.http {
            Some(http) => http,
            None => default_http_client(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))?,
        };
        Ok(Client {
            config: Arc::new(Config {
                base_url,
                http,
                authorization: credentials.authorization()?,
                credentials,
                user_agent,
                timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                retry: self.retry.unwrap_or_default(),
            }),
        })
    }
}

/// `https://conversations[.{edge}][.{region}].twilio.com`, as Twilio's SDKs build it.
fn twilio_host(region: Option<&str>, edge: Option<&str>) -> Result<String> {
    let region = match (region, edge) {
        (None, Some(_)) => Some("us1"),
        (region, _) => region,
    };
    let mut host = String::from("https://conversations");
    for (name, label) in [("edge", edge), ("region", region)] {
        let Some(label) = label else { continue };
        let valid = !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(Error::Config(format!(
                "the {name} {label:?} is not a host name label"
            )));
        }
        host.push('.');
        host.push_str(&label.to_ascii_lowercase());
    }
    host.push_str(".twilio.com");
    Ok(host)
}

/// Accepts `https://` URLs, and `http://` only for loopback hosts, so credentials never
/// cross a network in the clear. Returns the URL without a trailing slash.
fn checked_base_url(raw: &str) -> Result<String> {
    let bad = |why: &str| Error::Config(format!("base URL {raw:?} {why}"));
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "uses plain http for a host that is not loopback; use https",
            ))
        }
        _ => return Err(bad("must use https")),
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// reqwest with rustls on the ring provider and the platform's trust store; no redirects
/// (the endpoint has none, and a redirect must never carry credentials elsewhere).
fn default_http_client(connect_timeout: Duration) -> Result<reqwest::Client> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let tls_error = |e: rustls::Error| Error::Config(format!("TLS setup failed: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_platform_verifier()
        .map_err(tls_error)?
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_and_edge_hosts() {
        assert_eq!(twilio_host(None, None).unwrap(), DEFAULT_BASE_URL);
        assert_eq!(
            twilio_host(Some("ie1"), Some("dublin")).unwrap(),
            "https://conversations.dublin.ie1.twilio.com"
        );
        assert_eq!(
            twilio_host(None, Some("sydney")).unwrap(),
            "https://conversations.sydney.us1.twilio.com"
        );
        assert_eq!(
            twilio_host(Some("au1"), None).unwrap(),
            "https://conversations.au1.twilio.com"
        );
        assert!(twilio_host(Some("evil.com/"), None).is_err());
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            checked_base_url("https://proxy.example/twilio/").unwrap(),
            "https://proxy.example/twilio"
        );
        assert_eq!(
            checked_base_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            checked_base_url("http://[::1]:9/x").unwrap(),
            "http://[::1]:9/x"
        );
        assert!(checked_base_url("http://localhost:1").is_ok());
        let err = checked_base_url("http://example.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("plain http"), "{err}");
        assert!(checked_base_url("https://u:p@example.com").is_err());
        assert!(checked_base_url("ftp://example.com").is_err());
        assert!(checked_base_url("https://example.com/?a=b").is_err());
        assert!(checked_base_url("not a url").is_err());
    }
}
