//! `cargo xtask bench`: our `stream()` against the fastest floor.
//!
//! The fake server runs in a child process (`xtask bench-serve`), so the CPU time measured
//! here is the client's alone. Each throughput row alternates runs of:
//! - ours: `client.participants(..).page_size(..).stream()`, on Tokio's current-thread
//!   runtime and on a 2-worker multi-thread one;
//! - the untyped floor: a minimal reqwest + serde_json loop decoding into plain
//!   `String`/`Option<String>` fields, following `next_page_url`, on both runtimes;
//! - the typed baseline: the same loop decoding into the generated `ParticipantPage` (SID
//!   checks, dates and all), on the current-thread runtime.
//!
//! Medians of the runs, wall and CPU, each as a ratio to the fastest floor (the floor's
//! runtime with the lower median wall time). Then: the command-line tool's whole process
//! (`list -o jsonl` to /dev/null, wall and CPU) against the untyped loop writing the same
//! JSON lines on its fastest runtime; a latency row (a fake with a per-request delay, a
//! consumer with per-item work: `stream()` against a sequential page-by-page loop, and
//! Twilio's default page size against ours); and child processes that stream 10,000 and
//! 1,000,000 participants to compare their peak RSS and first-item time.
//!
//! Everything runs from the `profiling` profile (release code, line tables and symbols), so
//! `cargo xtask bench-profile` under `perf record` or `valgrind --tool=callgrind` profiles
//! the code that was timed.

use std::{
    fs::File,
    hint::black_box,
    io::{BufRead, BufReader, BufWriter, Write},
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Nothing (the participant is only looked at).
    None,
    /// What `list -o jsonl` does: write it as a JSON line (to a buffered `/dev/null`).
    JsonLine,
    /// Busy work for this long (a caller that does something with each item).
    Spin(Duration),
}

impl Work {
    fn name(self) -> &'static str {
        match self {
            Work::None => "nothing",
            Work::JsonLine => "JSON line",
            Work::Spin(_) => "busy work",
        }
    }
}

/// Where a loop writes its JSON lines: `/dev/null` behind the tool's 8 KiB buffer.
fn sink() -> BufWriter<File> {
    BufWriter::new(File::create("/dev/null").expect("open /dev/null"))
}

fn consume<T: Serialize>(item: &T, work: Work, sink: &mut impl Write) {
    match work {
        Work::None => {
            black_box(item);
        }
        Work::JsonLine => {
            serde_json::to_writer(&mut *sink, item).expect("encode");
            sink.write_all(b"\n").expect("write");
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
    let (mut count, mut sink) = (0, sink());
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
    sink.flush().expect("flush");
    (count, stream.pages_fetched())
}

/// Ours without prefetch: one page, its items, then the next page.
async fn sequential(client: &Client, page_size: u32, work: Work) -> (usize, u64) {
    let (service, conversation) = ids();
    let (mut count, mut pages, mut sink) = (0, 0, sink());
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
    let (mut count, mut pages, mut sink) = (0, 0, sink());
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
            None => {
                sink.flush().expect("flush");
                return (count, pages);
            }
        }
    }
}

/// This process's CPU time so far: the nanoseconds each of its threads has run
/// (`/proc/self/task/*/schedstat`, Linux), finer than the 10 ms ticks of `/proc/self/stat`.
/// The runtimes' threads live for the whole benchmark, so none is lost between readings.
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

/// The Tokio runtime a reader runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `new_current_thread`: everything on the calling thread.
    CurrentThread,
    /// `new_multi_thread` with 2 workers (the machine's cores).
    MultiThread,
}

impl Flavor {
    const BOTH: [Flavor; 2] = [Flavor::CurrentThread, Flavor::MultiThread];

    fn name(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "current-thread",
            Flavor::MultiThread => "multi-thread",
        }
    }

    fn runtime(self) -> tokio::runtime::Runtime {
        match self {
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Flavor::MultiThread => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
        }
        .enable_all()
        .build()
        .expect("tokio runtime")
    }
}

/// What reads the participants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// Our `stream()`.
    Ours,
    /// The reqwest + serde_json loop decoding into the generated `ParticipantPage`.
    Typed,
    /// The same loop decoding into plain strings.
    Floor,
}

impl Reader {
    fn name(self) -> &'static str {
        match self {
            Reader::Ours => "stream()",
            Reader::Typed => "typed loop",
            Reader::Floor => "untyped loop",
        }
    }
}

/// A runtime with its own clients: a connection's task lives on the runtime that opened it,
/// so clients are never shared between runtimes.
struct Bench {
    flavor: Flavor,
    runtime: tokio::runtime::Runtime,
    ours: Client,
    http: reqwest::Client,
    base_url: String,
}

