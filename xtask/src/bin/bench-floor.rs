//! `bench-floor`: the floor of `cargo xtask bench`, a whole process that reads every
//! participant the plainest way: reqwest + serde_json into `String`/`Option<String>`
//! fields, following `next_page_url` (see `bench_reader` for its command line).

use std::{io::Write, process::ExitCode};

use serde::{Deserialize, Serialize};
use twilio_conversations::testing::{FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN};
use xtask::bench_reader::{self, ReaderArgs, CONVERSATION, SERVICE};

/// A participant as plain strings; unknown keys ignored.
#[derive(Deserialize, Serialize)]
struct Participant {
    account_sid: Option<String>,
    chat_service_sid: Option<String>,
    conversation_sid: Option<String>,
    sid: Option<String>,
    identity: Option<String>,
    attributes: Option<String>,
    messaging_binding: Option<Binding>,
    role_sid: Option<String>,
    date_created: Option<String>,
    date_updated: Option<String>,
    url: Option<String>,
    last_read_message_index: Option<i64>,
    last_read_timestamp: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct Binding {
    #[serde(rename = "type")]
    kind: Option<String>,
    address: Option<String>,
    proxy_address: Option<String>,
    projected_address: Option<String>,
}

#[derive(Deserialize)]
struct Meta {
    next_page_url: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    meta: Meta,
    participants: Vec<Participant>,
}

async fn read(args: ReaderArgs) -> Result<usize, String> {
    // The library turns on reqwest's rustls without a provider; a plain client needs one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let mut url = format!(
        "{}/v1/Services/{SERVICE}/Conversations/{CONVERSATION}/Participants?PageSize={}",
        args.base_url, args.page_size
    );
    let (mut count, mut sink) = (0, bench_reader::sink());
    loop {
        let body = http
            .get(&url)
            .basic_auth(FAKE_ACCOUNT_SID, Some(FAKE_AUTH_TOKEN))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let page: Page = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        for participant in &page.participants {
            args.work
                .on(participant, &mut sink)
                .map_err(|e| e.to_string())?;
            count += 1;
        }
        match page.meta.next_page_url {
            Some(next) => url = next,
            None => break,
        }
    }
    sink.flush().map_err(|e| e.to_string())?;
    Ok(count)
}

fn main() -> ExitCode {
    bench_reader::main(read)
}
