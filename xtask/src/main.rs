//! `cargo xtask <command>`: project tooling (alias in `.cargo/config.toml`).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    path::PathBuf,
    process::ExitCode,
    sync::atomic::Ordering,
};

use xtask::{bench, check_spec, readme};

const COMMANDS: &str = "\
Usage: cargo xtask <command>

Commands:
  check-spec   the spec, its documented examples and the generated types agree
  check-readme the README's 'Using the crate' program compiles as a new crate
  fuzz         the property tests in release with more cases [--cases N (1000000)]
  bench        stream() vs minimal reqwest + serde_json loops (typed and untyped) on
               Tokio's current-thread and multi-thread runtimes, the tool, round-trip
               latency, and memory flatness
               [--participants N (100000)] [--runs N (5)] [--no-memory]
  bench-profile
               a fixed workload to run under perf or valgrind: READER (ours, typed, floor)
               RUNTIME (current-thread, multi-thread) [PARTICIPANTS (100000)] [RUNS (1)]
               [WORK (nothing, jsonl)]; the binary is target/profiling/xtask
";

/// Counts bytes allocated, for the benchmark's bytes-per-participant figure.
struct Counting;

// SAFETY: defers every call to the system allocator unchanged; only adds a counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bench::ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bench::ALLOCATED.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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

type ProfileOptions = (bench::Reader, bench::Flavor, usize, usize, bench::Work);

fn profile_options(args: &[String]) -> Result<ProfileOptions, String> {
    let arg = |i: usize| args.get(i).map(String::as_str);
    let reader = match arg(0) {
        Some("ours") => bench::Reader::Ours,
        Some("typed") => bench::Reader::Typed,
        Some("floor") => bench::Reader::Floor,
        other => return Err(format!("unknown reader {other:?}")),
    };
    let flavor = match arg(1) {
        Some("current-thread") => bench::Flavor::CurrentThread,
        Some("multi-thread") => bench::Flavor::MultiThread,
        other => return Err(format!("unknown runtime {other:?}")),
    };
    let number = |i: usize, default: usize| match arg(i) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| format!("{text:?} is not a number")),
    };
    let work = match arg(4) {
        None | Some("nothing") => bench::Work::None,
        Some("jsonl") => bench::Work::JsonLine,
        other => return Err(format!("unknown work {other:?}")),
    };
    Ok((
        reader,
        flavor,
        number(2, 100_000)?,
        number(3, 1)?.max(1),
        work,
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check-spec") => {
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
        Some("check-readme") => match readme::run(&workspace_root()) {
            Ok(()) => {
                println!("check-readme: the README program compiles as a new crate");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("check-readme: {message}");
                ExitCode::FAILURE
            }
        },
        Some("fuzz") => {
            let cases = match args.get(1..) {
                Some([flag, n]) if flag == "--cases" => n.clone(),
                Some([]) | None => "1000000".into(),
                Some(_) => {
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
            match status {
                Ok(status) if status.success() => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            }
        }
        // Timing unoptimized code says nothing: a debug xtask hands over to the release code
        // of the `profiling` profile (line tables and symbols kept for perf).
        Some("bench" | "bench-profile") if cfg!(debug_assertions) => {
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
            match status {
                Ok(status) if status.success() => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            }
        }
        Some("bench") => match bench_options(&args[1..]) {
            Ok(options) => {
                bench::run(&options, &workspace_root());
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("{message}\n\n{COMMANDS}");
                ExitCode::from(2)
            }
        },
        Some("bench-profile") => match profile_options(&args[1..]) {
            Ok((reader, flavor, participants, runs, work)) => {
                bench::profile_main(reader, flavor, participants, runs, work);
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("{message}\n\n{COMMANDS}");
                ExitCode::from(2)
            }
        },
        // The benchmark's fake server, in a child process so it is not measured.
        Some("bench-serve") => match (
            args.get(1).and_then(|n| n.parse().ok()),
            args.get(2).and_then(|n| n.parse().ok()),
        ) {
            (Some(participants), Some(latency_ms)) => {
                bench::serve_main(participants, latency_ms);
                ExitCode::SUCCESS
            }
            _ => ExitCode::from(2),
        },
        // The child side of the benchmark's memory comparison.
        Some("bench-probe") => match (args.get(1), args.get(2).and_then(|n| n.parse().ok())) {
            (Some(base_url), Some(count)) => {
                bench::probe_main(base_url, count);
                ExitCode::SUCCESS
            }
            _ => ExitCode::from(2),
        },
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
