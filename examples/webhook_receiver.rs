//! A tiny webhook receiver on plain Tokio: checks `X-Twilio-Signature` with
//! `webhook::RequestValidator`, reads the participant event, answers.
//!
//! ```sh
//! cargo run --example webhook_receiver --features testing   # the fake sends it signed webhooks
//! TWILIO_AUTH_TOKEN=… WEBHOOK_PUBLIC_URL=https://example.com WEBHOOK_LISTEN=0.0.0.0:8080 \
//!     cargo run --example webhook_receiver --features testing   # serves Twilio's webhooks until stopped
//! ```
//! `WEBHOOK_PUBLIC_URL` is the origin Twilio calls (the one configured in Twilio, before any
//! proxy or tunnel rewrites it); the request's path and query are appended to it.

use std::{error::Error, process::ExitCode, sync::Arc};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use twilio_conversations::{
    testing::{FakeServer, FAKE_AUTH_TOKEN},
    webhook::{AuthToken, ParticipantEvent, PreEventAnswer, RequestValidator, SIGNATURE_HEADER},
    Client, ServiceSid,
};

/// The largest request the receiver reads.
const MAX_REQUEST: usize = 64 * 1024;

#[tokio::main]
async fn main() -> ExitCode {
    let result = match std::env::var("WEBHOOK_PUBLIC_URL") {
        Ok(public_origin) => serve_twilio(public_origin).await,
        Err(_) => demo().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Receives Twilio's webhooks until stopped.
async fn serve_twilio(public_origin: String) -> Result<(), Box<dyn Error>> {
    let token = std::env::var("TWILIO_AUTH_TOKEN").map_err(|_| "TWILIO_AUTH_TOKEN is not set")?;
    let listen = std::env::var("WEBHOOK_LISTEN").unwrap_or_else(|_| "0.0.0.0:8080".to_owned());
    let listener = TcpListener::bind(&listen).await?;
    eprintln!("receiving webhooks on {listen} for {public_origin}");
    let receiver = Arc::new(Receiver {
        validator: RequestValidator::new(AuthToken::new(token)),
        public_origin: public_origin.trim_end_matches('/').to_owned(),
    });
    receiver.serve(listener).await;
    Ok(())
}

/// Starts the receiver on loopback, points the fake's webhooks at it, and makes the fake
/// send three (a create, an update and a delete), then sends one forged request.
async fn demo() -> Result<(), Box<dyn Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let receiver = Arc::new(Receiver {
        validator: RequestValidator::new(AuthToken::new(FAKE_AUTH_TOKEN)),
        public_origin: origin.clone(),
    });
    tokio::spawn(receiver.serve(listener));

    let fake = FakeServer::start().await?;
    let service: ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    fake.add_conversation(&service, "support-room-7", []);
    fake.set_webhook_url(Some(&format!("{origin}/twilio/participants")));
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .build()?;
    let participants = client.participants(&service, "support-room-7");

    // Each write asks for webhooks; the fake delivers one before answering the call.
    let alice = participants
        .create()
        .identity("alice")
        .webhook_enabled(true)
        .await?;
    let sid = alice
        .sid
        .ok_or("the fake answered a participant without a SID")?;
    participants
        .update(&sid)
        .last_read_message_index(3)
        .webhook_enabled(true)
        .await?;
    participants.delete(&sid).webhook_enabled(true).await?;
    for delivery in fake.webhook_deliveries() {
        println!(
            "the fake sent a webhook to {}: answered {:?}",
            delivery.url, delivery.outcome
        );
    }

    // A request whose signature is not Twilio's is refused.
    let status = post(
        &origin,
        "/twilio/participants",
        "EventType=onParticipantAdded",
        "forged",
    )
    .await?;
    println!("a forged request: answered {status}");
    Ok(())
}

/// What the receiver checks requests with.
struct Receiver {
    validator: RequestValidator,
    /// The origin Twilio calls: scheme, host and port as configured in Twilio.
    public_origin: String,
}

impl Receiver {
    async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let receiver = self.clone();
            tokio::spawn(async move {
                if let Err(e) = receiver.handle(stream).await {
                    eprintln!("receiver: {e}");
                }
            });
        }
    }

    /// Reads one request, answers it, closes the connection.
    async fn handle(&self, mut stream: TcpStream) -> Result<(), Box<dyn Error + Send + Sync>> {
        let request = read_request(&mut stream).await?;
        let url = format!("{}{}", self.public_origin, request.target);
        let (status, body) = self.answer(&url, &request.body, request.signature.as_deref());
        let response = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            if status < 300 { "OK" } else { "Refused" },
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
        Ok(())
    }

    /// The status and body to answer a webhook with.
    fn answer(&self, url: &str, body: &[u8], signature: Option<&str>) -> (u16, &'static str) {
        let verified = match self.validator.validate(url, body, signature) {
            Ok(verified) => verified,
            Err(e) => {
                println!("receiver: refused a request to {url}: {e}");
                return (403, "");
            }
        };
        let event = match ParticipantEvent::from_params(verified.params().unwrap_or_default()) {
            Ok(event) => event,
            Err(e) => {
                println!("receiver: a signed request that is not a participant event: {e}");
                return (400, "");
            }
        };
        match (&event, event.fields()) {
            // A pre-event can be refused: Twilio then does not make the change.
            (ParticipantEvent::Add(fields), _) if fields.identity.as_deref() == Some("mallory") => {
                let answer = PreEventAnswer::reject();
                (answer.status().as_u16(), answer.body())
            }
            (_, Some(fields)) => {
                let sid = fields.participant_sid.as_ref().map(|sid| sid.as_str());
                println!(
                    "receiver: {} {} in {} (identity {}, last read {:?})",
                    event.event_type().unwrap_or("?"),
                    sid.unwrap_or("-"),
                    fields.conversation_sid,
                    fields.identity.as_deref().unwrap_or("-"),
                    fields.last_read_message_index,
                );
                (200, "")
            }
            (_, None) => {
                println!("receiver: another event: {:?}", event.event_type());
                (200, "")
            }
        }
    }
}

