//! A faithful, stateful fake of the participant resource for offline tests (feature
//! `testing`).
//!
//! [`FakeServer`] runs in-process on `127.0.0.1` (ephemeral port) and behaves as the API is
//! documented: Basic auth (401, code 20003), 404 (code 20404) for an unknown service,
//! conversation or participant; list with `PageSize` 1..=100 (default 50) and `meta` shaped
//! as Twilio shapes it (`PageToken` next/previous URLs pointing at itself, `null` on the last
//! page); create (201 with a new `MB…` SID, dates and `url`; 409 with 50433 for an identity
//! already there, 50416 for an address and proxy address already bound; 400 without identity
//! or address), fetch by SID or identity, update (only the fields sent change; `null` removes
//! a binding field; `date_updated` moves) and delete (204, then 404); and the conversations a
//! participant is in (`ParticipantConversations`, by `Identity` or `Address`, from the
//! conversations it holds). Faults can be scripted
//! for retry tests; they apply to every operation. Every request is recorded with its method,
//! headers and body.
//!
//! ```
//! use twilio_conversations::{prelude::*, testing::{self, FakeServer}, Client, ConversationSid, ServiceSid};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In a downstream crate's test:
//! let fake = FakeServer::start().await?;
//! let service: ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
//! let conversation: ConversationSid = "CH0123456789abcdef0123456789abcdef".parse()?;
//! fake.add_conversation(&service, conversation.as_str(), testing::participants(&service, &conversation, 120, 7));
//! fake.fail_next(429, Some(0)); // the first request is rate-limited, then retried
//!
//! let client = Client::builder().base_url(fake.base_url()).credentials(fake.credentials()).build()?;
//! let sms = client
//!     .participants(&service, conversation.as_str())
//!     .page_size(50)
//!     .stream()
//!     .try_filter(|p| std::future::ready(p.messaging_binding.is_some()))
//!     .try_collect::<Vec<_>>()
//!     .await?;
//! assert_eq!(sms.len(), 60);
//! let requests = fake.requests();
//! assert_eq!(requests.len(), 4); // 429, then pages 0, 1 and 2
//! assert!(requests.iter().all(|r| r.authorized));
//! assert_eq!(requests[2].query_value("PageToken"), Some("PT00000032"));
//! # Ok(()) }
//! ```

mod event_sink;
mod generate;
mod participant_conversations;
mod resource;
mod webhooks;

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex, PoisonError, RwLock,
    },
    time::Duration,
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{body::Incoming, header, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, task::JoinSet};

pub use event_sink::SinkDelivery;
pub use generate::{participants, FAKE_ACCOUNT_SID};
pub use webhooks::WebhookDelivery;

use crate::{
    auth::Credentials,
    models::Participant,
    path::ConversationId,
    sid::{ConversationSid, ServiceSid},
};
use resource::Conversation;

/// The fake's Auth Token; not a secret, it only opens the fake.
pub const FAKE_AUTH_TOKEN: &str = "fake-auth-token";

/// A scripted misbehaviour, served instead of (or before) the next answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and Twilio's error body, with `Retry-After: secs` if given.
    Status {
        /// The HTTP status, e.g. 429 or 503.
        status: u16,
        /// The `Retry-After` header in seconds.
        retry_after: Option<u64>,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Close the connection without answering, after the request (and its body) arrived
    /// but before it is processed.
    Drop,
}

/// One request the fake received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path as sent (percent-encoded).
    pub path: String,
    /// The decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The request headers (names in lower case), in order; the `Authorization` value is
    /// recorded as `[REDACTED]` (see `has_credentials` and `authorized`).
    pub headers: Vec<(String, String)>,
    /// The request body as sent (a form for create and update).
    pub body: String,
    /// Whether an `Authorization` header was present.
    pub has_credentials: bool,
    /// Whether it matched the fake's credentials.
    pub authorized: bool,
}

