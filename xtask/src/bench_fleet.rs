//! `cargo xtask bench-fleet`: one participant across many conversations, against the
//! in-process fake at a 40 ms round trip, with 200 conversations holding `agent-7`.
//!
//! Rows:
//! - offboarding (`Fleet::remove_everywhere`) at concurrency 1, 8 and 16: wall, requests
//!   sent, the fake's peak in flight, and the client's overhead per request (the wall
//!   beyond the latency-bound minimum, divided by the requests; it includes the fake's
//!   own work and the rounding of its 40 ms timer, so it is an upper bound);
//! - 16 at once against a server that takes 4 (`set_max_in_flight(Some(4))`): wall, 429s
//!   seen, items completed;
//! - a 3 s outage (every request answered 503): attempts per item with the default retry
//!   budget and with `RetryBudget::unlimited()`, how many items failed, and what a rerun
//!   after the outage finishes.
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
    Client, ConversationSid, Deletion, ParticipantRef, RetryBudget, ServiceSid,
};

const SERVICE: &str = "ISbe4c0000000000000000000000000f01";
const AGENT: &str = "agent-7";
const CONVERSATIONS: usize = 200;
const LATENCY: Duration = Duration::from_millis(40);
const OUTAGE: Duration = Duration::from_secs(3);
/// Twilio's largest page of a participant's conversations.
const PAGE: usize = 50;

/// One row of the table.
#[derive(Debug, Serialize)]
struct Row {
    scenario: String,
    wall_ms: u64,
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
    /// Outage rows: attempts per item (mean, max), and what the rerun finished.
    attempts_mean: Option<f64>,
    attempts_max: Option<usize>,
    rerun_completed: Option<usize>,
}

fn service() -> ServiceSid {
    SERVICE.parse().expect("valid constant")
}

/// A fake holding `CONVERSATIONS` conversations of three participants, `AGENT` first in each.
async fn fake() -> FakeServer {
    let fake = FakeServer::start().await.expect("the fake starts");
    for i in 0..CONVERSATIONS {
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

fn client(fake: &FakeServer, budget: RetryBudget) -> Client {
    Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .retry_budget(budget)
        .build()
        .expect("a client")
}

/// Completed and failed items of a removal.
async fn drain(run: twilio_conversations::FleetRun<Deletion>) -> (usize, usize) {
    let results: Vec<bool> = run.map(|item| item.result.is_ok()).collect().await;
    let ok = results.iter().filter(|ok| **ok).count();
    (ok, results.len() - ok)
}

/// Offboarding at `concurrency`: list, then delete everywhere.
async fn offboarding(concurrency: usize) -> Row {
    let fake = fake().await;
    let client = client(&fake, RetryBudget::standard());
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
    let waves = CONVERSATIONS.div_ceil(PAGE) + CONVERSATIONS.div_ceil(concurrency);
    let minimum = LATENCY * waves as u32;
    let overhead = wall.saturating_sub(minimum).as_secs_f64() * 1000.0 / requests as f64;
    Row {
        scenario: format!("offboarding, concurrency {concurrency}"),
        wall_ms: wall.as_millis() as u64,
        requests,
        peak_in_flight: fake.peak_in_flight(),
        overhead_per_request_ms: Some(overhead),
        throttled: client.stats().throttled,
        retries: client.stats().retries,
        retries_refused: client.stats().retries_refused,
        completed,
        failed,
        attempts_mean: None,
        attempts_max: None,
        rerun_completed: None,
    }
}

/// 16 at once against a server that answers 429 beyond 4 in flight.
async fn throttled() -> Row {
    let fake = fake().await;
    fake.set_max_in_flight(Some(4));
    let client = client(&fake, RetryBudget::standard());
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
        overhead_per_request_ms: None,
        throttled: client.stats().throttled,
        retries: client.stats().retries,
        retries_refused: client.stats().retries_refused,
        completed,
        failed,
        attempts_mean: None,
        attempts_max: None,
        rerun_completed: None,
    }
}

/// Deletes at concurrency 8 while every request is answered 503 for `OUTAGE`, then reruns
/// the whole offboarding once the outage is over.
async fn outage(budget: RetryBudget, name: &str) -> Row {
    let fake = fake().await;
    let client = client(&fake, budget);
    let found = client
        .participant_conversations(&service(), ParticipantRef::identity(AGENT))
        .list()
        .await
        .expect("the listing");
    let listed = fake.requests().len();
    fake.fail_for(OUTAGE, 503);
    let outage_ends = Instant::now() + OUTAGE;
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
    let (mean, max) = (
        total as f64 / attempts.len().max(1) as f64,
        attempts.values().copied().max().unwrap_or(0),
    );
    let (stats, peak) = (client.stats(), fake.peak_in_flight());
    tokio::time::sleep_until(outage_ends.into()).await;
    let rerun = client
        .fleet(&service())
        .concurrency(8)
        .remove_everywhere(ParticipantRef::identity(AGENT))
        .await
        .expect("the listing after the outage");
    let (rerun_completed, _) = drain(rerun).await;
    Row {
        scenario: format!("3 s outage (503), {name}"),
        wall_ms: wall.as_millis() as u64,
        requests: requests.len() - listed,
        peak_in_flight: peak,
        overhead_per_request_ms: None,
        throttled: stats.throttled,
        retries: stats.retries,
        retries_refused: stats.retries_refused,
        completed,
        failed,
        attempts_mean: Some(mean),
        attempts_max: Some(max),
        rerun_completed: Some(rerun_completed),
    }
}

/// The rows as a Markdown table.
fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | wall | requests | peak in flight | overhead / request | 429s | retries (refused) | done | failed | attempts / item (mean, max) | rerun finished |\n\
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
            or_dash(row.rerun_completed.map(|n| n.to_string())),
        ));
    }
    out
}

/// Runs every row, prints the table and writes `target/bench-fleet.json` under `root`.
pub fn run(root: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let rows = runtime.block_on(async {
        let mut rows = Vec::new();
        for concurrency in [1, 8, 16] {
            rows.push(offboarding(concurrency).await);
        }
        rows.push(throttled().await);
        rows.push(outage(RetryBudget::standard(), "default budget").await);
        rows.push(outage(RetryBudget::unlimited(), "unlimited budget").await);
        rows
    });
    println!(
        "{CONVERSATIONS} conversations holding {AGENT}, {} ms round trip\n",
        LATENCY.as_millis()
    );
    print!("{}", table(&rows));
    let path = root.join("target").join("bench-fleet.json");
    let json = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
    std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("\nwritten to {}", path.display());
    Ok(())
}
