//! `cargo xtask bench`: our code against the fastest floor, measured as a user's process is.
//!
//! Every comparison is between two whole processes built with the same `profiling` profile
//! (release code with line tables): `bench-sdk` (our `stream()`), `bench-floor` (a plain
//! reqwest + serde_json loop into `String` fields) and the tool (`twilio-participants list
//! -o jsonl`), reading from a fake server in a process of its own (`xtask bench-serve`), so
//! that what is timed is the reader alone: wall time from spawn to exit, CPU time (user +
//! system, all threads) from `wait4`.
//!
//! After a warm-up pair, the two sides run alternately (A B A B …); each pair gives one
//! ratio A/B, for wall and for CPU. A row reports the median ratio with its min and max, and
//! concludes (goal met or missed) only when the run can be trusted: at least
//! [`MIN_PAIRS`] pairs, and the middle half of the ratios (first to third quartile) no wider
//! than [`MAX_SPREAD`] of the median. The quartiles, not the extremes, decide: one pair
//! disturbed by another process's burst should not void ten good ones, but a machine busy
//! half the time does. Otherwise the row says the spread is too wide to conclude.
//!
//! Then, in this process: a latency row (a fake with a per-request delay, a consumer with
//! per-item work) and child processes that stream 10,000 and 1,000,000 participants to
//! compare their peak RSS and first-item time.