impl RecordedRequest {
    /// The first value of query parameter `key`.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body's form fields, decoded, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

/// An in-process fake of the Service Conversation Participant resource; stops when dropped.
pub struct FakeServer {
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeServer")
            .field("base_url", &self.state.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Binds `127.0.0.1` on an ephemeral port and starts serving on the current Tokio runtime.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the I/O error if the port cannot be bound.
    pub async fn start() -> crate::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Binds `address` (port 0 for an ephemeral one) and starts serving on the current Tokio
    /// runtime: a fake other processes can reach at a known address, as
    /// `twilio-participants fake` runs it. [`base_url`](Self::base_url) names the address
    /// bound (`http://`, so a client accepts it only on a loopback host).
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the address and the I/O error if it cannot be bound.
    pub async fn start_on(address: SocketAddr) -> crate::Result<Self> {
        let cannot_bind = |e: std::io::Error| {
            crate::Error::Config(format!("the fake server cannot bind {address}: {e}"))
        };
        let listener = TcpListener::bind(address).await.map_err(cannot_bind)?;
        let base_url = format!("http://{}", listener.local_addr().map_err(cannot_bind)?);
        let credentials = fake_credentials();
        let authorization = credentials
            .authorization()
            .ok()
            .and_then(|value| value.to_str().ok().map(str::to_owned))
            .unwrap_or_default();
        let state = Arc::new(State {
            base_url,
            authorization,
            conversations: RwLock::default(),
            faults: Mutex::default(),
            requests: Mutex::default(),
            latency: Mutex::default(),
            max_in_flight: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
            participants_created: AtomicU64::new(0),
            outage: Mutex::default(),
            write_limit: Mutex::default(),
            webhooks: webhooks::Webhooks::default(),
            event_sink: event_sink::EventSink::default(),
        });
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(Self { state, task })
    }

    /// The URL to give [`crate::ClientBuilder::base_url`].
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// Credentials the fake accepts.
    pub fn credentials(&self) -> Credentials {
        fake_credentials()
    }

    /// Serves `participants` for `conversation` (a `CH…` SID or a unique name) in `service`,
    /// replacing any earlier ones.
    pub fn add_conversation(
        &self,
        service: &ServiceSid,
        conversation: impl Into<ConversationId>,
        participants: impl IntoIterator<Item = Participant>,
    ) {
        let conversation = conversation.into();
        let data = Conversation::new(conversation.as_str(), participants);
        self.state
            .conversations
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                (service.to_string(), conversation.as_str().to_owned()),
                Arc::new(Mutex::new(data)),
            );
    }

    /// Serves `count` participants from [`participants`] (deterministic from `seed`) for
    /// `conversation` in `service`.
    pub fn add_generated(
        &self,
        service: &ServiceSid,
        conversation: impl Into<ConversationId>,
        count: usize,
        seed: u64,
    ) {
        let conversation = conversation.into();
        let sid = conversation
            .as_str()
            .parse::<ConversationSid>()
            .unwrap_or_else(|_| resource::derived_conversation_sid(conversation.as_str()));
        let generated = participants(service, &sid, count, seed);
        self.add_conversation(service, conversation, generated);
    }

    /// The participants of `conversation` as the fake holds them now, in list order.
    pub fn participants(
        &self,
        service: &ServiceSid,
        conversation: impl Into<ConversationId>,
    ) -> Vec<Participant> {
        self.state
            .conversation(service.as_str(), conversation.into().as_str())
            .map(|found| {
                found
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .decoded()
            })
            .unwrap_or_default()
    }

    /// Answers the next request with `status` (and `Retry-After: secs`), then carries on.
    pub fn fail_next(&self, status: u16, retry_after: Option<u64>) {
        self.inject(
            Fault::Status {
                status,
                retry_after,
            },
            1,
        );
    }

    /// Applies `fault` to each of the next `times` requests (after those already scripted).
    pub fn inject(&self, fault: Fault, times: usize) {
        let mut faults = self
            .state
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        faults.extend(std::iter::repeat_n(fault, times));
    }

    /// Delays every answer by `latency` from now on, as a distant server would (the
    /// benchmark's round-trip rows use it). `Duration::ZERO` turns it off.
    pub fn set_latency(&self, latency: Duration) {
        *self
            .state
            .latency
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = latency;
    }