impl Bench {
    fn new(flavor: Flavor, base_url: &str) -> Self {
        // Ignored when a provider is already installed; the plain reqwest client needs one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            flavor,
            runtime: flavor.runtime(),
            ours: client(base_url),
            http: reqwest::Client::new(),
            base_url: base_url.to_owned(),
        }
    }

    /// One measured run of `reader` over all `expected` participants.
    fn run(&self, reader: Reader, page_size: u32, work: Work, expected: usize) -> Sample {
        let (http, base) = (&self.http, self.base_url.as_str());
        self.runtime.block_on(async {
            match reader {
                Reader::Ours => measure(expected, ours(&self.ours, Some(page_size), work)).await,
                Reader::Typed => {
                    let run = baseline::<ParticipantPage>(http, base, page_size, work);
                    measure(expected, run).await
                }
                Reader::Floor => {
                    let run = baseline::<UntypedPage>(http, base, page_size, work);
                    measure(expected, run).await
                }
            }
        })
    }
}

/// The readers each throughput row compares: ours on both runtimes, the floor on both, and
/// the typed loop on the current-thread runtime.
const SIDES: [(Reader, Flavor); 5] = [
    (Reader::Ours, Flavor::CurrentThread),
    (Reader::Ours, Flavor::MultiThread),
    (Reader::Floor, Flavor::CurrentThread),
    (Reader::Floor, Flavor::MultiThread),
    (Reader::Typed, Flavor::CurrentThread),
];

