//! `twilio-participants webhook sign|verify`: Twilio's `X-Twilio-Signature` for a request,
//! and a check of one, with the Auth Token from `TWILIO_AUTH_TOKEN` (never an argument).

use std::io::{self, Read, Write};

use clap::Subcommand;
use twilio_conversations::webhook::{
    body_sha256, sign_request, AuthToken, ParticipantEvent, RequestValidator, SignatureError,
    VerifiedBody, BODY_SHA256_PARAM,
};

use crate::Failure;

/// The webhook subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum WebhookCommand {
    /// Print the X-Twilio-Signature Twilio would send with a request (e.g. to test your
    /// endpoint with curl). A URL with bodySHA256 means a JSON body.
    Sign {
        /// The URL Twilio calls, with its query.
        #[arg(long)]
        url: String,
        /// The raw body (a form, or JSON with bodySHA256); `-` reads stdin; none for a GET.
        #[arg(long, value_name = "FILE|-")]
        body_file: Option<String>,
    },
    /// Check a request's X-Twilio-Signature; print the request as JSON (a typed participant
    /// event when it is one), or exit 1 saying why it does not verify.
    Verify {
        /// The URL Twilio called, with its query (the public URL configured in Twilio).
        #[arg(long)]
        url: String,
        /// The X-Twilio-Signature header's value.
        #[arg(long)]
        signature: String,
        /// The raw body (a form, or JSON with bodySHA256); `-` reads stdin; none for a GET.
        #[arg(long, value_name = "FILE|-")]
        body_file: Option<String>,
    },
}

/// Runs a webhook subcommand: exit 0 done, 1 the request does not verify, 2 bad input
/// (no token, an unreadable body file, a malformed URL or form body, or a JSON body that
/// does not match the URL's bodySHA256 when signing).
pub(crate) fn run(command: WebhookCommand) -> Result<(), Failure> {
    let token = auth_token_from_env()?;
    match command {
        WebhookCommand::Sign { url, body_file } => {
            let body = read_body(body_file.as_deref())?;
            if !url.contains(BODY_SHA256_PARAM) && looks_like_json(&body) {
                eprintln!(
                    "warning: the body looks like JSON, but the URL has no {BODY_SHA256_PARAM}; \
                     signing it as a form. For a JSON body, add it to the URL's query: \
                     {BODY_SHA256_PARAM}={}",
                    body_sha256(&body)
                );
            }
            // Nothing is checked against anything received: every error is in the input.
            let signature =
                sign_request(&token, &url, &body).map_err(|e| Failure::Usage(e.to_string()))?;
            Ok(writeln!(io::stdout().lock(), "{signature}")?)
        }
        WebhookCommand::Verify {
            url,
            signature,
            body_file,
        } => {
            let body = read_body(body_file.as_deref())?;
            let verified = RequestValidator::new(token)
                .validate(&url, &body, Some(&signature))
                .map_err(verify_failure)?;
            eprintln!("verified: the signature matches {}", verified.url_shown());
            let printed = match (&verified.body, verified.params()) {
                (VerifiedBody::Json(raw), _) => {
                    let body: serde_json::Value = serde_json::from_slice(raw).map_err(|e| {
                        Failure::Remote(format!(
                            "the signature and body hash are valid, but the body is not JSON: {e}"
                        ))
                    })?;
                    serde_json::json!({ "event": "json", "body": body })
                }
                (_, params) => {
                    let event = ParticipantEvent::from_params(params.unwrap_or_default())
                        .map_err(|e| Failure::Remote(format!("the signature is valid, but {e}")))?;
                    serde_json::to_value(&event)
                        .map_err(|e| Failure::Remote(format!("cannot print the event: {e}")))?
                }
            };
            let mut out = io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &printed)
                .map_err(|e| Failure::Remote(format!("cannot write the output: {e}")))?;
            Ok(writeln!(out)?)
        }
    }
}

/// The Auth Token from `TWILIO_AUTH_TOKEN` (never an argument, so it stays out of shell
/// history and process lists); exit 2 without it.
pub(crate) fn auth_token_from_env() -> Result<AuthToken, Failure> {
    std::env::var("TWILIO_AUTH_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(AuthToken::new)
        .ok_or_else(|| Failure::Usage("set TWILIO_AUTH_TOKEN to the account's Auth Token".into()))
}

/// A URL or body that cannot be read is bad input (exit 2); any other reason means the
/// request does not verify (exit 1).
fn verify_failure(error: SignatureError) -> Failure {
    match error {
        SignatureError::MalformedUrl(_) | SignatureError::MalformedBody(_) => {
            Failure::Usage(error.to_string())
        }
        _ => Failure::Remote(format!("the request does not verify: {error}")),
    }
}

/// The body from `path` (`-` is stdin); empty without one.
fn read_body(path: Option<&str>) -> Result<Vec<u8>, Failure> {
    let unreadable = |what: &str, e: io::Error| Failure::Usage(format!("cannot read {what}: {e}"));
    match path {
        None => Ok(Vec::new()),
        Some("-") => {
            let mut body = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut body)
                .map_err(|e| unreadable("stdin", e))?;
            Ok(body)
        }
        Some(path) => std::fs::read(path).map_err(|e| unreadable(path, e)),
    }
}

fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}