    /// Answers 429 (Twilio code 20429, no `Retry-After`, as Twilio does) to any request
    /// that arrives while `max` others are being answered: an account's concurrency limit.
    /// `None` lifts it.
    pub fn set_max_in_flight(&self, max: Option<usize>) {
        *self
            .state
            .max_in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = max;
    }

    /// The most requests the fake was answering at once so far.
    pub fn peak_in_flight(&self) -> usize {
        self.state.peak_in_flight.load(Ordering::SeqCst)
    }

    /// Answers every request with `status` (and Twilio's error body) for `duration` from
    /// now: an outage.
    pub fn fail_for(&self, duration: Duration, status: u16) {
        *self
            .state
            .outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Some((tokio::time::Instant::now() + duration, status));
    }

    /// Answers 429 (Twilio code 20429) to a participant write (create, update or delete)
    /// that arrives when `per_second` writes to the same conversation (as named in the
    /// path) arrived in the second before it: Twilio's per-conversation limit, counted over
    /// any one-second window. Refused writes do not count. `None` lifts it.
    pub fn set_conversation_write_limit(&self, per_second: Option<usize>) {
        let mut limit = self
            .state
            .write_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *limit = per_second.map(|max| (max, HashMap::new()));
    }

    /// Drops every scripted fault not used yet; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        let mut faults = self
            .state
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let unused = faults.len();
        faults.clear();
        unused
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The credentials every [`FakeServer`] accepts ([`FAKE_ACCOUNT_SID`], [`FAKE_AUTH_TOKEN`]).
pub fn fake_credentials() -> Credentials {
    Credentials::auth_token(
        FAKE_ACCOUNT_SID.parse().expect("valid constant SID"),
        FAKE_AUTH_TOKEN,
    )
}

/// Conversations by (service SID, conversation SID or unique name).
type Conversations = HashMap<(String, String), Arc<Mutex<Conversation>>>;

struct State {
    base_url: String,
    authorization: String,
    conversations: RwLock<Conversations>,
    faults: Mutex<VecDeque<Fault>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// Added before every answer: a simulated round trip.
    latency: Mutex<Duration>,
    /// Post-event webhooks (`webhooks.rs`).
    webhooks: webhooks::Webhooks,
    /// Event Streams deliveries (`event_sink.rs`).
    event_sink: event_sink::EventSink,
    /// More requests than this at once are answered 429.
    max_in_flight: Mutex<Option<usize>>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    /// Participants created through the API in all conversations, numbering new SIDs.
    participants_created: AtomicU64,
    /// Every request is answered with this status until then.
    outage: Mutex<Option<(tokio::time::Instant, u16)>>,
    /// The most writes a second per conversation, and when each conversation's recent
    /// writes arrived.
    write_limit: Mutex<Option<WriteLimit>>,
}

/// A per-conversation write limit: the most a second, and the arrivals within the last one.
type WriteLimit = (usize, HashMap<String, VecDeque<tokio::time::Instant>>);

/// Counts a request as being answered until dropped.
struct Answering<'a>(&'a AtomicUsize);

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The first and the longest wait after a failed `accept`.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    // Connection tasks live in the set, so aborting this task closes them too.
    let mut connections = JoinSet::new();
    // An accept error (e.g. too many open files) persists for a while: wait before trying
    // again, longer each time, rather than spin.
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
            continue;
        };
        backoff = ACCEPT_BACKOFF_MIN;
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move { state.handle(request).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

/// Closes the connection without an answer (the `Drop` fault).
#[derive(Debug)]
struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by a scripted fault")
    }
}

impl std::error::Error for Dropped {}

type Answer = Result<Response<Full<Bytes>>, Dropped>;

