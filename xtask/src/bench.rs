//! `cargo xtask bench`: our `stream()` against the stack's floor.
//!
//! A [`FakeServer`] on 127.0.0.1 serves one conversation (pre-encoded participants, cached
//! page bodies, so the server is never the bottleneck). In the same process, runs alternate
//! between (a) `ParticipantsRequest::stream()` and (b) the baseline: a minimal loop with the
//! same reqwest and serde_json, decoding into the same `ParticipantPage`, following
//! `next_page_url`. Medians of the runs are reported for each page size, with bytes
//! allocated per participant. Then child processes stream 10,000 and 1,000,000 participants
//! from the same fake to compare their peak RSS, and time to first item.

use std::{
    hint::black_box,
    path::Path,
    process::Command,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use futures_util::TryStreamExt;
use serde_json::json;
use twilio_conversations::{
    models::ParticipantPage,
    testing::{self, FakeServer},
    Client, ConversationSid, ServiceSid,
};

/// Bytes allocated by the process so far; kept by the counting allocator in `main.rs`.
pub static ALLOCATED: AtomicU64 = AtomicU64::new(0);

const SERVICE: &str = "ISbe4c0000000000000000000000000001";
const CONVERSATION: &str = "CHbe4c0000000000000000000000000002";

/// What to measure.
#[derive(Clone, Debug)]
pub struct Options {
    /// Participants in the throughput conversation.
    pub participants: usize,
    /// Alternating runs of each side per page size.
    pub runs: usize,
    /// Whether to run the peak-RSS comparison (10,000 vs 1,000,000).
    pub memory: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            participants: 100_000,
            runs: 5,
            memory: true,
        }
    }
}

fn ids() -> (ServiceSid, ConversationSid) {
    (
        SERVICE.parse().expect("valid constant"),
        CONVERSATION.parse().expect("valid constant"),
    )
}

async fn fake(participants: usize) -> FakeServer {
    let (service, conversation) = ids();
    let server = FakeServer::start().await.expect("bind 127.0.0.1");
    server.add_generated(&service, &conversation, participants, 1);
    server
}

fn client(base_url: &str) -> Client {
    Client::builder()
        .base_url(base_url)
        .credentials(testing::fake_credentials())
        .build()
        .expect("valid client")
}

/// What the caller does with each participant: nothing, or what `participants -o jsonl`
/// does (encode it as a JSON line).
#[derive(Clone, Copy, Debug)]
enum Work {
    None,
    EncodeJsonLine,
}

fn consume(participant: &twilio_conversations::Participant, work: Work, sink: &mut Vec<u8>) {
    match work {
        Work::None => {
            black_box(participant);
        }
        Work::EncodeJsonLine => {
            sink.clear();
            serde_json::to_writer(&mut *sink, participant).expect("encode");
            sink.push(b'\n');
            black_box(&sink);
        }
    }
}

/// (a) the SDK's stream.
async fn ours(client: &Client, page_size: u32, work: Work) -> usize {
    let (service, conversation) = ids();
    let (mut count, mut sink) = (0, Vec::new());
    let mut stream = client
        .participants(&service, conversation.as_str())
        .page_size(page_size)
        .stream();
    while let Some(participant) = stream.try_next().await.expect("stream") {
        consume(&participant, work, &mut sink);
        count += 1;
    }
    count
}

/// (b) the floor: one request per page, decode, follow `next_page_url`.
async fn baseline(http: &reqwest::Client, base_url: &str, page_size: u32, work: Work) -> usize {
    let credentials = testing::fake_credentials();
    let (service, conversation) = ids();
    let mut url = format!(
        "{base_url}/v1/Services/{service}/Conversations/{conversation}/Participants?PageSize={page_size}"
    );
    let (mut count, mut sink) = (0, Vec::new());
    loop {
        let body = http
            .get(&url)
            .basic_auth(credentials.username(), Some(testing::FAKE_AUTH_TOKEN))
            .send()
            .await
            .expect("send")
            .error_for_status()
            .expect("status")
            .bytes()
            .await
            .expect("body");
        let page: ParticipantPage = serde_json::from_slice(&body).expect("decode");
        for participant in page.participants {
            consume(&participant, work, &mut sink);
            count += 1;
        }
        match page.meta.next_page_url {
            Some(next) => url = next,
            None => return count,
        }
    }
}

/// One measured run: (seconds, bytes allocated).
async fn measure<F: std::future::Future<Output = usize>>(expected: usize, run: F) -> (f64, u64) {
    let bytes = ALLOCATED.load(Ordering::Relaxed);
    let started = Instant::now();
    let count = run.await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(count, expected, "a run lost participants");
    (seconds, ALLOCATED.load(Ordering::Relaxed) - bytes)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Runs the throughput table, then (optionally) the memory comparison; prints and writes
/// `target/bench.json`.
pub fn run(options: &Options, workspace: &Path) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let rows = runtime.block_on(throughput(options));
    let memory = options.memory.then(|| runtime.block_on(memory_flatness()));
    let report = json!({
        "machine": machine(),
        "participants": options.participants,
        "runs": options.runs,
        "throughput": rows,
        "memory": memory,
    });
    let path = workspace.join("target/bench.json");
    if let Err(e) = std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    ) {
        eprintln!("cannot write {}: {e}", path.display());
    } else {
        println!("written to {}", path.display());
    }
    report
}

