//! `cargo xtask spec-drift` on a small description in Twilio's format
//! (`fixtures/drift/twilio.json`, the six operations) and on copies changed the way Twilio
//! changes its API, each a JSON Patch with the exact lines it must print (every line but the
//! explained differences) and the exit status.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    description: String,
    patch: json_patch::Patch,
    expect: Vec<String>,
    status: i32,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift")
}

/// Runs the command on `upstream`: (exit status, the printed lines not marked explained).
fn spec_drift(upstream: &Path) -> (i32, Vec<String>) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("spec-drift")
        .arg(upstream)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines = stdout
        .lines()
        .filter(|line| !line.ends_with(" (explained)"))
        .map(str::to_owned)
        .collect();
    (output.status.code().unwrap(), lines)
}

#[test]
fn the_small_twilio_description_is_fully_explained() {
    let (status, lines) = spec_drift(&fixtures().join("twilio.json"));
    assert_eq!(
        lines,
        ["spec-drift: 6 operations, 135 differences (135 explained, 0 unexplained), 0 stale explanations"]
    );
    assert_eq!(status, 0);
}

#[test]
fn each_change_twilio_makes_is_named() {
    let base: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("twilio.json")).unwrap())
            .unwrap();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("drifted");
    std::fs::create_dir_all(&out).unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "twilio.json"))
        .collect();
    paths.sort();
    assert_eq!(
        paths.len(),
        10,
        "fixtures missing from {}",
        fixtures().display()
    );
    let mut failures = Vec::new();
    for path in paths {
        let fixture: Fixture =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut changed = base.clone();
        json_patch::patch(&mut changed, &fixture.patch).unwrap();
        let copy = out.join(path.file_name().unwrap());
        std::fs::write(&copy, serde_json::to_string(&changed).unwrap()).unwrap();
        let (status, lines) = spec_drift(&copy);
        if lines != fixture.expect || status != fixture.status {
            failures.push(format!(
                "{} ({}):\n  expected status {} and {:#?}\n  got status {status} and {lines:#?}",
                path.display(),
                fixture.description,
                fixture.status,
                fixture.expect
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn without_a_path_it_says_how_to_call_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("spec-drift")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "usage: cargo xtask spec-drift PATH (Twilio's twilio_conversations_v1.json)\n"
    );
}

#[test]
fn an_unreadable_description_is_named() {
    let missing = fixtures().join("no-such-file.json");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("spec-drift")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("spec-drift: {}: cannot read: ", missing.display())),
        "{stderr}"
    );
}
