//! `X-Twilio-Signature`: computing it and checking it, as Twilio's helper libraries do.

use std::fmt;

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::{digest, hmac, rand::SystemRandom};
use secrecy::{ExposeSecret, SecretString};

use crate::error::redact_userinfo;

/// The query parameter Twilio adds to the URL of a request with a JSON body: the lower-case
/// hexadecimal SHA-256 of the raw body.
pub const BODY_SHA256_PARAM: &str = "bodySHA256";

/// The header Twilio sends the signature in.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// An account's Auth Token, the key of the signature. It is a secret: no `Debug` output
/// shows it, and it has no `Display`.
#[derive(Clone)]
pub struct AuthToken(SecretString);

impl AuthToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(SecretString::from(token.into()))
    }

    fn key(&self) -> hmac::Key {
        hmac::Key::new(
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            self.0.expose_secret().as_bytes(),
        )
    }
}

impl From<SecretString> for AuthToken {
    fn from(token: SecretString) -> Self {
        Self(token)
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken([REDACTED])")
    }
}

/// Why a request does not verify (or cannot be read).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The request carries no `X-Twilio-Signature` header, or an empty one (Twilio's node
    /// middleware answers 400).
    #[error("the request has no X-Twilio-Signature header")]
    MissingSignature,
    /// No token signs any of the URL variants as the header says (answer 403).
    #[error(
        "the signature matches none of the URLs tried with {tokens} token(s): {}",
        tried.join(", ")
    )]
    Mismatch {
        /// The URL variants the signature was checked against: the URL as given, then with
        /// its port removed or the scheme's default port added (user information, query
        /// values and any fragment shown as `***`: only the query's names are kept).
        tried: Vec<String>,
        /// How many tokens were tried.
        tokens: usize,
    },
    /// The signature is valid, but the JSON body is not the one it was signed with: its
    /// SHA-256 differs from the URL's `bodySHA256` (answer 403).
    #[error("the body's SHA-256 is {actual}, not the URL's bodySHA256 {expected}")]
    BodyHashMismatch {
        /// The `bodySHA256` value in the URL.
        expected: String,
        /// The lower-case hexadecimal SHA-256 of the body received.
        actual: String,
    },
    /// The URL is not an absolute `scheme://host…` URL (shown with user information, query
    /// values and any fragment as `***`).
    #[error("malformed URL: {0}")]
    MalformedUrl(String),
    /// The form body is not `application/x-www-form-urlencoded` UTF-8 text.
    #[error("malformed form body: {0}")]
    MalformedBody(String),
    /// A validator or signer was given no token.
    #[error("no auth token to check the signature with")]
    NoToken,
}

/// What the signed request carries, once verified.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifiedBody {
    /// A form body's decoded fields in order (none for a GET or an empty body).
    Form(Vec<(String, String)>),
    /// A JSON body (the URL had `bodySHA256`), as received; not parsed.
    Json(Vec<u8>),
}

/// A request whose signature (and, for JSON, body hash) checked out. Its `Debug` shows the
/// URL's user information as `***`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedRequest {
    /// The URL variant the signature matched (as given: it may carry credentials).
    pub url: String,
    /// The URL's decoded query parameters in order (a GET webhook's fields are here).
    pub query: Vec<(String, String)>,
    /// The body.
    pub body: VerifiedBody,
}

impl fmt::Debug for VerifiedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedRequest")
            .field("url", &redact_userinfo(&self.url))
            .field("query", &self.query)
            .field("body", &self.body)
            .finish()
    }
}

impl VerifiedRequest {
    /// The URL the signature matched, with any user information shown as `***`.
    pub fn url_shown(&self) -> String {
        redact_userinfo(&self.url)
    }

    /// The request's fields: the form body's, or, when the body has none (a GET webhook),
    /// the URL's query parameters. `None` for a JSON body.
    pub fn params(&self) -> Option<&[(String, String)]> {
        match &self.body {
            VerifiedBody::Form(form) if !form.is_empty() => Some(form),
            VerifiedBody::Form(_) => Some(&self.query),
            VerifiedBody::Json(_) => None,
        }
    }
}

