//! One meaning per format, for every command: `-o json` is one JSON document written when
//! the command ends (an array for many items), `-o jsonl` one object per line; and a bulk
//! command's summary on stderr comes after its output. Run on the demo (no server needed).

use std::{
    io::Read,
    process::{Command, Output, Stdio},
};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_twilio-participants");

fn tool(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_clear().output().unwrap()
}

/// The command's stdout as one JSON array, checking it succeeded.
fn array(args: &[&str]) -> Vec<Value> {
    let output = tool(args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    match serde_json::from_slice(&output.stdout) {
        Ok(Value::Array(items)) => items,
        other => panic!("{args:?}: not one JSON array: {other:?}"),
    }
}

#[test]
fn json_is_one_array_for_every_command_over_many_items() {
    assert_eq!(array(&["list", "--demo", "-o", "json"]).len(), 340);
    let found = array(&[
        "conversations",
        "--demo",
        "--identity",
        "agent-7",
        "-o",
        "json",
    ]);
    assert_eq!(found.len(), 5);
    let remove = [
        "remove",
        "--demo",
        "--identity",
        "agent-7",
        "--all-conversations",
        "-o",
        "json",
    ];
    let dry = array(&[&remove[..], &["--dry-run"]].concat());
    assert_eq!(dry.len(), 5);
    assert!(
        dry.iter().all(|r| r["outcome"] == "would_delete"),
        "{dry:?}"
    );
    let removed = array(&remove);
    assert_eq!(removed.len(), 5);
    assert!(
        removed.iter().all(|r| r["outcome"] == "deleted"),
        "{removed:?}"
    );
    // Nothing to do is an empty array, not an empty stdout.
    let nobody = array(&[
        "remove",
        "--demo",
        "--identity",
        "nobody",
        "--all-conversations",
        "-o",
        "json",
    ]);
    assert!(nobody.is_empty());

    let path = std::env::temp_dir().join(format!("formats-{}.jsonl", std::process::id()));
    std::fs::write(
        &path,
        "{\"conversation_sid\": \"CHdec0de00000000000000000000000c00\", \"identity\": \"a\"}\n\
         {\"conversation_sid\": \"CHdec0de00000000000000000000000c01\", \"identity\": \"b\"}\n",
    )
    .unwrap();
    let mut created = array(&[
        "create",
        "--demo",
        "--from",
        path.to_str().unwrap(),
        "-o",
        "json",
    ]);
    std::fs::remove_file(&path).unwrap();
    created.sort_by_key(|r| r["line"].as_u64());
    assert_eq!(created.len(), 2);
    for (record, line) in created.iter().zip(1..) {
        assert_eq!(record["line"], line);
        assert_eq!(record["outcome"], "created");
    }
}

#[test]
fn jsonl_is_one_object_per_line_and_json_of_one_participant_is_an_object() {
    let output = tool(&[
        "remove",
        "--demo",
        "--identity",
        "agent-7",
        "--all-conversations",
        "-o",
        "jsonl",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(Value::is_object));
    let fetched = tool(&["fetch", "--demo", "-o", "json"]);
    let one: Value = serde_json::from_slice(&fetched.stdout).unwrap();
    assert!(one["sid"].as_str().unwrap().starts_with("MB"), "{one}");
}

/// stdout and stderr into one pipe, as `2>&1 | less` sees them.
fn merged(args: &[&str]) -> String {
    let (mut reader, writer) = std::io::pipe().unwrap();
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    child.wait().unwrap();
    text
}

#[test]
fn the_summary_comes_after_the_output_even_with_nothing_done() {
    for (who, rows) in [("nobody", 0), ("agent-7", 5)] {
        let text = merged(&[
            "remove",
            "--demo",
            "--identity",
            who,
            "--all-conversations",
            "-o",
            "tsv",
        ]);
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.starts_with("conversation_sid\toutcome"))
            .unwrap_or_else(|| panic!("no header: {text}"));
        let summary = lines
            .iter()
            .position(|l| l.starts_with("summary: "))
            .unwrap_or_else(|| panic!("no summary: {text}"));
        // Only the demo's line comes before the header; no progress line anywhere (stderr
        // is not a terminal here).
        assert_eq!(header, 1, "{text}");
        assert_eq!(summary, header + rows + 1, "{text}");
        assert_eq!(summary, lines.len() - 1, "{text}");
    }
}