use std::{
    hint::black_box,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use futures_util::TryStreamExt;
use serde_json::json;
use twilio_conversations::{
    testing::{self, FakeServer},
    Client, ConversationSid, ServiceSid,
};

use crate::bench_reader::{Flavor, ReaderArgs, Work, CONVERSATION, SERVICE};

/// The fewest pairs a row concludes from.
pub const MIN_PAIRS: usize = 7;

/// The widest interquartile range of a row's pair ratios, as a fraction of their median,
/// that a row concludes from.
pub const MAX_SPREAD: f64 = 0.10;

/// What to measure.
#[derive(Clone, Debug)]
pub struct Options {
    /// Participants in the throughput conversation.
    pub participants: usize,
    /// Measured pairs per row (after one warm-up pair).
    pub runs: usize,
    /// Whether to run the peak-RSS comparison (10,000 vs 1,000,000).
    pub memory: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            participants: 100_000,
            runs: 11,
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

/// This program's path, read once: the benchmark rebuilds its binaries, and a rebuilt
/// xtask leaves `/proc/self/exe` naming the deleted file.
fn own_path() -> &'static Path {
    static OWN_PATH: OnceLock<PathBuf> = OnceLock::new();
    OWN_PATH.get_or_init(|| std::env::current_exe().expect("own path"))
}

/// A fake server in a child process; killed when dropped.
struct Served {
    child: Child,
    base_url: String,
}

impl Served {
    fn start(participants: usize, latency: Duration) -> Self {
        let exe = own_path();
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

/// A whole process that reads every participant.
#[derive(Clone, Copy, Debug)]
enum Process {
    /// `bench-sdk`: our `stream()`.
    Sdk(Flavor, Work),
    /// `bench-floor`: the plain reqwest + serde_json loop.
    Floor(Flavor, Work),
    /// The tool: `twilio-participants list -o jsonl --page-size 100`.
    Tool,
}

impl Process {
    fn name(self) -> String {
        match self {
            Process::Sdk(flavor, work) => format!("stream() {} {}", flavor.name(), work.name()),
            Process::Floor(flavor, work) => format!("floor {} {}", flavor.name(), work.name()),
            Process::Tool => "twilio-participants list -o jsonl".into(),
        }
    }

    fn command(self, binaries: &Path, base_url: &str, participants: usize) -> Command {
        let reader = |binary: &str, flavor: Flavor, work: Work| {
            let mut command = Command::new(binaries.join(binary));
            command.args(
                ReaderArgs {
                    base_url: base_url.to_owned(),
                    participants,
                    page_size: 100,
                    flavor,
                    work,
                }
                .to_args(),
            );
            command
        };
        match self {
            Process::Sdk(flavor, work) => reader("bench-sdk", flavor, work),
            Process::Floor(flavor, work) => reader("bench-floor", flavor, work),
            Process::Tool => {
                let mut command = Command::new(binaries.join("twilio-participants"));
                command
                    .args(["list", "-o", "jsonl", "--page-size", "100"])
                    .args(["--base-url", base_url])
                    .args(["--chat-service-sid", SERVICE])
                    .args(["--conversation-sid", CONVERSATION])
                    .env("TWILIO_ACCOUNT_SID", testing::FAKE_ACCOUNT_SID)
                    .env("TWILIO_AUTH_TOKEN", testing::FAKE_AUTH_TOKEN);
                command
            }
        }
    }
}

/// One run of a whole process.
#[derive(Clone, Copy, Debug)]
struct Sample {
    wall: f64,
    cpu: f64,
}

/// Runs `command` to its end with stdout to /dev/null: wall time from spawn to exit, and
/// the CPU time (user and system, every thread) `wait4` reports.
fn run_process(mut command: Command) -> Result<Sample, String> {
    let started = Instant::now();
    let child = command
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let (status, cpu) = wait_with_cpu(child);
    let wall = started.elapsed().as_secs_f64();
    if status != 0 {
        return Err(format!("{command:?} failed (wait status {status})"));
    }
    Ok(Sample { wall, cpu })
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

/// A set of pair ratios: median, quartiles and extremes.
#[derive(Clone, Copy, Debug)]
struct Spread {
    median: f64,
    q1: f64,
    q3: f64,
    min: f64,
    max: f64,
    pairs: usize,
}

impl Spread {
    fn of(mut ratios: Vec<f64>) -> Self {
        ratios.sort_by(f64::total_cmp);
        let n = ratios.len();
        let at = |fraction: f64| {
            // Linear interpolation between the closest ranks.
            let rank = fraction * (n - 1) as f64;
            let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
            ratios[low] + (ratios[high] - ratios[low]) * (rank - low as f64)
        };
        Self {
            median: at(0.5),
            q1: at(0.25),
            q3: at(0.75),
            min: ratios[0],
            max: ratios[n - 1],
            pairs: n,
        }
    }

    /// Why this spread cannot be concluded from, if it cannot.
    fn inconclusive(&self) -> Option<String> {
        let width = (self.q3 - self.q1) / self.median;
        if self.pairs < MIN_PAIRS {
            Some(format!(
                "{} pairs, too few (at least {MIN_PAIRS})",
                self.pairs
            ))
        } else if width > MAX_SPREAD {
            Some(format!(
                "spread too wide: quartiles {:.3}–{:.3} span {:.0}% of the median, more than {:.0}%",
                self.q1,
                self.q3,
                width * 100.0,
                MAX_SPREAD * 100.0
            ))
        } else {
            None
        }
    }

    /// The verdict against `goal` (a ratio not to exceed), or why there is none.
    fn verdict(&self, goal: f64) -> String {
        match self.inconclusive() {
            Some(why) => format!("no conclusion: {why}"),
            None if self.median <= goal => format!("goal ≤ {goal}× met"),
            None => format!("goal ≤ {goal}× missed"),
        }
    }

    fn json(&self, goal: f64) -> serde_json::Value {
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "median": round(self.median),
            "q1": round(self.q1),
            "q3": round(self.q3),
            "min": round(self.min),
            "max": round(self.max),
            "pairs": self.pairs,
            "goal": goal,
            "verdict": self.verdict(goal),
        })
    }
}

/// A comparison of two processes: ours, the floor, and the goal for their ratio.
struct Row {
    name: &'static str,
    ours: Process,
    floor: Process,
    goal: f64,
}

/// The rows `cargo xtask bench` measures (page size 100 throughout).
fn rows() -> [Row; 4] {
    use Flavor::{CurrentThread, MultiThread};
    [
        Row {
            name: "stream(), current-thread",
            ours: Process::Sdk(CurrentThread, Work::Nothing),
            floor: Process::Floor(CurrentThread, Work::Nothing),
            goal: 1.15,
        },
        Row {
            name: "stream(), multi-thread",
            ours: Process::Sdk(MultiThread, Work::Nothing),
            floor: Process::Floor(MultiThread, Work::Nothing),
            goal: 1.10,
        },
        Row {
            name: "stream() + JSON line, current-thread",
            ours: Process::Sdk(CurrentThread, Work::JsonLine),
            floor: Process::Floor(CurrentThread, Work::JsonLine),
            goal: 1.15,
        },
        Row {
            name: "the tool: list -o jsonl",
            ours: Process::Tool,
            floor: Process::Floor(CurrentThread, Work::JsonLine),
            goal: 1.10,
        },
    ]
}

/// Builds the measured binaries with the `profiling` profile; the directory holding them.
/// Each package is built on its own, as `cargo xtask` and `cargo build -p twilio-participants`
/// build it: built together their dependencies' features would be unified differently, and
/// this very program would be rebuilt under its own feet.
fn build_binaries(workspace: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for package in ["xtask", "twilio-participants"] {
        let built = Command::new(&cargo)
            .args(["build", "--quiet", "--profile", "profiling", "--bins"])
            .args(["--package", package])
            .status()
            .is_ok_and(|s| s.success());
        if !built {
            return Err(format!("cannot build the binaries of {package}"));
        }
    }
    Ok(workspace.join("target/profiling"))
}

/// One row: a warm-up pair, then `pairs` pairs, ours first in each.
fn compare(
    row: &Row,
    binaries: &Path,
    base_url: &str,
    options: &Options,
) -> Result<serde_json::Value, String> {
    let n = options.participants;
    let run = |process: Process| run_process(process.command(binaries, base_url, n));
    run(row.ours)?;
    run(row.floor)?;
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..options.runs {
        ours.push(run(row.ours)?);
        floor.push(run(row.floor)?);
    }
    let ratios = |pick: fn(&Sample) -> f64| {
        Spread::of(
            ours.iter()
                .zip(&floor)
                .map(|(a, b)| pick(a) / pick(b))
                .collect(),
        )
    };
    let (wall, cpu) = (ratios(|s| s.wall), ratios(|s| s.cpu));
    let medians = |samples: &[Sample], pick: fn(&Sample) -> f64| {
        let mut values: Vec<f64> = samples.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (ours_wall, floor_wall) = (medians(&ours, |s| s.wall), medians(&floor, |s| s.wall));
    let (ours_cpu, floor_cpu) = (medians(&ours, |s| s.cpu), medians(&floor, |s| s.cpu));
    println!(
        "\n{} ({} vs {})",
        row.name,
        row.ours.name(),
        row.floor.name()
    );
    println!(
        "  medians: ours {ours_wall:.3} s wall, {ours_cpu:.3} s CPU; \
         floor {floor_wall:.3} s wall, {floor_cpu:.3} s CPU"
    );
    for (what, spread) in [("wall", &wall), ("CPU ", &cpu)] {
        println!(
            "  {what} ratio: median {:.3}× (min {:.3}, max {:.3}, quartiles {:.3}–{:.3}, {} pairs): {}",
            spread.median,
            spread.min,
            spread.max,
            spread.q1,
            spread.q3,
            spread.pairs,
            spread.verdict(row.goal)
        );
    }
    Ok(json!({
        "row": row.name,
        "ours": row.ours.name(),
        "floor": row.floor.name(),
        "ours_median_wall_s": ours_wall,
        "ours_median_cpu_s": ours_cpu,
        "floor_median_wall_s": floor_wall,
        "floor_median_cpu_s": floor_cpu,
        "wall_ratio": wall.json(row.goal),
        "cpu_ratio": cpu.json(row.goal),
    }))
}

fn processes(options: &Options, workspace: &Path) -> Result<Vec<serde_json::Value>, String> {
    let binaries = build_binaries(workspace)?;
    let served = Served::start(options.participants, Duration::ZERO);
    println!(
        "{} participants, page size 100, whole processes; ratios ours/floor per pair \
         (a row concludes from {MIN_PAIRS}+ pairs whose quartiles span ≤ {:.0}% of the median)",
        options.participants,
        MAX_SPREAD * 100.0
    );
    rows()
        .iter()
        .map(|row| compare(row, &binaries, &served.base_url, options))
        .collect()
}

/// Runs every row; prints and writes `target/bench.json`.
pub fn run(options: &Options, workspace: &Path) -> Result<serde_json::Value, String> {
    own_path();
    let processes = processes(options, workspace)?;
    let latency = Flavor::MultiThread
        .runtime()
        .map_err(|e| format!("runtime: {e}"))?
        .block_on(latency_rows(options));
    let memory = options.memory.then(memory_flatness);
    let report = json!({
        "machine": machine(),
        "participants": options.participants,
        "pairs": options.runs,
        "processes": processes,
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
    Ok(report)
}

/// `cargo xtask bench-profile`: starts the fake with `participants` participants and runs
/// `command` with every `{url}` in it replaced by the fake's base URL, e.g. a reader under
/// `valgrind --tool=callgrind`.
pub fn profile_main(participants: usize, command: &[String]) -> Result<(), String> {
    let (program, args) = command
        .split_first()
        .ok_or("bench-profile needs a command to run")?;
    let served = Served::start(participants, Duration::ZERO);
    let status = Command::new(program)
        .args(
            args.iter()
                .map(|arg| arg.replace("{url}", &served.base_url)),
        )
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} failed: {status}"))
    }
}

/// Ours: the stream, with `spin` of busy work per participant. Returns (participants,
/// requests).
async fn ours(client: &Client, page_size: Option<u32>, spin: Duration) -> (usize, u64) {
    let (service, conversation) = ids();
    let mut count = 0;
    let participants = client.participants(&service, conversation);
    let request = match page_size {
        Some(size) => participants.page_size(size),
        None => participants.list_request(),
    };
    let mut stream = request.stream();
    while let Some(participant) = stream.try_next().await.expect("stream") {
        busy(spin, &participant);
        count += 1;
    }
    (count, stream.pages_fetched())
}

/// Ours without prefetch: one page, its items, then the next page.
async fn sequential(client: &Client, page_size: u32, spin: Duration) -> (usize, u64) {
    let (service, conversation) = ids();
    let (mut count, mut pages) = (0, 0);
    let mut page = client
        .participants(&service, conversation)
        .page_size(page_size)
        .first_page()
        .await
        .expect("first page");
    while let Some(current) = page {
        pages += 1;
        for participant in &current.items {
            busy(spin, participant);
            count += 1;
        }
        page = current.next_page().await.expect("next page");
    }
    (count, pages)
}

/// A caller's work on `item`: `time` of busy waiting.
fn busy<T>(time: Duration, item: &T) {
    let until = Instant::now() + time;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    black_box(item);
}

/// Wall time of one in-process run; (wall seconds, requests).
async fn timed<F: std::future::Future<Output = (usize, u64)>>(
    expected: usize,
    run: F,
) -> (f64, u64) {
    let started = Instant::now();
    let (count, requests) = run.await;
    assert_eq!(count, expected, "a run lost participants");
    (started.elapsed().as_secs_f64(), requests)
}

/// Round trips decide what users feel: a fake that takes 20 ms per request, 1,000
/// participants, 200 µs of the caller's work on each.
async fn latency_rows(options: &Options) -> Vec<serde_json::Value> {
    const PARTICIPANTS: usize = 1_000;
    let round_trip = Duration::from_millis(20);
    let spin = Duration::from_micros(200);
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
        let mut walls = Vec::new();
        let mut requests = 0;
        for _ in 0..runs {
            let (wall, made) = if prefetch {
                timed(PARTICIPANTS, ours(&client, page_size, spin)).await
            } else {
                timed(
                    PARTICIPANTS,
                    sequential(&client, page_size.unwrap_or(100), spin),
                )
                .await
            };
            walls.push(wall);
            requests = made;
        }
        walls.sort_by(f64::total_cmp);
        let wall = walls[walls.len() / 2];
        println!("  {name:<44} {requests:>3} requests  {wall:.3} s");
        rows.push(json!({ "case": name, "requests": requests, "wall_s": wall }));
    }
    rows
}

/// Peak RSS of a child process that streams `count` participants from `base_url`.
fn probe(base_url: &str, count: usize) -> serde_json::Value {
    let exe = own_path();
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