/// Checks `X-Twilio-Signature` with one Auth Token or several (the primary and the
/// secondary, while rotating).
///
/// ```
/// use twilio_conversations::webhook::{sign, AuthToken, RequestValidator};
///
/// let token = AuthToken::new("12345");
/// let url = "https://example.com/twilio/participants";
/// let body = b"EventType=onParticipantAdded&Source=API";
/// let signature = sign(&token, url, &[("EventType", "onParticipantAdded"), ("Source", "API")]);
/// let validator = RequestValidator::new(token);
/// let request = validator.validate(url, body, Some(&signature)).unwrap();
/// assert_eq!(request.params().unwrap().len(), 2);
/// assert!(validator.validate(url, b"EventType=onParticipantAdded&Source=SDK", Some(&signature)).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct RequestValidator {
    tokens: Vec<AuthToken>,
}

impl RequestValidator {
    /// A validator with the account's (primary) Auth Token.
    pub fn new(token: AuthToken) -> Self {
        Self {
            tokens: vec![token],
        }
    }

    /// A validator accepting a signature made with any of `tokens` (none: every request is
    /// refused with [`SignatureError::NoToken`]).
    pub fn with_tokens(tokens: impl IntoIterator<Item = AuthToken>) -> Self {
        Self {
            tokens: tokens.into_iter().collect(),
        }
    }

    /// Also accepts signatures made with `token` (e.g. the secondary Auth Token).
    pub fn also_accept(mut self, token: AuthToken) -> Self {
        self.tokens.push(token);
        self
    }

    /// Checks a request: `url` as Twilio called it (the public URL configured in Twilio,
    /// with its query), the raw `body` (form-encoded, JSON when the URL has `bodySHA256`,
    /// empty for a GET) and the `X-Twilio-Signature` header's value.
    ///
    /// Valid when some token's HMAC-SHA1 of a URL variant (as given; with any port removed;
    /// with the scheme's default port added) followed by the sorted form fields equals the
    /// signature, and, for a JSON body, the body's SHA-256 equals `bodySHA256`. Both
    /// comparisons take constant time.
    ///
    /// # Errors
    /// [`SignatureError`] saying why the request is refused.
    pub fn validate(
        &self,
        url: &str,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<VerifiedRequest, SignatureError> {
        if self.tokens.is_empty() {
            return Err(SignatureError::NoToken);
        }
        let signature = signature
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(SignatureError::MissingSignature)?;
        let parts = UrlParts::parse(url)?;
        let query = parse_form(parts.query().as_bytes())
            .map_err(|e| SignatureError::MalformedUrl(format!("its query {e}")))?;
        let body_hash = query
            .iter()
            .find(|(name, _)| name == BODY_SHA256_PARAM)
            .map(|(_, value)| value.clone());
        let params = match body_hash {
            Some(_) => Vec::new(),
            None => parse_form(body).map_err(SignatureError::MalformedBody)?,
        };
        // An undecodable header matches nothing; it is compared like any other.
        let claimed = STANDARD.decode(signature).unwrap_or_default();
        let variants = parts.variants();
        let tail = params_tail(&params);
        let matched = variants.iter().find(|variant| {
            let mut data = Vec::with_capacity(variant.len() + tail.len());
            data.extend_from_slice(variant.as_bytes());
            data.extend_from_slice(&tail);
            self.tokens
                .iter()
                .any(|token| hmac::verify(&token.key(), &data, &claimed).is_ok())
        });
        let Some(matched) = matched else {
            return Err(SignatureError::Mismatch {
                // A webhook URL may carry credentials: they are never shown.
                tried: variants.iter().map(|url| url_for_errors(url)).collect(),
                tokens: self.tokens.len(),
            });
        };
        let body = match body_hash {
            Some(expected) => {
                let actual = body_sha256(body);
                if !equal_in_constant_time(expected.as_bytes(), actual.as_bytes()) {
                    return Err(SignatureError::BodyHashMismatch {
                        expected: expected.chars().take(80).collect(),
                        actual,
                    });
                }
                VerifiedBody::Json(body.to_vec())
            }
            None => VerifiedBody::Form(params),
        };
        Ok(VerifiedRequest {
            url: matched.clone(),
            query,
            body,
        })
    }

    /// Checks an [`http::Request`] (as hyper, axum and other `http`-based servers hand it
    /// over) with its whole body: the URL is `public_origin` (the scheme and host Twilio
    /// calls, e.g. `https://example.com`, as configured in Twilio: not the address a proxy
    /// forwarded to) followed by the request's path and query; the signature is its
    /// `X-Twilio-Signature` header.
    ///
    /// # Errors
    /// As [`RequestValidator::validate`]; a header that is not text counts as missing.
    pub fn validate_http<B: AsRef<[u8]>>(
        &self,
        public_origin: &str,
        request: &http::Request<B>,
    ) -> Result<VerifiedRequest, SignatureError> {
        let (url, signature) = url_and_signature(public_origin, request);
        self.validate(&url, request.body().as_ref(), signature)
    }
}

/// The URL Twilio called (`public_origin` followed by the request's path and query) and the
/// request's `X-Twilio-Signature` (`None` when missing or not text).
pub(super) fn url_and_signature<'r, B>(
    public_origin: &str,
    request: &'r http::Request<B>,
) -> (String, Option<&'r str>) {
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let url = format!("{}{path_and_query}", public_origin.trim_end_matches('/'));
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    (url, signature)
}

