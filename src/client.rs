//! The client a user holds: configuration, and one call through the generated code.

use std::{fmt, future::Future, sync::Arc, time::Duration};

use progenitor_client::ResponseValue;
use reqwest::header::HeaderValue;

use crate::{
    auth::Credentials,
    error::{root_cause, ApiError, Error, Result, TimeoutKind},
    generated::{self, types::TwilioError},
    participants::ParticipantsHandler,
    path::ConversationId,
    retry::{Operation, RetryPolicy},
    sid::ServiceSid,
    transport::{CallRecord, Transport, MAX_BODY_BYTES},
};

/// Twilio's default host for Conversations v1.
pub const DEFAULT_BASE_URL: &str = "https://conversations.twilio.com";
/// The default per-request timeout (connect, send and read the whole body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default deadline of a whole call: every attempt and every wait between them.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(90);

/// Settings shared by every request of a [`Client`] and its clones.
pub(crate) struct Config {
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) credentials: Credentials,
    pub(crate) authorization: HeaderValue,
    pub(crate) user_agent: HeaderValue,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) call_timeout: Duration,
    pub(crate) retry: RetryPolicy,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("user_agent", &self.user_agent)
            .field("timeout", &self.timeout)
            .field("call_timeout", &self.call_timeout)
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

    /// The participants of a conversation in a Conversation Service: list, create, fetch,
    /// update and delete. `conversation` is its `CH…` SID ([`crate::ConversationSid`], owned
    /// or borrowed) or its unique name (`&str`, `String`). Nothing is sent until an
    /// operation runs.
    pub fn participants(
        &self,
        service: &ServiceSid,
        conversation: impl Into<ConversationId>,
    ) -> ParticipantsHandler {
        ParticipantsHandler::new(self.clone(), service.clone(), conversation.into())
    }

    /// The base URL every request goes to (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// The credentials' account.
    pub fn credentials(&self) -> &Credentials {
        &self.config.credentials
    }

    /// Runs one operation through the generated client under the call deadline, mapping
    /// its outcome to [`Error`]. Also says whether an attempt may have been applied without
    /// its answer arriving (see [`CallRecord::maybe_applied`]).
    pub(crate) async fn call<T, Fut>(
        &self,
        operation: Operation,
        send: impl FnOnce(generated::Client) -> Fut,
    ) -> (Result<T>, bool)
    where
        Fut: Future<Output = Result<ResponseValue<T>, WireError>>,
    {
        let record = Arc::new(CallRecord::default());
        let wire = generated::Client::new_with_client(
            &self.config.base_url,
            self.config.http.clone(),
            Transport {
                config: self.config.clone(),
                record: record.clone(),
                operation,
            },
        );
        let result = match tokio::time::timeout(self.config.call_timeout, send(wire)).await {
            Ok(Ok(value)) => Ok(value.into_inner()),
            Ok(Err(error)) => Err(self.map_error(error, &record, operation).await),
            Err(_) if operation == Operation::Create && record.maybe_applied() => {
                Err(Error::OutcomeUnknown {
                    operation: operation.name(),
                    cause: format!("the call timeout of {:?} fired", self.config.call_timeout),
                    attempts: record.attempts(),
                })
            }
            Err(_) => Err(Error::Timeout {
                kind: TimeoutKind::Call,
                limit: self.config.call_timeout,
                attempts: record.attempts(),
            }),
        };
        (result, record.maybe_applied())
    }

    async fn map_error(
        &self,
        error: WireError,
        record: &CallRecord,
        operation: Operation,
    ) -> Error {
        use progenitor_client::Error as Wire;
        let meta = record.answer_meta();
        let attempts = meta.attempts;
        match error {
            Wire::ErrorResponse(response) => {
                let status = response.status().as_u16();
                Error::Api(Box::new(ApiError::from_twilio(
                    status,
                    response.into_inner(),
                    meta,
                )))
            }
            Wire::InvalidResponsePayload(body, error) => match record.status() {
                Some(status) if status >= 400 => {
                    Error::Api(Box::new(ApiError::from_raw(status, &body, meta)))
                }
                // Decode again to name the JSON path of the first value that does not fit.
                _ => match operation {
                    Operation::List => crate::models::decode_page(&body).err(),
                    _ => crate::models::decode_participant(&body).err(),
                }
                .unwrap_or_else(|| Error::Decode {
                    path: String::new(),
                    message: error.to_string(),
                }),
            },
            Wire::UnexpectedResponse(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                Error::Api(Box::new(ApiError::from_raw(status, &body, meta)))
            }
            Wire::CommunicationError(source)
            | Wire::ResponseBodyError(source)
            | Wire::InvalidUpgrade(source) => {
                let connect = source.is_connect();
                let (kind, limit) = if connect {
                    (TimeoutKind::Connect, self.config.connect_timeout)
                } else {
                    (TimeoutKind::Attempt, self.config.timeout)
                };
                if operation == Operation::Create && !connect {
                    let cause = if source.is_timeout() {
                        format!("the {kind} timeout of {limit:?} fired")
                    } else {
                        root_cause(&source)
                    };
                    return Error::OutcomeUnknown {
                        operation: operation.name(),
                        cause,
                        attempts,
                    };
                }
                if source.is_timeout() {
                    Error::Timeout {
                        kind,
                        limit,
                        attempts,
                    }
                } else {
                    Error::Transport {
                        cause: root_cause(&source),
                        error: source,
                        attempts,
                    }
                }
            }
            Wire::Custom(message) => match record.oversized() {
                Some(size) => Error::ResponseTooLarge {
                    status: record.status().unwrap_or_default(),
                    limit: MAX_BODY_BYTES,
                    size,
                },
                None => Error::Config(message),
            },
            Wire::InvalidRequest(message) => Error::Config(message),
        }
    }
}

/// The generated client's error type.
pub(crate) type WireError = progenitor_client::Error<TwilioError>;

/// Configures a [`Client`]. Credentials are required; everything else has a default.
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
/// cross a network in the clear. Returns the URL without a trailing slash. Errors show the
/// URL with any user information replaced by `***`.
fn checked_base_url(raw: &str) -> Result<String> {
    let shown = redact_userinfo(raw);
    let bad = |why: &str| Error::Config(format!("base URL {shown:?} {why}"));
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

/// `raw` with everything between `://` and the last `@` of the authority replaced by `***`,
/// whether or not the rest parses as a URL.
fn redact_userinfo(raw: &str) -> String {
    let (scheme, rest) = match raw.find("://") {
        Some(at) => raw.split_at(at + 3),
        None => ("", raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => raw.to_owned(),
    }
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
    fn errors_never_echo_user_information() {
        for raw in [
            "https://AC123:s3cret@proxy.example",
            "https://s3cret@proxy.example/x",
            "http://AC1:s3cret@example.com",
            "https://AC1:s3cret@[bad/x",
            "https://AC1:s3cret@exa mple.com/a@b",
            "AC1:s3cret@example.com",
            "https://a@b:s3cret@example.com",
        ] {
            let err = checked_base_url(raw).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("s3cret"), "{raw}: {shown}");
        }
        assert_eq!(
            redact_userinfo("https://u:p@h.example/a@b"),
            "https://***@h.example/a@b"
        );
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