impl State {
    async fn handle(&self, request: Request<Incoming>) -> Answer {
        use http_body_util::BodyExt;
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
            Err(_) => return Err(Dropped),
        };
        let query: Vec<(String, String)> =
            url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let sent = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let authorized = sent == Some(self.authorization.as_str());
        let recorded = RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query,
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    let value = if k == header::AUTHORIZATION {
                        "[REDACTED]".to_owned()
                    } else {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    };
                    (k.as_str().to_owned(), value)
                })
                .collect(),
            body,
            has_credentials: sent.is_some(),
            authorized,
        };
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(recorded.clone());

        let answering = Answering(&self.in_flight);
        let at_once = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_in_flight.fetch_max(at_once, Ordering::SeqCst);
        let latency = *self.latency.lock().unwrap_or_else(PoisonError::into_inner);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let limit = *self
            .max_in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if limit.is_some_and(|max| at_once > max) {
            return Ok(error(429, Some(20429), "Too Many Requests"));
        }
        let outage = *self.outage.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((until, status)) = outage {
            if tokio::time::Instant::now() < until {
                return Ok(error(status, None, "Scripted outage"));
            }
        }
        drop(answering);
        if self.over_write_limit(&recorded) {
            return Ok(error(429, Some(20429), "Too Many Requests"));
        }
        let fault = self
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        match fault {
            Some(Fault::Status {
                status,
                retry_after,
            }) => {
                let code = if status == 429 { Some(20429) } else { None };
                let mut response = error(status, code, "Scripted failure");
                if let Some(secs) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, secs.into());
                }
                return Ok(response);
            }
            Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::Drop) => return Err(Dropped),
            None => {}
        }
        if !authorized {
            return Ok(error(401, Some(20003), "Authenticate"));
        }
        // Post-event webhooks (`webhooks.rs`) and Event Streams batches (`event_sink.rs`),
        // sent before the answer; a delete's event describes the participant before it.
        let before = (self.webhooks.wanted(&recorded) || self.event_sink.is_on())
            .then(|| webhooks::participant_before_delete(self, &recorded))
            .flatten();
        let response = self.route(&recorded);
        let response = self
            .webhooks
            .after(&recorded, before.clone(), response)
            .await;
        Ok(self
            .event_sink
            .after(self, &recorded, before, response)
            .await)
    }

    /// Whether `request` is a participant write beyond its conversation's limit; counts it
    /// when it is not.
    fn over_write_limit(&self, request: &RecordedRequest) -> bool {
        let mut limit = self
            .write_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some((max, arrivals)) = limit.as_mut() else {
            return false;
        };
        let write = matches!(request.method.as_str(), "POST" | "DELETE");
        let Some(route) = parse_path(&request.path).filter(|_| write) else {
            return false;
        };
        let now = tokio::time::Instant::now();
        let recent = arrivals
            .entry(format!("{}/{}", route.service, route.conversation))
            .or_default();
        while recent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1))
        {
            recent.pop_front();
        }
        if recent.len() >= *max {
            return true;
        }
        recent.push_back(now);
        false
    }

    /// A conversation by the name it was added under, or by its `CH…` SID (Twilio takes
    /// either in the path).
    fn conversation(&self, service: &str, conversation: &str) -> Option<Arc<Mutex<Conversation>>> {
        let conversations = self
            .conversations
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = conversations.get(&(service.to_owned(), conversation.to_owned())) {
            return Some(found.clone());
        }
        conversations
            .iter()
            .filter(|((owner, _), _)| owner == service)
            .map(|(_, found)| found)
            .find(|found| {
                found
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .sid()
                    .as_str()
                    == conversation
            })
            .cloned()
    }

    /// Dispatches on the path and method, as Twilio's two paths do.
    fn route(&self, request: &RecordedRequest) -> Response<Full<Bytes>> {
        let path = request.path.as_str();
        let not_found = || {
            error(
                404,
                Some(20404),
                &format!("The requested resource {path} was not found"),
            )
        };
        // ListServiceParticipantConversation (see participant_conversations.rs).
        if let Some(service) = participant_conversations::parse_path(path) {
            return match request.method.as_str() {
                "GET" => self.participant_conversations(service, request),
                _ => error(405, None, "Method not allowed"),
            };
        }
        let Some(route) = parse_path(path) else {
            return not_found();
        };
        let Some(found) = self.conversation(&route.service, &route.conversation) else {
            return not_found();
        };
        let mut conversation = found.lock().unwrap_or_else(PoisonError::into_inner);
        let resource_url = format!("{}{}", self.base_url, path);
        let answer = match (request.method.as_str(), route.participant.as_deref()) {
            ("GET", None) => return self.list(&mut conversation, path, &request.query),
            ("POST", None) => conversation.create(
                &route.service,
                &resource_url,
                &request.form(),
                &self.participants_created,
            ),
            ("GET", Some(id)) => conversation.fetch(id),
            ("POST", Some(id)) => conversation.update(id, &request.form()),
            ("DELETE", Some(id)) => conversation.delete(id),
            _ => return error(405, None, "Method not allowed"),
        };
        match answer {
            Ok(Some((status, body))) => json_response(status, Bytes::from(body)),
            Ok(None) => {
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = StatusCode::NO_CONTENT;
                response
            }
            Err(resource::Refusal::NotFound) => not_found(),
            Err(resource::Refusal::Error {
                status,
                code,
                message,
            }) => error(status, code, &message),
        }
    }

    fn list(
        &self,
        found: &mut Conversation,
        path: &str,
        query: &[(String, String)],
    ) -> Response<Full<Bytes>> {
        let value = |key: &str| {
            query
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let size = match value("PageSize").map(str::parse::<usize>) {
            None => 50,
            Some(Ok(size @ 1..=100)) => size,
            Some(_) => return error(400, None, "PageSize must be an integer from 1 to 100"),
        };
        let Ok(page) = value("Page").map_or(Ok(0), str::parse::<u64>) else {
            return error(400, None, "Page must be a non-negative integer");
        };
        let start = match value("PageToken") {
            Some(token) => match parse_token(token) {
                Some(start) if start <= found.len() => start,
                _ => return error(400, Some(21481), "Invalid PageToken"),
            },
            None if page > 0 => {
                return error(400, Some(70002), "Paged requests must include a PageToken")
            }
            None => 0,
        };
        json_response(200, found.page(&self.base_url, path, size, start, page))
    }
}