/// The signature of a request to `url` carrying the form fields `params` (none for a GET or
/// a JSON body): base64 of the HMAC-SHA1, keyed with `token`, of the URL followed by each
/// field's name and value, sorted by name (byte order); a repeated name's distinct values
/// are appended in sorted order, each after the name, as twilio-python and twilio-node do.
///
/// ```
/// use twilio_conversations::webhook::{sign, AuthToken, RequestValidator};
///
/// # fn main() -> Result<(), twilio_conversations::webhook::SignatureError> {
/// // A test of your receiver: sign a request as Twilio would, then check it.
/// let token = AuthToken::new("test-auth-token");
/// let url = "https://example.com/twilio/participants";
/// let form = [("EventType", "onParticipantAdded"), ("Identity", "alice")];
/// let signature = sign(&token, url, &form);
///
/// let body = "EventType=onParticipantAdded&Identity=alice";
/// let verified = RequestValidator::new(token).validate(url, body.as_bytes(), Some(&signature))?;
/// assert_eq!(verified.params().map(<[_]>::len), Some(2));
/// # Ok(()) }
/// ```
pub fn sign<K: AsRef<str>, V: AsRef<str>>(
    token: &AuthToken,
    url: &str,
    params: &[(K, V)],
) -> String {
    let mut data = url.as_bytes().to_vec();
    data.extend_from_slice(&params_tail(params));
    STANDARD.encode(hmac::sign(&token.key(), &data))
}

/// The signature Twilio would send with `body` to `url`: a JSON body when the URL has
/// `bodySHA256` (which must then be the body's hash), a form body otherwise.
///
/// # Errors
/// [`SignatureError::BodyHashMismatch`] when the URL's `bodySHA256` is not the body's
/// hash; [`SignatureError::MalformedUrl`] or [`SignatureError::MalformedBody`].
pub fn sign_request(token: &AuthToken, url: &str, body: &[u8]) -> Result<String, SignatureError> {
    let parts = UrlParts::parse(url)?;
    let query = parse_form(parts.query().as_bytes())
        .map_err(|e| SignatureError::MalformedUrl(format!("its query {e}")))?;
    match query.iter().find(|(name, _)| name == BODY_SHA256_PARAM) {
        Some((_, expected)) => {
            let actual = body_sha256(body);
            if *expected != actual {
                return Err(SignatureError::BodyHashMismatch {
                    expected: expected.chars().take(80).collect(),
                    actual,
                });
            }
            Ok(sign::<&str, &str>(token, url, &[]))
        }
        None => Ok(sign(
            token,
            url,
            &parse_form(body).map_err(SignatureError::MalformedBody)?,
        )),
    }
}

