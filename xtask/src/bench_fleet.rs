//! `cargo xtask bench-fleet [--quick]`: one participant across many conversations, against
//! the in-process fake at a 40 ms round trip, with 200 conversations holding `agent-7`
//! (`--quick`, for CI: 40 conversations, a 1 s outage, 60 creates, no concurrency-1 row).
//!
//! Rows:
//! - offboarding (`Fleet::remove_everywhere`) at concurrency 1, 8 and 16: wall, requests
//!   sent, the fake's peak in flight, and the client's overhead per request (the wall
//!   beyond the latency-bound minimum, divided by the requests; it includes the fake's
//!   own work and the rounding of its 40 ms timer, so it is an upper bound);
//! - 16 at once against a server that takes 4 (`set_max_in_flight(Some(4))`): wall, 429s
//!   seen, items completed;
//! - a 3 s outage (every request answered 503 from the first DELETE on) during the removal
//!   at concurrency 8: whether one run removes every one, DELETE attempts (in all, and per
//!   item), probes, wall;
//! - one conversation's import: 300 creates into one conversation at concurrency 8 against
//!   a fake that takes 30 writes a second per conversation (Twilio's limit), with the
//!   client's pacing (default 30 a second) and without it: 429s, wall.
//!
//! Prints a Markdown table and writes `target/bench-fleet.json`.