/// Runs every row; prints and writes `target/bench.json`.
pub fn run(options: &Options, workspace: &Path) -> serde_json::Value {
    let throughput = throughput(options);
    let tool = tool_row(options, workspace);
    let latency = Flavor::MultiThread
        .runtime()
        .block_on(latency_rows(options));
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

/// Medians of each side, runs alternating between the sides.
fn alternate(
    benches: &[Bench],
    sides: &[(Reader, Flavor)],
    page_size: u32,
    work: Work,
    options: &Options,
) -> Vec<Sample> {
    let mut samples = vec![Vec::new(); sides.len()];
    for _ in 0..options.runs {
        for (side, (reader, flavor)) in samples.iter_mut().zip(sides) {
            let bench = benches
                .iter()
                .find(|b| b.flavor == *flavor)
                .expect("runtime");
            side.push(bench.run(*reader, page_size, work, options.participants));
        }
    }
    samples.iter().map(|s| summary(s)).collect()
}

/// The fastest of the floor's runtimes (by median wall time) in `measured`.
fn fastest_floor(sides: &[(Reader, Flavor)], measured: &[Sample]) -> (Flavor, Sample) {
    sides
        .iter()
        .zip(measured)
        .filter(|((reader, _), _)| *reader == Reader::Floor)
        .map(|((_, flavor), sample)| (*flavor, *sample))
        .min_by(|a, b| a.1.wall.total_cmp(&b.1.wall))
        .expect("the floor is measured")
}

fn throughput(options: &Options) -> Vec<serde_json::Value> {
    let served = Served::start(options.participants, Duration::ZERO);
    let benches = Flavor::BOTH.map(|flavor| Bench::new(flavor, &served.base_url));
    let n = options.participants;
    // Warm up every path (connections, the server's page cache).
    for (reader, flavor) in SIDES {
        let bench = benches
            .iter()
            .find(|b| b.flavor == flavor)
            .expect("runtime");
        bench.run(reader, 100, Work::None, n);
    }
    println!("participants per second and ratios to the fastest untyped loop (wall, CPU)");
    let mut rows = Vec::new();
    for (page_size, work) in [(50, Work::None), (100, Work::None), (100, Work::JsonLine)] {
        let measured = alternate(&benches, &SIDES, page_size, work, options);
        let (floor_flavor, floor) = fastest_floor(&SIDES, &measured);
        println!(
            "\npage size {page_size}, caller's work: {}; fastest floor: {}",
            work.name(),
            floor_flavor.name()
        );
        let mut sides = Vec::new();
        for ((reader, flavor), sample) in SIDES.iter().zip(&measured) {
            let line = side_json(*reader, *flavor, sample, &floor, n);
            println!(
                "  {:<13} {:<15} {:>9}/s  wall {:>6.3}×  CPU {:>6.3}×  {:>5} B/participant",
                reader.name(),
                flavor.name(),
                line["per_second"],
                line["wall_vs_fastest_floor"].as_f64().unwrap_or(f64::NAN),
                line["cpu_vs_fastest_floor"].as_f64().unwrap_or(f64::NAN),
                line["bytes_allocated_per_participant"],
            );
            sides.push(line);
        }
        rows.push(json!({
            "page_size": page_size,
            "per_participant_work": work.name(),
            "fastest_floor_runtime": floor_flavor.name(),
            "sides": sides,
        }));
    }
    rows
}

fn side_json(
    reader: Reader,
    flavor: Flavor,
    sample: &Sample,
    floor: &Sample,
    n: usize,
) -> serde_json::Value {
    json!({
        "reader": reader.name(),
        "runtime": flavor.name(),
        "per_second": (n as f64 / sample.wall).round() as u64,
        "wall_s": sample.wall,
        "cpu_s": sample.cpu,
        "wall_vs_fastest_floor": ratio(sample.wall, floor.wall),
        "cpu_vs_fastest_floor": ratio(sample.cpu, floor.cpu),
        "bytes_allocated_per_participant": (sample.bytes as f64 / n as f64).round() as u64,
    })
}

/// The profiling build of a binary of this workspace (see `[profile.profiling]`).
pub fn profiling_binary(workspace: &Path, name: &str) -> std::path::PathBuf {
    workspace.join("target/profiling").join(name)
}

/// One run of the tool's whole process: wall time and the CPU time of the process (user and
/// system, from `wait4`).
fn run_tool(tool: &Path, base_url: &str) -> Sample {
    let started = Instant::now();
    let child = Command::new(tool)
        .args(["list", "-o", "jsonl", "--page-size", "100"])
        .args(["--base-url", base_url])
        .args(["--chat-service-sid", SERVICE])
        .args(["--conversation-sid", CONVERSATION])
        .env("TWILIO_ACCOUNT_SID", testing::FAKE_ACCOUNT_SID)
        .env("TWILIO_AUTH_TOKEN", testing::FAKE_AUTH_TOKEN)
        .stdout(Stdio::null())
        .spawn()
        .expect("run the tool");
    let (status, cpu) = wait_with_cpu(child);
    assert!(status == 0, "the tool failed (wait status {status})");
    Sample {
        wall: started.elapsed().as_secs_f64(),
        cpu,
        ..Sample::default()
    }
}

/// Waits for `child`; its raw wait status and the CPU seconds it used.
fn wait_with_cpu(child: Child) -> (i32, f64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data, valid when zeroed, and filled in by `wait4`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our unreaped child; both pointers are valid for writes.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (status, seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// The tool's whole process (`list -o jsonl` to /dev/null) against the untyped loop
/// writing the same JSON lines to /dev/null, on both runtimes; ratios to the fastest.
fn tool_row(options: &Options, workspace: &Path) -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--quiet", "--profile", "profiling"])
        .args(["--package", "twilio-participants"])
        .status()
        .is_ok_and(|s| s.success());
    if !built {
        return json!({ "error": "cannot build twilio-participants" });
    }
    let tool = profiling_binary(workspace, "twilio-participants");
    let served = Served::start(options.participants, Duration::ZERO);
    let benches = Flavor::BOTH.map(|flavor| Bench::new(flavor, &served.base_url));
    let n = options.participants;
    let floors = [
        (Reader::Floor, Flavor::CurrentThread),
        (Reader::Floor, Flavor::MultiThread),
    ];
    for bench in &benches {
        bench.run(Reader::Floor, 100, Work::JsonLine, n);
    }
    run_tool(&tool, &served.base_url);
    let mut tool_samples = Vec::new();
    let mut floor_samples = vec![Vec::new(); floors.len()];
    for _ in 0..options.runs {
        tool_samples.push(run_tool(&tool, &served.base_url));
        for (samples, bench) in floor_samples.iter_mut().zip(&benches) {
            samples.push(bench.run(Reader::Floor, 100, Work::JsonLine, n));
        }
    }
    let measured: Vec<Sample> = floor_samples.iter().map(|s| summary(s)).collect();
    let (floor_flavor, floor) = fastest_floor(&floors, &measured);
    let tool = summary(&tool_samples);
    println!(
        "\ntool `list -o jsonl` to /dev/null, whole process: {:.3} s wall, {:.3} s CPU; \
         untyped loop writing JSON lines ({}): {:.3} s wall, {:.3} s CPU; \
         ratio wall {:.3}×, CPU {:.3}× (multi-thread loop: {:.3} s wall)",
        tool.wall,
        tool.cpu,
        floor_flavor.name(),
        floor.wall,
        floor.cpu,
        ratio(tool.wall, floor.wall),
        ratio(tool.cpu, floor.cpu),
        measured[1].wall,
    );
    json!({
        "tool_wall_s": tool.wall,
        "tool_cpu_s": tool.cpu,
        "fastest_floor_runtime": floor_flavor.name(),
        "floor_wall_s": floor.wall,
        "floor_cpu_s": floor.cpu,
        "floor_current_thread_wall_s": measured[0].wall,
        "floor_multi_thread_wall_s": measured[1].wall,
        "wall_vs_fastest_floor": ratio(tool.wall, floor.wall),
        "cpu_vs_fastest_floor": ratio(tool.cpu, floor.cpu),
    })
}

/// `cargo xtask bench-profile`: a fixed workload for `perf` and `callgrind`: `runs` reads of
/// `participants` (page size 100) by one reader on one runtime, the fake in a child process.
/// Prints each run's wall and CPU time.
pub fn profile_main(reader: Reader, flavor: Flavor, participants: usize, runs: usize, work: Work) {
    let served = Served::start(participants, Duration::ZERO);
    let bench = Bench::new(flavor, &served.base_url);
    for _ in 0..runs {
        let sample = bench.run(reader, 100, work, participants);
        println!(
            "{} on {}: {:.3} s wall, {:.3} s CPU",
            reader.name(),
            flavor.name(),
            sample.wall,
            sample.cpu
        );
    }
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

/// Streams 10,000 and 1,000,000 participants in child processes and prints their peak RSS
/// and its ratio (also `cargo xtask bench-memory` alone).
pub fn memory_flatness() -> serde_json::Value {
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