/// The decoded value of query parameter `name` in `url` (its first occurrence), read as the
/// validator reads the URL.
///
/// # Errors
/// [`SignatureError::MalformedUrl`] when the URL or its query cannot be read.
pub(super) fn query_value(url: &str, name: &str) -> Result<Option<String>, SignatureError> {
    let parts = UrlParts::parse(url)?;
    let query = parse_form(parts.query().as_bytes())
        .map_err(|e| SignatureError::MalformedUrl(format!("its query {e}")))?;
    Ok(query
        .into_iter()
        .find(|(found, _)| found == name)
        .map(|(_, value)| value))
}

/// The lower-case hexadecimal SHA-256 of `body`, Twilio's `bodySHA256`.
pub fn body_sha256(body: &[u8]) -> String {
    use fmt::Write;
    let digest = digest::digest(&digest::SHA256, body);
    digest
        .as_ref()
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Names and values appended to the URL: names in byte order, each repeated name's distinct
/// values sorted.
fn params_tail<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> Vec<u8> {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut tail = Vec::new();
    for (name, value) in sorted {
        tail.extend_from_slice(name.as_bytes());
        tail.extend_from_slice(value.as_bytes());
    }
    tail
}

/// `a == b` without an early exit: the two are compared through an HMAC under a fresh
/// random key (ring's `hmac::verify` compares in constant time), so the time taken does not
/// depend on where they differ.
pub(super) fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    let Ok(key) = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new()) else {
        return false;
    };
    hmac::verify(&key, a, hmac::sign(&key, b).as_ref()).is_ok()
}

/// `url` as an error may show it: user information, each query value and any fragment
/// replaced by `***` (a webhook URL's query can carry secrets); the query's names stay, to
/// tell the variants apart.
fn url_for_errors(url: &str) -> String {
    let url = redact_userinfo(url);
    let (url, fragment) = match url.split_once('#') {
        Some((url, _)) => (url, "#***"),
        None => (url.as_str(), ""),
    };
    let Some((head, query)) = url.split_once('?') else {
        return format!("{url}{fragment}");
    };
    let names: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}=***"),
            None => pair.to_owned(),
        })
        .collect();
    format!("{head}?{}{fragment}", names.join("&"))
}

/// Decodes `application/x-www-form-urlencoded` bytes strictly: `+` is a space, `%XX` a byte,
/// and every name and value must be UTF-8 once decoded.
fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut fields = Vec::new();
    for pair in body.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        fields.push((decode_component(name)?, decode_component(value)?));
    }
    Ok(fields)
}