/// The parts of a request the receiver needs.
struct Request {
    /// The path and query, as sent.
    target: String,
    signature: Option<String>,
    body: Vec<u8>,
}

/// Reads one HTTP/1.1 request with a `content-length` body.
async fn read_request(stream: &mut TcpStream) -> Result<Request, Box<dyn Error + Send + Sync>> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > MAX_REQUEST || stream.read_buf(&mut buffer).await? == 0 {
            return Err("the request ended before its headers did".into());
        }
    };
    let head = std::str::from_utf8(&buffer[..head_end])?;
    let mut lines = head.split("\r\n");
    let target = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .ok_or("no request line")?
        .to_owned();
    let (mut signature, mut length) = (None, 0);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case(SIGNATURE_HEADER) {
            signature = Some(value.trim().to_owned());
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse()?;
        }
    }
    if length > MAX_REQUEST {
        return Err("the body is too large".into());
    }
    let mut body = buffer.split_off(head_end + 4);
    while body.len() < length {
        if stream.read_buf(&mut body).await? == 0 {
            return Err("the body ended early".into());
        }
    }
    body.truncate(length);
    Ok(Request {
        target,
        signature,
        body,
    })
}

/// POSTs a form with this signature to the receiver; answers the status.
async fn post(
    origin: &str,
    path: &str,
    form: &str,
    signature: &str,
) -> Result<String, Box<dyn Error>> {
    let mut stream = TcpStream::connect(origin.trim_start_matches("http://")).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\n{SIGNATURE_HEADER}: {signature}\r\ncontent-length: {}\r\n\r\n{form}",
        origin.trim_start_matches("http://"),
        form.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer.lines().next().unwrap_or_default().to_owned())
}