use std::{
    collections::HashMap,
    path::Path,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde::Serialize;
use twilio_conversations::{
    testing::{self, FakeServer},
    Client, ClientBuilder, ConversationSid, ParticipantRef, ServiceSid,
};

const SERVICE: &str = "ISbe4c0000000000000000000000000f01";
const AGENT: &str = "agent-7";
const LATENCY: Duration = Duration::from_millis(40);
/// Twilio's largest page of a participant's conversations.
const PAGE: usize = 50;
/// Twilio's published limit on participant writes a second per conversation.
const WRITES_PER_SECOND: usize = 30;

/// How big the run is: the full table, or a quick one for CI.
#[derive(Clone, Copy, Debug)]
struct Size {
    conversations: usize,
    outage: Duration,
    creates: usize,
    concurrencies: &'static [usize],
}

const FULL: Size = Size {
    conversations: 200,
    outage: Duration::from_secs(3),
    creates: 300,
    concurrencies: &[1, 8, 16],
};

const QUICK: Size = Size {
    conversations: 40,
    outage: Duration::from_secs(1),
    creates: 60,
    concurrencies: &[8],
};

/// One row of the table.
#[derive(Debug, Default, Serialize)]
struct Row {
    scenario: String,
    wall_ms: u64,
    /// Requests of the scenario's work (for the outage, the DELETEs; the listing before
    /// it is not counted).
    requests: usize,
    peak_in_flight: usize,
    /// Offboarding rows: wall beyond the latency-bound minimum, per request.
    overhead_per_request_ms: Option<f64>,
    /// 429 answers the client saw.
    throttled: u64,
    /// Retries the client made, and those its retry budget refused.
    retries: u64,
    retries_refused: u64,
    completed: usize,
    failed: usize,
    /// Outage rows: attempts per item (mean, max), and the probes sent.
    attempts_mean: Option<f64>,
    attempts_max: Option<usize>,
    probes: Option<u64>,
}

impl Row {
    /// The client's counters into the row.
    fn with_stats(mut self, client: &Client) -> Self {
        let stats = client.stats();
        self.throttled = stats.throttled;
        self.retries = stats.retries;
        self.retries_refused = stats.retries_refused;
        self
    }
}

fn service() -> ServiceSid {
    SERVICE.parse().expect("valid constant")
}

/// A fake holding `size.conversations` conversations of three participants, `AGENT` first
/// in each.
async fn fake(size: Size) -> FakeServer {
    let fake = FakeServer::start().await.expect("the fake starts");
    for i in 0..size.conversations {
        let sid: ConversationSid = format!("CH{:032x}", 0xbe4c_0000 + i)
            .parse()
            .expect("valid SID");
        let mut participants = testing::participants(&service(), &sid, 3, i as u64);
        participants[0].identity = Some(AGENT.into());
        participants[0].messaging_binding = None;
        fake.add_conversation(&service(), sid, participants);
    }
    fake.set_latency(LATENCY);
    fake
}

fn builder(fake: &FakeServer) -> ClientBuilder {
    Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
}

/// Completed and failed items of a run.
async fn drain<R>(run: twilio_conversations::FleetRun<R>) -> (usize, usize) {
    let results: Vec<bool> = run.map(|item| item.result.is_ok()).collect().await;
    let ok = results.iter().filter(|ok| **ok).count();
    (ok, results.len() - ok)
}

/// Offboarding at `concurrency`: list, then delete everywhere.
async fn offboarding(size: Size, concurrency: usize) -> Row {
    let fake = fake(size).await;
    let client = builder(&fake).build().expect("a client");
    let start = Instant::now();
    let run = client
        .fleet(&service())
        .concurrency(concurrency)
        .remove_everywhere(ParticipantRef::identity(AGENT))
        .await
        .expect("the listing");
    let (completed, failed) = drain(run).await;
    let wall = start.elapsed();
    let requests = fake.requests().len();
    // The listing's pages one after another, then the deletes in waves of `concurrency`.
    let waves = size.conversations.div_ceil(PAGE) + size.conversations.div_ceil(concurrency);
    let minimum = LATENCY * waves as u32;
    let overhead = wall.saturating_sub(minimum).as_secs_f64() * 1000.0 / requests as f64;
    Row {
        scenario: format!("offboarding, concurrency {concurrency}"),
        wall_ms: wall.as_millis() as u64,
        requests,
        peak_in_flight: fake.peak_in_flight(),
        overhead_per_request_ms: Some(overhead),
        completed,
        failed,
        ..Row::default()
    }
    .with_stats(&client)
}

/// 16 at once against a server that answers 429 beyond 4 in flight.
async fn throttled(size: Size) -> Row {
    let fake = fake(size).await;
    fake.set_max_in_flight(Some(4));
    let client = builder(&fake).build().expect("a client");
    let start = Instant::now();
    let run = client
        .fleet(&service())
        .concurrency(16)
        .remove_everywhere(ParticipantRef::identity(AGENT))
        .await
        .expect("the listing");
    let (completed, failed) = drain(run).await;
    Row {
        scenario: "16 at once, server takes 4".into(),
        wall_ms: start.elapsed().as_millis() as u64,
        requests: fake.requests().len(),
        peak_in_flight: fake.peak_in_flight(),
        completed,
        failed,
        ..Row::default()
    }
    .with_stats(&client)
}

/// Deletes at concurrency 8 while every request is answered 503 for `size.outage` from the
/// first DELETE on: one run, with the client's defaults.
async fn outage(size: Size) -> Row {
    let fake = fake(size).await;
    let client = builder(&fake).build().expect("a client");
    let found = client
        .participant_conversations(&service(), ParticipantRef::identity(AGENT))
        .list()
        .await
        .expect("the listing");
    let listed = fake.requests().len();
    fake.fail_for(size.outage, 503);
    let start = Instant::now();
    let run =
        client
            .fleet(&service())
            .concurrency(8)
            .run(found, |participants, found| async move {
                let sid = found.participant_sid.expect("the fake lists SIDs");
                participants.delete(sid).send_unless_gone().await
            });
    let (completed, failed) = drain(run).await;
    let wall = start.elapsed();
    let requests = fake.requests();
    let mut attempts: HashMap<&str, usize> = HashMap::new();
    for request in requests[listed..].iter().filter(|r| r.method == "DELETE") {
        *attempts.entry(request.path.as_str()).or_default() += 1;
    }
    let total: usize = attempts.values().sum();
    Row {
        scenario: format!(
            "{} s outage (503) in one run, concurrency 8",
            size.outage.as_secs()
        ),
        wall_ms: wall.as_millis() as u64,
        requests: total,
        peak_in_flight: fake.peak_in_flight(),
        completed,
        failed,
        attempts_mean: Some(total as f64 / attempts.len().max(1) as f64),
        attempts_max: Some(attempts.values().copied().max().unwrap_or(0)),
        probes: Some(client.stats().outage_probes),
        ..Row::default()
    }
    .with_stats(&client)
}

/// `size.creates` creates into one conversation at concurrency 8, against a fake that takes
/// [`WRITES_PER_SECOND`] writes a second per conversation; `rate` is the client's pacing
/// (0: off).
async fn import(size: Size, rate: u32) -> Row {
    let fake = fake(size).await;
    fake.add_conversation(&service(), "import-room", []);
    fake.set_conversation_write_limit(Some(WRITES_PER_SECOND));
    let client = builder(&fake)
        .conversation_write_rate(rate)
        .build()
        .expect("a client");
    let items: Vec<(&str, usize)> = (0..size.creates).map(|i| ("import-room", i)).collect();
    let start = Instant::now();
    let run =
        client
            .fleet(&service())
            .concurrency(8)
            .run(items, |participants, (_, i)| async move {
                participants
                    .create()
                    .identity(format!("member-{i}"))
                    .send_unless_present()
                    .await
            });
    let (completed, failed) = drain(run).await;
    let pacing = match rate {
        0 => "pacing off".to_owned(),
        rate => format!("paced at {rate}/s"),
    };
    Row {
        scenario: format!(
            "{} creates into one conversation (takes {WRITES_PER_SECOND}/s), {pacing}",
            size.creates
        ),
        wall_ms: start.elapsed().as_millis() as u64,
        requests: fake.requests().len(),
        peak_in_flight: fake.peak_in_flight(),
        completed,
        failed,
        ..Row::default()
    }
    .with_stats(&client)
}

/// The rows as a Markdown table.
fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | wall | requests | peak in flight | overhead / request | 429s | retries (refused) | done | failed | attempts / item (mean, max) | probes |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "–".into());
    for row in rows {
        out.push_str(&format!(
            "| {} | {} ms | {} | {} | {} | {} | {} ({}) | {} | {} | {} | {} |\n",
            row.scenario,
            row.wall_ms,
            row.requests,
            row.peak_in_flight,
            or_dash(row.overhead_per_request_ms.map(|ms| format!("{ms:.2} ms"))),
            row.throttled,
            row.retries,
            row.retries_refused,
            row.completed,
            row.failed,
            or_dash(
                row.attempts_mean
                    .zip(row.attempts_max)
                    .map(|(mean, max)| format!("{mean:.2}, {max}"))
            ),
            or_dash(row.probes.map(|n| n.to_string())),
        ));
    }
    out
}

/// Runs every row (fewer and smaller with `--quick`), prints the table and writes
/// `target/bench-fleet.json` under `root`.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let size = match args {
        [] => FULL,
        [quick] if quick == "--quick" => QUICK,
        other => return Err(format!("unexpected arguments {other:?} (only --quick)")),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let rows = runtime.block_on(async {
        let mut rows = Vec::new();
        for concurrency in size.concurrencies {
            rows.push(offboarding(size, *concurrency).await);
        }
        rows.push(throttled(size).await);
        rows.push(outage(size).await);
        rows.push(import(size, twilio_conversations::DEFAULT_CONVERSATION_WRITE_RATE).await);
        rows.push(import(size, 0).await);
        rows
    });
    println!(
        "{} conversations holding {AGENT}, {} ms round trip\n",
        size.conversations,
        LATENCY.as_millis()
    );
    print!("{}", table(&rows));
    let path = root.join("target").join("bench-fleet.json");
    let json = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
    std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("\nwritten to {}", path.display());
    Ok(())
}
