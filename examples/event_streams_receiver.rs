//! A receiver of both of Twilio's participant channels on hyper, through the `http`
//! adapter: Conversations webhooks (`RequestValidator::validate_http`) and Event Streams
//! deliveries (`RequestValidator::validate_event_streams_http`), each turned into one
//! `ParticipantChange`, with `SeenEvents` dropping Event Streams' redeliveries.
//!
//! ```sh
//! cargo run --example event_streams_receiver --features testing   # the fake sends both, each batch twice
//! ```
//! Against Twilio, serve `Receiver::answer` on a public origin (e.g. through `ngrok http
//! 8080`) and give that origin as `public_origin`: Twilio signs the URL it calls.

use std::{
    convert::Infallible,
    error::Error,
    process::ExitCode,
    sync::{Arc, Mutex, PoisonError},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{body::Incoming, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use twilio_conversations::{
    testing::{FakeServer, FAKE_AUTH_TOKEN},
    webhook::{
        AuthToken, ParticipantChange, ParticipantEvent, RequestValidator, Seen, SeenEvents,
        BODY_SHA256_PARAM,
    },
    Client, ServiceSid,
};

#[tokio::main]
async fn main() -> ExitCode {
    match demo().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the receiver on loopback, points the fake's webhooks and Event Streams sink at it,
/// makes three changes (each batch delivered twice), then sends one forged request.
async fn demo() -> Result<(), Box<dyn Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let receiver = Arc::new(Receiver {
        validator: RequestValidator::new(AuthToken::new(FAKE_AUTH_TOKEN)),
        public_origin: origin.clone(),
        seen: Mutex::new(SeenEvents::new(10_000)),
        changes: Mutex::new(Vec::new()),
    });
    tokio::spawn(serve(listener, receiver.clone()));

    let fake = FakeServer::start().await?;
    let service: ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    fake.add_conversation(&service, "support-room-7", []);
    fake.set_webhook_url(Some(&format!("{origin}/twilio/participants")));
    fake.set_event_streams_sink(Some(&format!("{origin}/twilio/events")));
    fake.deliver_event_streams_twice(true);
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .build()?;
    let participants = client.participants(&service, "support-room-7");
    let alice = participants
        .create()
        .identity("alice")
        .webhook_enabled(true)
        .await?;
    let sid = alice.sid.ok_or("the fake answered without a SID")?;
    participants
        .update(&sid)
        .last_read_message_index(3)
        .webhook_enabled(true)
        .await?;
    participants.delete(&sid).webhook_enabled(true).await?;

    let forged = post_forged(&origin, "/twilio/events?bodySHA256=00", b"[]").await?;
    let changes = receiver
        .changes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for change in &changes {
        println!("{}", serde_json::to_string(change)?);
    }
    let by_webhook = changes.iter().filter(|c| c.event_id.is_none()).count();
    println!(
        "{} changes: {by_webhook} by webhook, {} by Event Streams ({} deliveries); a forged request answered {forged}",
        changes.len(),
        changes.len() - by_webhook,
        fake.event_streams_deliveries().len(),
    );
    Ok(())
}

/// What the receiver checks requests with, and what it kept.
struct Receiver {
    validator: RequestValidator,
    /// The origin Twilio calls, as configured in Twilio.
    public_origin: String,
    seen: Mutex<SeenEvents>,
    changes: Mutex<Vec<ParticipantChange>>,
}

impl Receiver {
    /// The answer to one request: 200 when it verifies, 403 when it does not.
    fn answer(&self, request: &Request<Bytes>) -> StatusCode {
        let is_event_streams = request
            .uri()
            .query()
            .is_some_and(|query| query.contains(BODY_SHA256_PARAM));
        let changes: Vec<ParticipantChange> = if is_event_streams {
            match self
                .validator
                .validate_event_streams_http(&self.public_origin, request)
            {
                // Other event types, and participant events that cannot be read, are
                // skipped here; `CloudEvent::data` keeps them.
                Ok(batch) => batch
                    .iter()
                    .filter_map(|event| ParticipantChange::try_from(event).ok())
                    .collect(),
                Err(e) => {
                    eprintln!("refused an Event Streams delivery: {e}");
                    return e.status();
                }
            }
        } else {
            let verified = match self.validator.validate_http(&self.public_origin, request) {
                Ok(verified) => verified,
                Err(e) => {
                    eprintln!("refused a webhook: {e}");
                    return StatusCode::FORBIDDEN;
                }
            };
            ParticipantEvent::from_params(verified.params().unwrap_or_default())
                .ok()
                .and_then(|event| ParticipantChange::try_from(&event).ok())
                .into_iter()
                .collect()
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let mut kept = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        for change in changes {
            // At-least-once delivery: a redelivered event id is dropped (webhooks carry no
            // id). To act on `Seen::Late`, keep one `SeenEvents` per channel: a webhook's
            // dates are to the second, an Event Streams `time` to the millisecond.
            if seen.observe_change(&change) != Seen::Repeat {
                kept.push(change);
            }
        }
        StatusCode::OK
    }
}

/// Serves each connection with hyper, reading the whole body before answering.
async fn serve(listener: TcpListener, receiver: Arc<Receiver>) {
    while let Ok((stream, _)) = listener.accept().await {
        let receiver = receiver.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let receiver = receiver.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let status = match body.collect().await {
                        Ok(body) => receiver.answer(&Request::from_parts(parts, body.to_bytes())),
                        Err(_) => StatusCode::BAD_REQUEST,
                    };
                    let mut response = Response::new(Full::new(Bytes::new()));
                    *response.status_mut() = status;
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// POSTs a JSON body with a made-up signature; the answer's status.
async fn post_forged(origin: &str, path: &str, body: &[u8]) -> Result<u16, Box<dyn Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = origin.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\nX-Twilio-Signature: forged\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or("no status line")?)
}