/// The decoded segments of the resource's two paths.
#[derive(Debug, PartialEq, Eq)]
struct Route {
    service: String,
    conversation: String,
    participant: Option<String>,
}

/// `/v1/Services/{service}/Conversations/{conversation}/Participants[/{participant}]`,
/// each segment percent-decoded.
fn parse_path(path: &str) -> Option<Route> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(|v| v.into_owned())
    };
    let mut segments = path.strip_prefix("/v1/Services/")?.split('/');
    let service = decode(segments.next()?)?;
    if segments.next()? != "Conversations" {
        return None;
    }
    let conversation = decode(segments.next()?)?;
    if segments.next()? != "Participants" {
        return None;
    }
    let participant = match segments.next() {
        Some(segment) => Some(decode(segment)?),
        None => None,
    };
    if segments.next().is_some() {
        return None;
    }
    Some(Route {
        service,
        conversation,
        participant,
    })
}

/// `PT`/`PB` followed by the hexadecimal index of the page's first item.
fn parse_token(token: &str) -> Option<usize> {
    let hex = token
        .strip_prefix("PT")
        .or_else(|| token.strip_prefix("PB"))?;
    usize::from_str_radix(hex, 16).ok()
}

/// Twilio's JSON error body with `status`.
fn error(status: u16, code: Option<i64>, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "code": code,
        "message": message,
        "more_info": code.map(|c| format!("https://www.twilio.com/docs/errors/{c}")),
        "status": status,
    });
    json_response(status, Bytes::from(body.to_string()))
}

/// A JSON answer with `status`.
fn json_response(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_tokens() {
        assert_eq!(
            parse_path("/v1/Services/IS1/Conversations/support%2Fa%20b/Participants"),
            Some(Route {
                service: "IS1".into(),
                conversation: "support/a b".into(),
                participant: None
            })
        );
        assert_eq!(
            parse_path("/v1/Services/IS1/Conversations/CH1/Participants/alice%40x")
                .and_then(|r| r.participant),
            Some("alice@x".into())
        );
        assert_eq!(parse_path("/v1/Services/IS1/Conversations/CH1"), None);
        assert_eq!(
            parse_path("/v1/Services/IS1/Conversations/CH1/Participants/a/b"),
            None
        );
        assert_eq!(parse_token("PT00000032"), Some(50));
        assert_eq!(parse_token("PB0"), Some(0));
        assert_eq!(parse_token("XX1"), None);
    }
}
