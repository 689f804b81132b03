//! `cargo xtask bench`: our `stream()` against the floor.
//!
//! The fake server runs in a child process (`xtask bench-serve`), so the CPU time measured
//! here is the client's alone. Runs alternate between:
//! - ours: `client.participants(..).page_size(..).stream()`;
//! - the typed baseline: a minimal reqwest + serde_json loop decoding into the same generated
//!   `ParticipantPage` (SID checks, dates and all), following `next_page_url`;
//! - the untyped floor: the same loop decoding into plain `String`/`Option<String>` fields.
//!
//! Medians of the runs, wall and CPU, for each. Then: the command-line tool's whole process
//! (`list -o jsonl`) against the untyped loop writing JSON lines; a latency row (a fake with a
//! per-request delay, a consumer with per-item work: `stream()` against a sequential
//! page-by-page loop, and Twilio's default page size against ours); and child processes that
//! stream 10,000 and 1,000,000 participants to compare their peak RSS and first-item time.

use std::{
    hint::black_box,
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use twilio_conversations::{
    models::{Participant, ParticipantPage},
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
    /// Alternating runs of each side per row.
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

/// A fake server in a child process; killed when dropped.
struct Served {
    child: Child,
    base_url: String,
}

impl Served {
    fn start(participants: usize, latency: Duration) -> Self {
        let exe = std::env::current_exe().expect("own path");
        let mut child = Command::new(exe)
            .args([
                "bench-serve",
                &participants.to_string(),
                &latency.as_millis().to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the fake server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the server's URL");
        Self {
            child,
            base_url: line.trim().to_owned(),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child side of [`Served`]: serves until its stdin closes.
pub fn serve_main(participants: usize, latency_ms: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let (service, conversation) = ids();
        let server = FakeServer::start().await.expect("bind 127.0.0.1");
        server.add_generated(&service, &conversation, participants, 1);
        server.set_latency(Duration::from_millis(latency_ms));
        println!("{}", server.base_url());
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        })
        .await
        .expect("stdin watcher");
    });
}

fn client(base_url: &str) -> Client {
    Client::builder()
        .base_url(base_url)
        .credentials(testing::fake_credentials())
        .build()
        .expect("valid client")
}

/// The floor's participant: plain strings, unknown keys ignored.
#[derive(Deserialize, Serialize)]
struct UntypedParticipant {
    account_sid: Option<String>,
    chat_service_sid: Option<String>,
    conversation_sid: Option<String>,
    sid: Option<String>,
    identity: Option<String>,
    attributes: Option<String>,
    messaging_binding: Option<UntypedBinding>,
    role_sid: Option<String>,
    date_created: Option<String>,
    date_updated: Option<String>,
    url: Option<String>,
    last_read_message_index: Option<i64>,
    last_read_timestamp: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct UntypedBinding {
    #[serde(rename = "type")]
    kind: Option<String>,
    address: Option<String>,
    proxy_address: Option<String>,
    projected_address: Option<String>,
}

#[derive(Deserialize)]
struct UntypedMeta {
    next_page_url: Option<String>,
}

#[derive(Deserialize)]
struct UntypedPage {
    meta: UntypedMeta,
    participants: Vec<UntypedParticipant>,
}

/// A page body type a baseline loop decodes into.
trait Paged: serde::de::DeserializeOwned {
    type Item: Serialize;
    fn split(self) -> (Vec<Self::Item>, Option<String>);
}

impl Paged for ParticipantPage {
    type Item = Participant;
    fn split(self) -> (Vec<Participant>, Option<String>) {
        (self.participants, self.meta.next_page_url)
    }
}

impl Paged for UntypedPage {
    type Item = UntypedParticipant;
    fn split(self) -> (Vec<UntypedParticipant>, Option<String>) {
        (self.participants, self.meta.next_page_url)
    }
}

/// What the caller does with each participant.
#[derive(Clone, Copy, Debug)]
enum Work {
    None,
    /// What `list -o jsonl` does: encode it as a JSON line.
    EncodeJsonLine,
    /// Busy work for this long (a caller that does something with each item).
    Spin(Duration),
}

fn consume<T: Serialize>(item: &T, work: Work, sink: &mut Vec<u8>) {
    match work {
        Work::None => {
            black_box(item);
        }
        Work::EncodeJsonLine => {
            sink.clear();
            serde_json::to_writer(&mut *sink, item).expect("encode");
            sink.push(b'\n');
            black_box(&sink);
        }
        Work::Spin(time) => {
            let until = Instant::now() + time;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            black_box(item);
        }
    }
}

/// Ours: the stream. Returns (participants, requests).
async fn ours(client: &Client, page_size: Option<u32>, work: Work) -> (usize, u64) {
    let (service, conversation) = ids();
    let (mut count, mut sink) = (0, Vec::new());
    let participants = client.participants(&service, conversation);
    let request = match page_size {
        Some(size) => participants.page_size(size),
        None => participants.list_request(),
    };
    let mut stream = request.stream();
    while let Some(participant) = stream.try_next().await.expect("stream") {
        consume(&participant, work, &mut sink);
        count += 1;
    }
    (count, stream.pages_fetched())
}

/// Ours without prefetch: one page, its items, then the next page.
async fn sequential(client: &Client, page_size: u32, work: Work) -> (usize, u64) {
    let (service, conversation) = ids();
    let (mut count, mut pages, mut sink) = (0, 0, Vec::new());
    let mut page = client
        .participants(&service, conversation)
        .page_size(page_size)
        .first_page()
        .await
        .expect("first page");
    while let Some(current) = page {
        pages += 1;
        for participant in &current.items {
            consume(participant, work, &mut sink);
            count += 1;
        }
        page = current.next_page().await.expect("next page");
    }
    (count, pages)
}

/// A baseline: one request per page, decode into `P`, follow `next_page_url`.
async fn baseline<P: Paged>(
    http: &reqwest::Client,
    base_url: &str,
    page_size: u32,
    work: Work,
) -> (usize, u64) {
    let credentials = testing::fake_credentials();
    let (service, conversation) = ids();
    let mut url = format!(
        "{base_url}/v1/Services/{service}/Conversations/{conversation}/Participants?PageSize={page_size}"
    );
    let (mut count, mut pages, mut sink) = (0, 0, Vec::new());
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
        pages += 1;
        let (items, next) = serde_json::from_slice::<P>(&body).expect("decode").split();
        for item in &items {
            consume(item, work, &mut sink);
            count += 1;
        }
        match next {
            Some(next) => url = next,
            None => return (count, pages),
        }
    }
}

/// This process's CPU time so far: the nanoseconds each of its threads has run
/// (`/proc/self/task/*/schedstat`, Linux), finer than the 10 ms ticks of `/proc/self/stat`.
/// The runtime's threads live for the whole benchmark, so none is lost between readings.
fn cpu_time() -> Duration {
    let tasks = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten();
    let nanos: u64 = tasks
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// One measured run.
#[derive(Clone, Copy, Default)]
struct Sample {
    wall: f64,
    cpu: f64,
    bytes: u64,
    requests: u64,
}

async fn measure<F: std::future::Future<Output = (usize, u64)>>(expected: usize, run: F) -> Sample {
    let bytes = ALLOCATED.load(Ordering::Relaxed);
    let cpu = cpu_time();
    let started = Instant::now();
    let (count, requests) = run.await;
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(count, expected, "a run lost participants");
    Sample {
        wall,
        cpu: (cpu_time() - cpu).as_secs_f64(),
        bytes: ALLOCATED.load(Ordering::Relaxed) - bytes,
        requests,
    }
}

/// Medians of a side's samples.
fn summary(samples: &[Sample]) -> Sample {
    let median = |pick: fn(&Sample) -> f64| {
        let mut values: Vec<f64> = samples.iter().map(pick).collect();
        values.sort_by(|a, b| a.total_cmp(b));
        values[values.len() / 2]
    };
    Sample {
        wall: median(|s| s.wall),
        cpu: median(|s| s.cpu),
        bytes: samples.iter().map(|s| s.bytes).sum::<u64>() / samples.len().max(1) as u64,
        requests: samples.first().map_or(0, |s| s.requests),
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    (a / b * 1000.0).round() / 1000.0
}

/// Runs every row; prints and writes `target/bench.json`.
pub fn run(options: &Options, workspace: &Path) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let throughput = runtime.block_on(throughput(options));
    let tool = runtime.block_on(tool_row(options, workspace));
    let latency = runtime.block_on(latency_rows(options));
    let memory = options.memory.then(memory_flatness);
    let report = json!({
        "machine": machine(),
        "participants": options.participants,
        "runs": options.runs,
        "throughput": throughput,
        "tool": tool,
        "latency": latency,
        "memory": memory,
    });
    let path = workspace.join("target/bench.json");
    match std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    ) {
        Ok(()) => println!("written to {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
    report
}

async fn throughput(options: &Options) -> Vec<serde_json::Value> {
    let served = Served::start(options.participants, Duration::ZERO);
    let base = served.base_url.as_str();
    let ours_client = client(base);
    // Ignored when a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let n = options.participants;
    // Warm up every path (connections, the server's page cache).
    ours(&ours_client, Some(100), Work::None).await;
    baseline::<ParticipantPage>(&http, base, 100, Work::None).await;
    baseline::<UntypedPage>(&http, base, 50, Work::None).await;
    println!(
        "{:>4}  {:>9}  {:>9}  {:>9}  {:>9}  {:>11}  {:>11}  {:>10}  {:>10}",
        "page",
        "work",
        "ours p/s",
        "typed p/s",
        "floor p/s",
        "wall/floor",
        "CPU/floor",
        "wall/typed",
        "B/p ours"
    );
    let mut rows = Vec::new();
    for (page_size, work) in [
        (50, Work::None),
        (100, Work::None),
        (100, Work::EncodeJsonLine),
    ] {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..options.runs {
            a.push(measure(n, ours(&ours_client, Some(page_size), work)).await);
            b.push(measure(n, baseline::<ParticipantPage>(&http, base, page_size, work)).await);
            c.push(measure(n, baseline::<UntypedPage>(&http, base, page_size, work)).await);
        }
        let (ours, typed, floor) = (summary(&a), summary(&b), summary(&c));
        let rate = |s: &Sample| (n as f64 / s.wall).round();
        let per = |s: &Sample| (s.bytes as f64 / n as f64).round();
        let work_name = match work {
            Work::EncodeJsonLine => "JSON line",
            _ => "nothing",
        };
        println!(
            "{page_size:>4}  {work_name:>9}  {:>9}  {:>9}  {:>9}  {:>11.3}  {:>11.3}  {:>10.3}  {:>10}",
            rate(&ours),
            rate(&typed),
            rate(&floor),
            ratio(ours.wall, floor.wall),
            ratio(ours.cpu, floor.cpu),
            ratio(ours.wall, typed.wall),
            per(&ours)
        );
        rows.push(json!({
            "page_size": page_size,
            "per_participant_work": work_name,
            "ours_per_second": rate(&ours),
            "typed_baseline_per_second": rate(&typed),
            "untyped_floor_per_second": rate(&floor),
            "wall_vs_floor": ratio(ours.wall, floor.wall),
            "cpu_vs_floor": ratio(ours.cpu, floor.cpu),
            "wall_vs_typed": ratio(ours.wall, typed.wall),
            "cpu_vs_typed": ratio(ours.cpu, typed.cpu),
            "ours_cpu_s": ours.cpu,
            "floor_cpu_s": floor.cpu,
            "bytes_allocated_per_participant": {
                "ours": per(&ours), "typed": per(&typed), "floor": per(&floor)
            },
        }));
    }
    rows
}

/// The tool's whole process (`list -o jsonl` to /dev/null) against the untyped loop
/// encoding JSON lines.
async fn tool_row(options: &Options, workspace: &Path) -> serde_json::Value {
    let tool = workspace.join("target/release/twilio-participants");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "--package",
            "twilio-participants",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !built {
        return json!({ "error": "cannot build twilio-participants" });
    }
    let served = Served::start(options.participants, Duration::ZERO);
    let base = served.base_url.clone();
    let http = reqwest::Client::new();
    let n = options.participants;
    baseline::<UntypedPage>(&http, &base, 100, Work::EncodeJsonLine).await;
    let (mut tool_walls, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..options.runs {
        let started = Instant::now();
        let status = Command::new(&tool)
            .args([
                "list",
                "-o",
                "jsonl",
                "--page-size",
                "100",
                "--base-url",
                &base,
            ])
            .args([
                "--chat-service-sid",
                SERVICE,
                "--conversation-sid",
                CONVERSATION,
            ])
            .env("TWILIO_ACCOUNT_SID", testing::FAKE_ACCOUNT_SID)
            .env("TWILIO_AUTH_TOKEN", testing::FAKE_AUTH_TOKEN)
            .stdout(Stdio::null())
            .status()
            .expect("run the tool");
        assert!(status.success(), "the tool failed");
        tool_walls.push(Sample {
            wall: started.elapsed().as_secs_f64(),
            ..Sample::default()
        });
        floor.push(
            measure(
                n,
                baseline::<UntypedPage>(&http, &base, 100, Work::EncodeJsonLine),
            )
            .await,
        );
    }
    let (tool, floor) = (summary(&tool_walls), summary(&floor));
    println!(
        "\ntool `list -o jsonl`, whole process: {:.3} s; untyped loop writing JSON lines: {:.3} s; ratio {:.3}",
        tool.wall,
        floor.wall,
        ratio(tool.wall, floor.wall)
    );
    json!({ "tool_s": tool.wall, "floor_s": floor.wall, "ratio": ratio(tool.wall, floor.wall) })
}

/// Round trips decide what users feel: a fake that takes 20 ms per request, 1,000
/// participants, 200 µs of the caller's work on each.
async fn latency_rows(options: &Options) -> Vec<serde_json::Value> {
    const PARTICIPANTS: usize = 1_000;
    let round_trip = Duration::from_millis(20);
    let work = Work::Spin(Duration::from_micros(200));
    let served = Served::start(PARTICIPANTS, round_trip);
    let client = client(&served.base_url);
    let runs = options.runs.min(3);
    println!(
        "\nlatency: {PARTICIPANTS} participants, {round_trip:?} per request, 200 µs of work each"
    );
    let mut rows = Vec::new();
    for (name, page_size, prefetch) in [
        ("stream(), no page size (asks for 100)", None, true),
        ("stream(), page size 50 (Twilio's default)", Some(50), true),
        ("page by page, no prefetch, page size 100", Some(100), false),
    ] {
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(if prefetch {
                measure(PARTICIPANTS, ours(&client, page_size, work)).await
            } else {
                measure(
                    PARTICIPANTS,
                    sequential(&client, page_size.unwrap_or(100), work),
                )
                .await
            });
        }
        let s = summary(&samples);
        println!("  {name:<44} {:>3} requests  {:.3} s", s.requests, s.wall);
        rows.push(json!({ "case": name, "requests": s.requests, "wall_s": s.wall }));
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

fn memory_flatness() -> serde_json::Value {
    let large = 1_000_000;
    println!("\nmemory: streaming 10,000 and {large} participants in child processes…");
    let served = Served::start(large, Duration::ZERO);
    let (small, big) = (
        probe(&served.base_url, 10_000),
        probe(&served.base_url, large),
    );
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
            .participants(&service, conversation)
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
