//! The settings every request of a client shares, and the checks that make them safe:
//! the host (https, or plain http only for loopback; never user information), TLS, timeouts.

use std::{fmt, sync::Arc, time::Duration};

use reqwest::header::HeaderValue;

use crate::{
    auth::Credentials,
    error::{redact_userinfo, Error, Result},
    limits::{Budget, Limiter, Outage, WritePacer},
    retry::RetryPolicy,
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
    /// Requests in flight and pacing, shared by every clone and stream of the client.
    pub(crate) limiter: Limiter,
    /// Retries the client may still spend, shared likewise.
    pub(crate) budget: Budget,
    /// Whether the API is in an outage (attempts held back, probes), shared likewise.
    pub(crate) outage: Outage,
    /// When each conversation's next write may start, shared likewise.
    pub(crate) pacer: WritePacer,
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
            .field("limiter", &self.limiter)
            .field("budget", &self.budget)
            .field("outage", &self.outage.snapshot())
            .finish_non_exhaustive()
    }
}

/// `https://conversations[.{edge}][.{region}].twilio.com`, as Twilio's SDKs build it.
pub(crate) fn twilio_host(region: Option<&str>, edge: Option<&str>) -> Result<String> {
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
pub(crate) fn checked_base_url(raw: &str) -> Result<String> {
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

/// reqwest with rustls on the ring provider and the platform's trust store; no redirects
/// (the endpoint has none, and a redirect must never carry credentials elsewhere).
pub(crate) fn default_http_client(connect_timeout: Duration) -> Result<reqwest::Client> {
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
