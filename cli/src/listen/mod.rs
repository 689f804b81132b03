//! `twilio-participants listen`: a local receiver for both of Twilio's participant channels,
//! to see what Twilio sends and whether it verifies. Every POST is checked with the Auth
//! Token from `TWILIO_AUTH_TOKEN`: a Conversations webhook (a form) or an Event Streams
//! delivery (a JSON array of CloudEvents). Each participant event is printed once (an event
//! id already printed is dropped); a request that does not verify gets 403 and one line on
//! stderr saying why.

use std::{
    convert::Infallible,
    future::Future,
    io,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
};

use clap::Args;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Incoming, header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, task::JoinSet};
use twilio_conversations::webhook::{
    EventStreamsError, NotAParticipantChange, ParticipantChange, ParticipantEvent,
    RequestValidator, SignatureError, BODY_SHA256_PARAM, SIGNATURE_HEADER,
};

mod printer;

use printer::Printer;

use crate::{
    output::{escape, Format},
    webhook::auth_token_from_env,
    Failure,
};

/// The largest request body read (Event Streams batches are far smaller).
const MAX_BODY: usize = 1024 * 1024;

/// The flags of `listen`.
#[derive(Args, Debug)]
pub(crate) struct ListenArgs {
    /// The port to listen on (0: any free port; the address is printed on stderr).
    #[arg(long)]
    port: u16,
    /// The origin Twilio calls, as configured in Twilio (e.g. the tunnel's
    /// https://….ngrok.app): the URL Twilio signed is this plus the request's path and query.
    #[arg(long, value_name = "ORIGIN")]
    public_url: String,
    /// The address to listen on; 0.0.0.0 accepts connections from other machines.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// How events are printed: one JSON object per line (the default), an array at the
    /// end (on Ctrl-C), columns or tab-separated values.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Jsonl)]
    output: Format,
}

/// `listen`: serves until Ctrl-C, then prints what was held back (`-o json`) and a summary
/// on stderr. Exit 2 without `TWILIO_AUTH_TOKEN`, with a public URL that is not an origin,
/// or when the address cannot be listened on.
pub(crate) async fn listen(args: ListenArgs) -> Result<(), Failure> {
    let token = auth_token_from_env()?;
    let origin = public_origin(&args.public_url)?;
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| {
            Failure::Usage(format!("cannot listen on {}:{}: {e}", args.host, args.port))
        })?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure::Usage(format!("cannot read the address listened on: {e}")))?;
    // Ctrl-C is listened for from the first poll: before saying where it listens, so that a
    // Ctrl-C right after that line stops it cleanly.
    let mut stop = Box::pin(tokio::signal::ctrl_c());
    tokio::select! {
        biased;
        _ = &mut stop => return Ok(()),
        () = std::future::ready(()) => {}
    }
    eprintln!(
        "listening on http://{address} for {}; point Twilio's webhooks and Event Streams \
         sinks at it (the URL there starts with that origin); Ctrl-C stops",
        hide_query_values(&origin)
    );
    let receiver = Arc::new(Receiver {
        validator: RequestValidator::new(token),
        origin,
        printer: Mutex::new(Printer::new(args.output)),
    });
    serve(listener, receiver.clone(), stop).await;
    let mut printer = receiver
        .printer
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    printer.finish()?;
    let counted = |n: u64, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    eprintln!(
        "stopped: {} printed, {} dropped, {} refused",
        counted(printer.printed, "event"),
        counted(printer.repeats, "repeat"),
        counted(printer.refused, "request"),
    );
    Ok(())
}

/// The origin given, without a trailing `/`; refused unless `http://` or `https://`.
fn public_origin(given: &str) -> Result<String, Failure> {
    let origin = given.trim_end_matches('/');
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match host {
        Some(host) if !host.is_empty() && !host.contains(['?', '#']) => Ok(origin.to_owned()),
        _ => Err(Failure::Usage(format!(
            "--public-url must be the origin Twilio calls, e.g. https://abc.ngrok.app, not {:?}",
            hide_query_values(given)
        ))),
    }
}

