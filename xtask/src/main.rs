//! `cargo xtask <command>`: project tooling (alias in `.cargo/config.toml`).

use std::{path::PathBuf, process::ExitCode};

use xtask::{bench, check_spec, readme, spec_drift};

mod bench_fleet;

const COMMANDS: &str = "\
Usage: cargo xtask <command>

Commands:
  check-spec   the spec, its documented examples and the generated types agree
  spec-drift [--expected FILE] PATH
               our spec against Twilio's description (twilio-oai
               spec/json/twilio_conversations_v1.json, downloaded to PATH): one line per
               difference; exit 0 only when the deliberate differences (FILE, default
               openapi/expected-differences.json) explain every one and each of their
               entries still applies
  check-readme the README's 'Using the crate' program compiles as a new crate
  fuzz         the property tests in release with more cases [--cases N (1000000)]
  bench        whole processes, alternating after a warm-up: bench-sdk (stream()) and the
               tool (list -o jsonl) against bench-floor (reqwest + serde_json), medians
               of pair ratios with their spread; then round-trip latency and memory
               [--participants N (100000)] [--runs PAIRS (11)] [--no-memory]
  bench-memory peak RSS of child processes streaming 10,000 and 1,000,000
               participants; fails when the larger peaks above 1.2x the smaller
  bench-profile [--participants N (10000)] -- COMMAND…
               starts the benchmark's fake and runs COMMAND with {url} replaced by its
               base URL, e.g. -- valgrind --tool=callgrind target/profiling/bench-sdk
               {url} 10000 100 current-thread nothing
  bench-fleet  one participant across 200 conversations at a 40 ms round trip:
               offboarding at concurrency 1/8/16, 16 at once against a server that
               takes 4, a 3 s outage waited out in one run, 300 creates into one
               conversation with and without pacing; writes target/bench-fleet.json
               [--quick: 40 conversations, a 1 s outage, 60 creates (CI)]
";

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn bench_options(args: &[String]) -> Result<bench::Options, String> {
    let mut options = bench::Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} takes a number"))
        };
        match arg.as_str() {
            "--participants" => options.participants = number("--participants")?,
            "--runs" => options.runs = number("--runs")?.max(1),
            "--no-memory" => options.memory = false,
            other => return Err(format!("unknown bench option {other:?}")),
        }
    }
    Ok(options)
}

/// `bench-profile [--participants N] -- COMMAND…`: the participants and the command.
fn profile_options(args: &[String]) -> Result<(usize, &[String]), String> {
    match args {
        [flag, count, dashes, command @ ..] if flag == "--participants" && dashes == "--" => count
            .parse()
            .map(|count| (count, command))
            .map_err(|_| format!("{count:?} is not a number")),
        [dashes, command @ ..] if dashes == "--" => Ok((10_000, command)),
        _ => Err("usage: bench-profile [--participants N] -- COMMAND…".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("check-spec") => check_spec(),
        Some("spec-drift") => spec_drift(rest),
        Some("check-readme") => check_readme(),
        Some("fuzz") => fuzz(rest),
        // Timing unoptimized code says nothing: a debug xtask hands over to the release code
        // of the `profiling` profile (line tables and symbols kept for perf).
        Some("bench" | "bench-memory" | "bench-profile" | "bench-fleet")
            if cfg!(debug_assertions) =>
        {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args([
                    "run",
                    "--quiet",
                    "--profile",
                    "profiling",
                    "--package",
                    "xtask",
                ])
                .arg("--")
                .args(&args)
                .status();
            exit_code(status)
        }
        Some("bench") => bench(rest),
        Some("bench-memory") => bench_memory(),
        Some("bench-profile") => {
            match profile_options(rest).and_then(|(n, command)| bench::profile_main(n, command)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("{message}\n\n{COMMANDS}");
                    ExitCode::from(2)
                }
            }
        }
        Some("bench-fleet") => match bench_fleet::run(&workspace_root(), rest) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("bench-fleet: {message}");
                ExitCode::FAILURE
            }
        },
        Some("bench-serve") => bench_serve(rest),
        Some("bench-probe") => bench_probe(rest),
        None | Some("help" | "--help" | "-h") => {
            print!("{COMMANDS}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command {other:?}\n\n{COMMANDS}");
            ExitCode::from(2)
        }
    }
}

