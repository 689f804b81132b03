//! What the benchmark's reader processes share: `bench-sdk` (our `stream()`) and
//! `bench-floor` (a plain reqwest + serde_json loop) take the same command line, build the
//! same runtime and write to the same sink, so that the two whole processes differ only in
//! how they read the participants.
//!
//! ```text
//! bench-sdk|bench-floor BASE_URL PARTICIPANTS PAGE_SIZE RUNTIME WORK
//! ```
//! `RUNTIME` is `current-thread` or `multi-thread` (2 workers); `WORK` is `nothing` or
//! `jsonl` (each participant written as a JSON line to stdout, behind the tool's 8 KiB
//! buffer). The process exits with 1 when it read a number of participants other than
//! `PARTICIPANTS`, so that a broken run is never timed as a fast one.

use std::{
    future::Future,
    hint::black_box,
    io::{self, BufWriter, StdoutLock, Write},
    process::ExitCode,
};

/// The benchmark's chat service.
pub const SERVICE: &str = "ISbe4c0000000000000000000000000001";
/// The benchmark's conversation.
pub const CONVERSATION: &str = "CHbe4c0000000000000000000000000002";

/// The Tokio runtime a reader runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `new_current_thread`: everything on the calling thread.
    CurrentThread,
    /// `new_multi_thread` with 2 workers (the machine's cores).
    MultiThread,
}

impl Flavor {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "current-thread",
            Flavor::MultiThread => "multi-thread",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Flavor::CurrentThread, Flavor::MultiThread]
            .into_iter()
            .find(|flavor| flavor.name() == text)
    }

    /// A runtime of this flavour, with I/O and time enabled.
    pub fn runtime(self) -> io::Result<tokio::runtime::Runtime> {
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
    }
}

/// What a reader does with each participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Nothing: the participant is only looked at.
    Nothing,
    /// What `list -o jsonl` does: write it as a JSON line to stdout.
    JsonLine,
}

impl Work {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Work::Nothing => "nothing",
            Work::JsonLine => "jsonl",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Work::Nothing, Work::JsonLine]
            .into_iter()
            .find(|work| work.name() == text)
    }

    /// Does this work on `item`: nothing, or its JSON line to `sink`.
    pub fn on<T: serde::Serialize>(self, item: &T, sink: &mut impl Write) -> io::Result<()> {
        match self {
            Work::Nothing => {
                black_box(item);
                Ok(())
            }
            Work::JsonLine => {
                serde_json::to_writer(&mut *sink, item)?;
                sink.write_all(b"\n")
            }
        }
    }
}

/// One reader process's command line.
#[derive(Clone, Debug)]
pub struct ReaderArgs {
    /// The fake server (`cargo xtask bench-serve`).
    pub base_url: String,
    /// How many participants the conversation holds; any other count is a failed run.
    pub participants: usize,
    /// Participants per request.
    pub page_size: u32,
    /// The runtime to read on.
    pub flavor: Flavor,
    /// What to do with each participant.
    pub work: Work,
}

impl ReaderArgs {
    /// Reads `BASE_URL PARTICIPANTS PAGE_SIZE RUNTIME WORK`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let [base_url, participants, page_size, flavor, work] = args else {
            return Err("usage: BASE_URL PARTICIPANTS PAGE_SIZE RUNTIME WORK".into());
        };
        Ok(Self {
            base_url: base_url.clone(),
            participants: participants
                .parse()
                .map_err(|_| format!("PARTICIPANTS: {participants:?} is not a number"))?,
            page_size: page_size
                .parse()
                .map_err(|_| format!("PAGE_SIZE: {page_size:?} is not a number"))?,
            flavor: Flavor::parse(flavor).ok_or_else(|| format!("unknown RUNTIME {flavor:?}"))?,
            work: Work::parse(work).ok_or_else(|| format!("unknown WORK {work:?}"))?,
        })
    }

    /// The command line that [`parse`](Self::parse) reads.
    pub fn to_args(&self) -> [String; 5] {
        [
            self.base_url.clone(),
            self.participants.to_string(),
            self.page_size.to_string(),
            self.flavor.name().to_owned(),
            self.work.name().to_owned(),
        ]
    }
}

/// Where a reader writes its JSON lines: stdout behind an 8 KiB buffer, as the tool does.
pub fn sink() -> BufWriter<StdoutLock<'static>> {
    BufWriter::new(io::stdout().lock())
}

/// A reader process's `main`: parses the command line, runs `read` on the runtime asked
/// for, and fails unless `read` counted every participant.
pub fn main<F, Fut>(read: F) -> ExitCode
where
    F: FnOnce(ReaderArgs) -> Fut,
    Fut: Future<Output = Result<usize, String>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match ReaderArgs::parse(&args) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match args.flavor.runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot build the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let expected = args.participants;
    match runtime.block_on(read(args)) {
        Ok(count) if count == expected => ExitCode::SUCCESS,
        Ok(count) => {
            eprintln!("read {count} participants, expected {expected}");
            ExitCode::FAILURE
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
