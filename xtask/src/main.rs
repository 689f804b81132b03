//! `cargo xtask <command>`: project tooling (alias in `.cargo/config.toml`).

use std::{path::PathBuf, process::ExitCode};

use xtask::check_spec;

const COMMANDS: &str = "\
Usage: cargo xtask <command>

Commands:
  check-spec   the spec, its documented examples and the generated types agree
";

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
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