/// The wait after a failed `accept` before the next.
const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// Accepts connections until `stop` completes (Ctrl-C, or the signal cannot be listened
/// for).
async fn serve(
    listener: TcpListener,
    receiver: Arc<Receiver>,
    mut stop: Pin<Box<impl Future<Output = io::Result<()>>>>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // An accept error (e.g. too many open files) persists for a while: wait
                    // a little before trying again rather than spin.
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                };
                let receiver = receiver.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let receiver = receiver.clone();
                        async move { Ok::<_, Infallible>(receiver.answer(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
        while connections.try_join_next().is_some() {}
    }
}

/// What every request is checked with, and where events go.
struct Receiver {
    validator: RequestValidator,
    /// The origin Twilio calls, without a trailing `/`.
    origin: String,
    printer: Mutex<Printer>,
}

type Answer = Response<Full<&'static [u8]>>;

impl Receiver {
    /// Reads, checks and prints one request; the answer: 200 for a verified request (a
    /// pre-event is let through), 403 for one that does not verify, 400 for a verified body
    /// that cannot be read, 405 for another method, 413 for a body too large.
    async fn answer(&self, request: Request<Incoming>) -> Answer {
        let (parts, body) = request.into_parts();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let url = format!("{}{path_and_query}", self.origin);
        if parts.method != Method::POST {
            self.note(&format!(
                "ignored {} {}: Twilio POSTs",
                parts.method,
                hide_query_values(&url)
            ));
            return status(StatusCode::METHOD_NOT_ALLOWED);
        }
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                self.refuse(
                    &url,
                    &format!("the body is over {MAX_BODY} bytes or was cut"),
                );
                return status(StatusCode::PAYLOAD_TOO_LARGE);
            }
        };
        let signature = parts
            .headers
            .get(SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok());
        let json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"))
            || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
            || url.contains(&format!("{BODY_SHA256_PARAM}="));
        if json {
            self.event_streams(&url, &body, signature)
        } else {
            self.webhook(&url, &body, signature)
        }
    }

    /// An Event Streams delivery: each participant event printed once.
    fn event_streams(&self, url: &str, body: &[u8], signature: Option<&str>) -> Answer {
        let events = match self.validator.validate_event_streams(url, body, signature) {
            Ok(events) => events,
            Err(EventStreamsError::NotABatch(why)) => {
                self.note(&format!(
                    "a verified Event Streams delivery to {} that is not a batch: {why}",
                    hide_query_values(url)
                ));
                return status(StatusCode::BAD_REQUEST);
            }
            Err(EventStreamsError::MissingBodyHash) => {
                self.refuse(
                    url,
                    &format!("a JSON body, but the URL has no {BODY_SHA256_PARAM}: not signed as Twilio signs one"),
                );
                return status(StatusCode::FORBIDDEN);
            }
            Err(EventStreamsError::Signature(error)) => {
                self.refuse(url, &signature_reason(&error));
                return status(StatusCode::FORBIDDEN);
            }
            // A kind of refusal newer than this tool: its text may quote the URL's values.
            Err(_) => {
                self.refuse(url, "the delivery does not verify");
                return status(StatusCode::FORBIDDEN);
            }
        };
        for event in &events {
            match ParticipantChange::try_from(event) {
                Ok(change) => self.print(&change),
                Err(NotAParticipantChange::UnreadableData { reason }) => self.note(&format!(
                    "event {}: a participant event whose data cannot be read: {reason}",
                    event.id
                )),
                Err(_) => self.note(&format!(
                    "event {}: {} (not a participant event; not printed)",
                    event.id, event.event_type
                )),
            }
        }
        status(StatusCode::OK)
    }

    /// A Conversations webhook (post-event or pre-event, which is let through).
    fn webhook(&self, url: &str, body: &[u8], signature: Option<&str>) -> Answer {
        let verified = match self.validator.validate(url, body, signature) {
            Ok(verified) => verified,
            Err(error) => {
                self.refuse(url, &signature_reason(&error));
                return status(StatusCode::FORBIDDEN);
            }
        };
        match ParticipantEvent::from_params(verified.params().unwrap_or_default()) {
            Ok(event) => match ParticipantChange::try_from(&event) {
                Ok(change) => self.print(&change),
                Err(_) => self.note(&format!(
                    "a verified webhook {} (not a participant event; not printed)",
                    event.event_type().unwrap_or("without an EventType")
                )),
            },
            Err(error) => self.note(&format!(
                "a verified webhook whose fields cannot be read: {error}"
            )),
        }
        // 200 lets a pre-event's action through: listening never blocks a change.
        status(StatusCode::OK)
    }

    fn print(&self, change: &ParticipantChange) {
        let mut printer = self.printer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = printer.change(change) {
            if error.kind() == io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("error: cannot write the output: {error}");
        }
    }

    /// One stderr line about a refused request: why, and the URL tried (query values hidden).
    fn refuse(&self, url: &str, reason: &str) {
        self.printer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .refused += 1;
        self.note(&format!(
            "refused (403) a request to {}: {reason}",
            hide_query_values(url)
        ));
    }

    fn note(&self, line: &str) {
        eprintln!("{}", escape(line, false));
    }
}

/// An empty answer with `code`.
fn status(code: StatusCode) -> Answer {
    let mut response = Response::new(Full::new(&b""[..]));
    *response.status_mut() = code;
    response
}

/// Why a signature does not verify, in words that show no query value and no token.
fn signature_reason(error: &SignatureError) -> String {
    match error {
        SignatureError::MissingSignature => "no X-Twilio-Signature header".to_owned(),
        SignatureError::Mismatch { tried, .. } => format!(
            "the X-Twilio-Signature does not match this URL ({} variants tried: as given, and \
             with its port removed or the default port added) with TWILIO_AUTH_TOKEN; is \
             --public-url the origin configured in Twilio?",
            tried.len()
        ),
        SignatureError::BodyHashMismatch { .. } => format!(
            "the body's SHA-256 is not the URL's {BODY_SHA256_PARAM}: the body is not the one \
             signed"
        ),
        SignatureError::MalformedBody(why) => format!("the form body cannot be read: it {why}"),
        SignatureError::MalformedUrl(_) => "the URL cannot be read".to_owned(),
        _ => "the signature does not verify".to_owned(),
    }
}

/// `url` with any user information and every query value shown as `…`.
fn hide_query_values(url: &str) -> String {
    let (url, fragment) = url
        .split_once('#')
        .map_or((url, None), |(u, f)| (u, Some(f)));
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            let userinfo = if authority.contains('@') { "***@" } else { "" };
            format!("{scheme}://{userinfo}{host}{path}")
        }
        None => base.to_owned(),
    };
    let mut shown = base;
    if let Some(query) = query {
        let hidden: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => format!("{name}=…"),
                None => pair.to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&hidden.join("&"));
    }
    if fragment.is_some() {
        shown.push_str("#…");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::hide_query_values;

    #[test]
    fn query_values_and_credentials_are_hidden() {
        assert_eq!(
            hide_query_values("https://u:p@a.ngrok.app/x?bodySHA256=abc&t=1&flag#frag"),
            "https://***@a.ngrok.app/x?bodySHA256=…&t=…&flag#…"
        );
        assert_eq!(hide_query_values("http://a/x"), "http://a/x");
    }
}