fn decode_component(raw: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        match raw[at] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(at + 1..at + 3).and_then(|h| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        at += 2;
                    }
                    // A `%` not followed by two hex digits stands for itself, as browsers
                    // and the url crate read it.
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        at += 1;
    }
    String::from_utf8(out).map_err(|e| {
        format!(
            "has a field that is not UTF-8 once decoded (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// A URL cut where its port is, without any normalisation: the signature covers the URL's
/// exact text.
struct UrlParts<'a> {
    /// `scheme://` with any user info and the host.
    head: &'a str,
    /// The port's digits, if the URL names one.
    port: Option<&'a str>,
    /// The path, query and fragment, as given.
    rest: &'a str,
    /// The scheme's default port.
    default_port: &'static str,
}

impl<'a> UrlParts<'a> {
    fn parse(url: &'a str) -> Result<Self, SignatureError> {
        let shown = url_for_errors(url);
        let malformed = |why: &str| SignatureError::MalformedUrl(format!("{why} in {shown:?}"));
        let (scheme, after) = url
            .split_once("://")
            .ok_or_else(|| malformed("no scheme://"))?;
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(malformed("no valid scheme"));
        }
        let authority_len = after.find(['/', '?', '#']).unwrap_or(after.len());
        let authority = &after[..authority_len];
        let host_start = authority.rfind('@').map_or(0, |at| at + 1);
        let host_and_port = &authority[host_start..];
        // After an IPv6 literal's `]`, or anywhere in a name, the last `:` starts the port.
        let search_from = host_and_port.rfind(']').unwrap_or(0);
        let port_colon = host_and_port[search_from..]
            .rfind(':')
            .map(|at| search_from + at);
        let (host, port) = match port_colon {
            Some(at) => (&host_and_port[..at], Some(&host_and_port[at + 1..])),
            None => (host_and_port, None),
        };
        if host.is_empty() {
            return Err(malformed("no host"));
        }
        if port.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit())) {
            return Err(malformed("a port that is not a number"));
        }
        let head_len = scheme.len() + 3 + host_start + host.len();
        Ok(Self {
            head: &url[..head_len],
            // An empty port (`host:/path`) counts as none, as urllib reads it.
            port: port.filter(|p| !p.is_empty()),
            rest: &after[authority_len..],
            default_port: if scheme.eq_ignore_ascii_case("https") {
                "443"
            } else {
                "80"
            },
        })
    }

    /// The query, without `?` and any fragment.
    fn query(&self) -> &'a str {
        let rest = self.rest.split('#').next().unwrap_or_default();
        rest.split_once('?').map_or("", |(_, query)| query)
    }

    /// The URL as given (rebuilt from its parts, so `host:/path` loses the lone `:`), then
    /// the other candidate: without its port when it has one, with the scheme's default
    /// port when it has none.
    fn variants(&self) -> Vec<String> {
        let (head, rest) = (self.head, self.rest);
        match self.port {
            Some(port) => vec![format!("{head}:{port}{rest}"), format!("{head}{rest}")],
            None => vec![
                format!("{head}{rest}"),
                format!("{head}:{}{rest}", self.default_port),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_query_names_never_values() {
        assert_eq!(
            url_for_errors("https://u:p@example.com/hook?token=s3cret&flag&bodySHA256=ab#frag"),
            "https://***@example.com/hook?token=***&flag&bodySHA256=***#***"
        );
        assert_eq!(
            url_for_errors("https://example.com/hook"),
            "https://example.com/hook"
        );
        let token = AuthToken::new("12345");
        let err = RequestValidator::new(token)
            .validate("https://example.com/hook?key=s3cret", b"", Some("bm90IGl0"))
            .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(
            err.to_string().contains("https://example.com/hook?key=***"),
            "{err}"
        );
    }

    #[test]
    fn url_variants() {
        let variants = |url| UrlParts::parse(url).unwrap().variants();
        assert_eq!(
            variants("https://a.com/x?y=1"),
            ["https://a.com/x?y=1", "https://a.com:443/x?y=1"]
        );
        assert_eq!(
            variants("http://u:p@a.com:1234"),
            ["http://u:p@a.com:1234", "http://u:p@a.com"]
        );
        assert_eq!(
            variants("http://[::1]:8080/x"),
            ["http://[::1]:8080/x", "http://[::1]/x"]
        );
        assert_eq!(
            variants("HTTPS://[::1]/x#f"),
            ["HTTPS://[::1]/x#f", "HTTPS://[::1]:443/x#f"]
        );
        assert!(matches!(
            UrlParts::parse("/relative"),
            Err(SignatureError::MalformedUrl(_))
        ));
        assert!(matches!(
            UrlParts::parse("http://a.com:80x/"),
            Err(SignatureError::MalformedUrl(_))
        ));
        assert!(matches!(
            UrlParts::parse("http:///path"),
            Err(SignatureError::MalformedUrl(_))
        ));
    }

    #[test]
    fn form_decoding_is_strict_about_utf8() {
        assert_eq!(
            parse_form(b"a=1+2&b=%2B%40&c&=d&e=%zz").unwrap(),
            [
                ("a".into(), "1 2".into()),
                ("b".into(), "+@".into()),
                ("c".into(), String::new()),
                (String::new(), "d".into()),
                ("e".into(), "%zz".into()),
            ]
        );
        assert_eq!(
            parse_form(b"a=%FF").unwrap_err(),
            "has a field that is not UTF-8 once decoded (byte 0)"
        );
    }

    #[test]
    fn constant_time_equality() {
        assert!(equal_in_constant_time(b"abc", b"abc"));
        assert!(!equal_in_constant_time(b"abc", b"abd"));
        assert!(!equal_in_constant_time(b"abc", b"ab"));
    }

    #[test]
    fn token_is_never_shown() {
        let token = AuthToken::new("super-secret");
        assert_eq!(format!("{token:?}"), "AuthToken([REDACTED])");
        let validator = RequestValidator::new(token);
        assert!(!format!("{validator:?}").contains("super-secret"));
    }
}