/// The most the peak RSS of streaming 1,000,000 participants may be, as a multiple of
/// streaming 10,000: the walk's memory grows with pages, never with participants.
const MAX_MEMORY_RATIO: f64 = 1.2;

/// `bench-memory`: the bench's peak-RSS rows alone, failing above [`MAX_MEMORY_RATIO`].
fn bench_memory() -> ExitCode {
    let ratio = bench::memory_flatness()["ratio"]
        .as_f64()
        .unwrap_or(f64::NAN);
    if ratio <= MAX_MEMORY_RATIO {
        ExitCode::SUCCESS
    } else {
        eprintln!("bench-memory: ratio {ratio} is above {MAX_MEMORY_RATIO}");
        ExitCode::FAILURE
    }
}

/// Success when a child process ran and succeeded.
fn exit_code(status: std::io::Result<std::process::ExitStatus>) -> ExitCode {
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

fn check_spec() -> ExitCode {
    let report = check_spec::run(&check_spec::Inputs::for_repo(&workspace_root()));
    for problem in &report.problems {
        eprintln!("problem: {problem}");
    }
    println!("{}", report.summary());
    if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `spec-drift [--expected FILE] PATH`: 0 when every difference is explained, 1 when not,
/// 2 on bad input.
fn spec_drift(args: &[String]) -> ExitCode {
    let (expected, rest) = match args {
        [flag, file, rest @ ..] if flag == "--expected" => (Some(PathBuf::from(file)), rest),
        rest => (None, rest),
    };
    let upstream = match rest {
        [upstream] if !upstream.starts_with("--") => upstream,
        _ => {
            eprintln!(
                "usage: cargo xtask spec-drift [--expected FILE] PATH (Twilio's twilio_conversations_v1.json)"
            );
            return ExitCode::from(2);
        }
    };
    let mut inputs = spec_drift::Inputs::for_repo(&workspace_root(), PathBuf::from(upstream));
    if let Some(file) = expected {
        inputs.expected = file;
    }
    match spec_drift::run(&inputs) {
        Ok(report) => {
            for line in report.lines() {
                println!("{line}");
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("spec-drift: {message}");
            ExitCode::from(2)
        }
    }
}

fn check_readme() -> ExitCode {
    match readme::run(&workspace_root()) {
        Ok(()) => {
            println!("check-readme: the README program compiles as a new crate");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("check-readme: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The property tests in release, with `FUZZ_CASES` cases each.
fn fuzz(args: &[String]) -> ExitCode {
    let cases = match args {
        [flag, n] if flag == "--cases" => n.clone(),
        [] => "1000000".into(),
        _ => {
            eprintln!("usage: cargo xtask fuzz [--cases N]");
            return ExitCode::from(2);
        }
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "test",
            "--release",
            "--package",
            "twilio-conversations",
            "--features",
            "testing",
        ])
        .args(["--test", "properties", "--test", "path_segments"])
        .env("FUZZ_CASES", cases)
        .status();
    exit_code(status)
}

fn bench(args: &[String]) -> ExitCode {
    match bench_options(args) {
        Ok(options) => {
            if let Err(message) = bench::run(&options, &workspace_root()) {
                eprintln!("bench: {message}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}\n\n{COMMANDS}");
            ExitCode::from(2)
        }
    }
}

/// The benchmark's fake server, in a child process so it is not measured.
fn bench_serve(args: &[String]) -> ExitCode {
    match (
        args.first().and_then(|n| n.parse().ok()),
        args.get(1).and_then(|n| n.parse().ok()),
    ) {
        (Some(participants), Some(latency_ms)) => {
            bench::serve_main(participants, latency_ms);
            ExitCode::SUCCESS
        }
        _ => ExitCode::from(2),
    }
}

/// The child side of the benchmark's memory comparison.
fn bench_probe(args: &[String]) -> ExitCode {
    match (args.first(), args.get(1).and_then(|n| n.parse().ok())) {
        (Some(base_url), Some(count)) => {
            bench::probe_main(base_url, count);
            ExitCode::SUCCESS
        }
        _ => ExitCode::from(2),
    }
}