async fn throughput(options: &Options) -> Vec<serde_json::Value> {
    let server = fake(options.participants).await;
    let ours_client = client(server.base_url());
    // Ignored when a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    // Warm up both paths (connections, page cache).
    ours(&ours_client, 100, Work::None).await;
    baseline(&http, server.base_url(), 50, Work::None).await;
    println!(
        "{:>9}  {:>16}  {:>14}  {:>14}  {:>6}  {:>12}  {:>12}",
        "page size",
        "per participant",
        "ours p/s",
        "baseline p/s",
        "ratio",
        "ours B/p",
        "baseline B/p"
    );
    let mut rows = Vec::new();
    for (page_size, work) in [
        (50, Work::None),
        (100, Work::None),
        (100, Work::EncodeJsonLine),
    ] {
        let (mut ours_s, mut base_s) = (Vec::new(), Vec::new());
        let (mut ours_b, mut base_b) = (0, 0);
        for _ in 0..options.runs {
            let (s, b) = measure(options.participants, ours(&ours_client, page_size, work)).await;
            ours_s.push(s);
            ours_b += b;
            let (s, b) = measure(
                options.participants,
                baseline(&http, server.base_url(), page_size, work),
            )
            .await;
            base_s.push(s);
            base_b += b;
        }
        let n = options.participants as f64;
        let ours_rate = n / median(&mut ours_s);
        let base_rate = n / median(&mut base_s);
        let per = |bytes: u64| bytes as f64 / (n * options.runs as f64);
        let work_name = match work {
            Work::None => "nothing",
            Work::EncodeJsonLine => "JSON line",
        };
        println!(
            "{page_size:>9}  {work_name:>16}  {ours_rate:>14.0}  {base_rate:>14.0}  {:>6.3}  {:>12.0}  {:>12.0}",
            ours_rate / base_rate,
            per(ours_b),
            per(base_b)
        );
        rows.push(json!({
            "page_size": page_size,
            "per_participant_work": work_name,
            "ours_per_second": ours_rate.round(),
            "baseline_per_second": base_rate.round(),
            "ratio": (ours_rate / base_rate * 1000.0).round() / 1000.0,
            "ours_bytes_allocated_per_participant": per(ours_b).round(),
            "baseline_bytes_allocated_per_participant": per(base_b).round(),
        }));
    }
    rows
}

/// Peak RSS of a child process that streams `count` participants from `base_url`.
fn probe(base_url: &str, count: usize) -> serde_json::Value {
    let exe = std::env::current_exe().expect("own path");
    let output = Command::new(exe)
        .args(["bench-probe", base_url, &count.to_string()])
        .output()
        .expect("run the probe");
    serde_json::from_slice(&output.stdout).unwrap_or_else(
        |_| json!({ "error": String::from_utf8_lossy(&output.stderr).into_owned() }),
    )
}

async fn memory_flatness() -> serde_json::Value {
    let large = 1_000_000;
    println!("\nmemory: streaming 10,000 and {large} participants in child processes…");
    let server = fake(large).await;
    let base = server.base_url().to_owned();
    let (small, big) =
        tokio::task::spawn_blocking(move || (probe(&base, 10_000), probe(&base, large)))
            .await
            .expect("probe thread");
    let ratio = match (small["peak_rss_kib"].as_f64(), big["peak_rss_kib"].as_f64()) {
        (Some(a), Some(b)) if a > 0.0 => (b / a * 1000.0).round() / 1000.0,
        _ => f64::NAN,
    };
    println!(
        "peak RSS: {} KiB for 10,000, {} KiB for {large} (ratio {ratio}); first item after {} ms / {} ms",
        small["peak_rss_kib"], big["peak_rss_kib"], small["first_item_ms"], big["first_item_ms"]
    );
    json!({ "small": small, "large": big, "ratio": ratio })
}

/// The child side of the memory comparison: stream `limit` participants, report peak RSS.
pub fn probe_main(base_url: &str, limit: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (count, first) = runtime.block_on(async {
        let (service, conversation) = ids();
        let started = Instant::now();
        let mut first = None;
        let mut count = 0u64;
        let mut stream = client(base_url)
            .participants(&service, conversation.as_str())
            .page_size(100)
            .limit(limit)
            .stream();
        while let Some(participant) = stream.try_next().await.expect("stream") {
            first.get_or_insert_with(|| started.elapsed());
            black_box(&participant);
            count += 1;
        }
        (count, first.unwrap_or(Duration::ZERO))
    });
    println!(
        "{}",
        json!({
            "participants": count,
            "peak_rss_kib": peak_rss_kib(),
            "first_item_ms": (first.as_secs_f64() * 1e4).round() / 10.0,
        })
    );
}

/// `VmHWM` from /proc/self/status (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}
