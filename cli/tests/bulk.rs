//! The commands over many conversations (`conversations`, `remove --all-conversations`,
//! `create --from`), run as a user runs them against an in-process fake of Twilio: the
//! exact lines printed, the requests sent, the exit codes, and reruns.

use std::{
    io::{BufRead, BufReader, Read, Write},
    process::{Child, Output},
    time::Duration,
};

use serde_json::{json, Value};
use twilio_conversations::{
    testing::{self, FakeServer, Fault, FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN},
    ConversationSid, ServiceSid,
};

const SERVICE: &str = "IS0123456789abcdef0123456789abcdef";

fn service() -> ServiceSid {
    SERVICE.parse().unwrap()
}

/// The SID of test conversation `i`.
fn room(i: usize) -> String {
    format!("CH{:032x}", 0xa000 + i)
}

/// A fake holding `rooms` conversations of three participants; `agent-7` is the first
/// participant of each even-numbered one. Returns the fake and, for each conversation
/// agent-7 is in, the conversation and agent-7's participant SID.
async fn fake_with_agent(rooms: usize) -> (FakeServer, Vec<(String, String)>) {
    let fake = FakeServer::start().await.unwrap();
    let mut agent = Vec::new();
    for i in 0..rooms {
        let sid: ConversationSid = room(i).parse().unwrap();
        let mut participants = testing::participants(&service(), &sid, 3, 100 + i as u64);
        if i % 2 == 0 {
            participants[0].identity = Some("agent-7".into());
            participants[0].messaging_binding = None;
            let member = participants[0].sid.as_ref().unwrap().to_string();
            agent.push((room(i), member));
        }
        fake.add_conversation(&service(), sid, participants);
    }
    agent.sort();
    (fake, agent)
}

/// The tool run against `fake` with the fake's credentials and every stream piped.
fn command(fake: &FakeServer, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_twilio-participants"));
    command
        .args(args)
        .args(["--chat-service-sid", SERVICE, "--base-url", fake.base_url()])
        .env_clear()
        .env("TWILIO_ACCOUNT_SID", FAKE_ACCOUNT_SID)
        .env("TWILIO_AUTH_TOKEN", FAKE_AUTH_TOKEN)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

/// Runs the tool against `fake` with the fake's credentials, `stdin` on its standard input;
/// off the runtime's threads, so the fake keeps answering.
async fn tool(fake: &FakeServer, args: &[&str], stdin: &str) -> Output {
    let mut command = command(fake, args);
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// The JSON lines of stdout, sorted (items arrive in completion order).
fn sorted_lines(output: &Output) -> Vec<Value> {
    let mut lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    lines.sort_by_key(|v| v.to_string());
    lines
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The (method, path) of every request the fake received, but the listing's.
fn writes(fake: &FakeServer) -> Vec<(String, String)> {
    let mut writes: Vec<(String, String)> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| (r.method, r.path))
        .collect();
    writes.sort();
    writes
}

fn participants_path(conversation: &str) -> String {
    format!("/v1/Services/{SERVICE}/Conversations/{conversation}/Participants")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_lists_where_the_participant_is_in_each_format() {
    let (fake, agent) = fake_with_agent(5).await;
    let jsonl = tool(
        &fake,
        &["conversations", "--identity", "agent-7", "-o", "jsonl"],
        "",
    )
    .await;
    assert_eq!(jsonl.status.code(), Some(0), "{}", stderr(&jsonl));
    let found: Vec<(String, String)> = sorted_lines(&jsonl)
        .iter()
        .map(|v| {
            (
                v["conversation_sid"].as_str().unwrap().to_owned(),
                v["participant_sid"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(found, agent);
    let listing = fake.requests().pop().unwrap();
    assert_eq!(
        listing.path,
        format!("/v1/Services/{SERVICE}/ParticipantConversations")
    );
    assert_eq!(listing.query_value("Identity"), Some("agent-7"));
    assert_eq!(listing.query_value("PageSize"), Some("50"));

    let json = tool(
        &fake,
        &["conversations", "--identity", "agent-7", "-o", "json"],
        "",
    )
    .await;
    let array: Vec<Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(array.len(), 3);

    let tsv = tool(
        &fake,
        &["conversations", "--identity", "agent-7", "-o", "tsv"],
        "",
    )
    .await;
    let tsv = String::from_utf8(tsv.stdout).unwrap();
    let mut rows: Vec<&str> = tsv.lines().collect();
    assert_eq!(
        rows.remove(0),
        "conversation_sid\tparticipant_sid\tconversation_state\tconversation_unique_name\t\
         conversation_friendly_name\tconversation_date_created"
    );
    let mut pairs: Vec<(String, String)> = rows
        .iter()
        .map(|row| {
            let cells: Vec<&str> = row.split('\t').collect();
            assert_eq!(cells.len(), 6, "{row}");
            (cells[0].to_owned(), cells[1].to_owned())
        })
        .collect();
    pairs.sort();
    assert_eq!(pairs, agent);

    let nobody = tool(&fake, &["conversations"], "").await;
    assert_eq!(nobody.status.code(), Some(2));
    assert!(
        stderr(&nobody).contains("name the participant"),
        "{}",
        stderr(&nobody)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_everywhere_deletes_by_the_listed_sid_and_a_rerun_finds_nothing_to_do() {
    let (fake, agent) = fake_with_agent(6).await;
    let args = [
        "remove",
        "--identity",
        "agent-7",
        "--all-conversations",
        "--concurrency",
        "2",
        "-o",
        "jsonl",
    ];
    let removed = tool(&fake, &args, "").await;
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
    let expected: Vec<Value> = agent
        .iter()
        .map(|(c, p)| json!({"conversation_sid": c, "outcome": "deleted", "participant_sid": p}))
        .collect();
    assert_eq!(sorted_lines(&removed), expected);
    assert!(
        stderr(&removed).ends_with("summary: 3 items: 3 deleted\n"),
        "{}",
        stderr(&removed)
    );
    // One DELETE per conversation, by the SID the listing gave: no fetch in between.
    let deletes: Vec<(String, String)> = agent
        .iter()
        .map(|(c, p)| ("DELETE".to_owned(), format!("{}/{p}", participants_path(c))))
        .collect();
    assert_eq!(writes(&fake), deletes);
    assert_eq!(fake.requests().len(), 4);
    for (conversation, _) in &agent {
        assert_eq!(
            fake.participants(&service(), conversation.as_str()).len(),
            2
        );
    }

    let again = tool(&fake, &args, "").await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(again.stdout, b"");
    assert!(stderr(&again).ends_with("summary: 0 items\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_sends_no_delete_and_prints_what_would_go() {
    let (fake, agent) = fake_with_agent(4).await;
    let dry = tool(
        &fake,
        &[
            "remove",
            "--identity",
            "agent-7",
            "--all-conversations",
            "--dry-run",
            "-o",
            "json",
        ],
        "",
    )
    .await;
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let expected: Vec<Value> = agent
        .iter()
        .map(|(c, p)| {
            json!({"conversation_sid": c, "outcome": "would_delete", "participant_sid": p})
        })
        .collect();
    // `-o json`: one array.
    let mut printed: Vec<Value> = serde_json::from_slice(&dry.stdout).unwrap();
    printed.sort_by_key(|v| v.to_string());
    assert_eq!(printed, expected);
    assert_eq!(writes(&fake), vec![]);
    assert_eq!(fake.requests().len(), 1);
    assert!(stderr(&dry).contains("would remove the participant from 2 conversations"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_already_gone_is_reported_as_such_and_not_a_failure() {
    let (fake, agent) = fake_with_agent(1).await;
    let nobody = tool(
        &fake,
        &[
            "remove",
            "--address",
            "+15550001111",
            "--all-conversations",
            "-o",
            "jsonl",
        ],
        "",
    )
    .await;
    // Nobody has that address: nothing listed, nothing removed.
    assert_eq!(nobody.status.code(), Some(0), "{}", stderr(&nobody));
    assert_eq!(nobody.stdout, b"");
    assert_eq!(writes(&fake), vec![]);

    // The listing passes; the DELETE is answered 404 (Twilio's 20404).
    fake.inject(Fault::Delay(Duration::ZERO), 1);
    fake.fail_next(404, None);
    let removed = tool(
        &fake,
        &[
            "remove",
            "--identity",
            "agent-7",
            "--all-conversations",
            "-o",
            "jsonl",
        ],
        "",
    )
    .await;
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
    let (conversation, member) = &agent[0];
    assert_eq!(
        sorted_lines(&removed),
        vec![json!({
            "conversation_sid": conversation, "outcome": "already_gone", "participant_sid": member
        })]
    );
    assert!(stderr(&removed).ends_with("summary: 1 item: 1 already_gone\n"));
}

/// Writes `text` to a new temporary file; returns its path.
fn input_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("bulk-{}-{name}.jsonl", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_from_a_file_then_again_creates_nothing_twice() {
    let (fake, _) = fake_with_agent(3).await;
    let lines = format!(
        "{}\n\n{}\n{}\n",
        json!({"conversation_sid": room(0), "identity": "supervisor-1",
               "attributes": {"team": "night"}, "role_sid": "RL0123456789abcdef0123456789abcdef",
               "x_twilio_webhook_enabled": true}),
        json!({"conversation_sid": room(1), "identity": "supervisor-1", "attributes": "{\"a\":1}"}),
        json!({"conversation_sid": room(2), "messaging_binding.address": "+15558675310",
               "messaging_binding.proxy_address": "+15017122661"}),
    );
    let file = input_file("create", &lines);
    let args = ["create", "--from", file.to_str().unwrap(), "-o", "jsonl"];
    let first = tool(&fake, &args, "").await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let created = sorted_lines(&first);
    let numbered: Vec<(u64, &str, &str)> = created
        .iter()
        .map(|v| {
            (
                v["line"].as_u64().unwrap(),
                v["conversation_sid"].as_str().unwrap(),
                v["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    let mut numbered = numbered;
    numbered.sort();
    assert_eq!(
        numbered,
        vec![
            (1, room(0).as_str(), "created"),
            (3, room(1).as_str(), "created"),
            (4, room(2).as_str(), "created"),
        ]
    );
    for (line, conversation) in [(0, room(0)), (1, room(1)), (2, room(2))] {
        let held = fake.participants(&service(), conversation.as_str());
        let new = held.last().unwrap();
        let reported = created
            .iter()
            .find(|v| v["conversation_sid"] == conversation.as_str())
            .unwrap();
        assert_eq!(
            reported["participant_sid"].as_str(),
            new.sid.as_ref().map(|s| s.to_string()).as_deref(),
            "line {line}"
        );
        assert_eq!(held.len(), 4);
    }
    let first_create = fake
        .requests()
        .into_iter()
        .find(|r| r.path == participants_path(&room(0)))
        .unwrap();
    assert_eq!(
        first_create.form(),
        vec![
            ("Attributes".to_owned(), "{\"team\":\"night\"}".to_owned()),
            ("Identity".to_owned(), "supervisor-1".to_owned()),
            (
                "RoleSid".to_owned(),
                "RL0123456789abcdef0123456789abcdef".to_owned()
            ),
        ]
    );
    assert_eq!(
        first_create.header("x-twilio-webhook-enabled"),
        Some("true")
    );
    assert!(stderr(&first).ends_with("summary: 3 items: 3 created\n"));

    let again = tool(&fake, &args, "").await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let mut outcomes: Vec<Value> = sorted_lines(&again);
    outcomes.sort_by_key(|v| v["line"].as_u64());
    assert_eq!(
        outcomes,
        vec![
            json!({"line": 1, "conversation_sid": room(0), "outcome": "exists"}),
            json!({"line": 3, "conversation_sid": room(1), "outcome": "exists"}),
            json!({"line": 4, "conversation_sid": room(2), "outcome": "exists"}),
        ]
    );
    for i in 0..3 {
        assert_eq!(fake.participants(&service(), room(i).as_str()).len(), 4);
    }
    assert!(stderr(&again).ends_with("summary: 3 items: 3 exists\n"));
    std::fs::remove_file(file).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_answered_500_is_unknown_exit_3_and_a_rerun_finishes_it() {
    let (fake, _) = fake_with_agent(1).await;
    fake.fail_next(500, None);
    let line = json!({"conversation_sid": room(0), "identity": "supervisor-1"}).to_string();
    let args = ["create", "--from", "-", "-o", "jsonl"];
    let failed = tool(&fake, &args, &line).await;
    assert_eq!(failed.status.code(), Some(3), "{}", stderr(&failed));
    let lines = sorted_lines(&failed);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["conversation_sid"], room(0).as_str());
    assert_eq!(lines[0]["outcome"], "unknown");
    assert!(
        lines[0]["error"].as_str().unwrap().contains("500"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[0].as_object().unwrap().len(), 4);
    // Sent once: a create that may have happened is never repeated by the client.
    assert_eq!(writes(&fake).len(), 1);
    assert!(stderr(&failed).contains("summary: 1 item: 1 unknown\n"));
    assert!(stderr(&failed).contains("error: 1 of 1 outcomes are unknown"));

    let rerun = tool(&fake, &args, &line).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    assert_eq!(sorted_lines(&rerun)[0]["outcome"], "created");
    let supervisors = fake
        .participants(&service(), room(0).as_str())
        .into_iter()
        .filter(|p| p.identity.as_deref() == Some("supervisor-1"))
        .count();
    assert_eq!(supervisors, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_line_refuses_the_whole_file_before_anything_is_sent() {
    let (fake, _) = fake_with_agent(2).await;
    let text = format!(
        "{}\n{}\n{}\n{}\n",
        json!({"conversation_sid": room(0), "identity": "supervisor-1"}),
        json!({"conversation_sid": room(1), "identiy": "supervisor-1"}),
        "not json",
        json!({"conversation_sid": room(1), "attributes": "{broken"  , "identity": "x"}),
    );
    let refused = tool(&fake, &["create", "--from", "-"], &text).await;
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(refused.stdout, b"");
    let err = stderr(&refused);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].starts_with("-:2: unknown field `identiy`"),
        "{err}"
    );
    assert!(lines[1].starts_with("-:3: not a JSON object"), "{err}");
    assert!(
        lines[2].starts_with("-:4: `attributes` is not JSON text"),
        "{err}"
    );
    assert_eq!(lines[3], "error: 3 bad line(s) in -; nothing was sent");
    assert_eq!(lines.len(), 4, "{err}");
    assert_eq!(fake.requests(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_item_is_reported_with_its_error_the_rest_go_on_and_the_exit_is_1() {
    let (fake, _) = fake_with_agent(1).await;
    let missing = room(9);
    let text = format!(
        "{}\n{}\n",
        json!({"conversation_sid": missing, "identity": "supervisor-1"}),
        json!({"conversation_sid": room(0), "identity": "supervisor-1"}),
    );
    let run = tool(&fake, &["create", "--from", "-", "-o", "jsonl"], &text).await;
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let mut lines = sorted_lines(&run);
    lines.sort_by_key(|v| v["line"].as_u64());
    assert_eq!(lines[0]["outcome"], "failed");
    assert_eq!(lines[0]["conversation_sid"], missing.as_str());
    assert!(
        lines[0]["error"].as_str().unwrap().contains("404"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["outcome"], "created");
    assert!(stderr(&run).contains("summary: 2 items: 1 created, 1 failed\n"));
    assert!(stderr(&run).contains("error: 1 of 2 failed; run the same command again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_everywhere_keeps_at_most_concurrency_requests_in_flight() {
    let (fake, agent) = fake_with_agent(12).await;
    // Long enough that requests started together overlap on a loaded machine.
    fake.set_latency(Duration::from_millis(200));
    let removed = tool(
        &fake,
        &[
            "remove",
            "--identity",
            "agent-7",
            "--all-conversations",
            "--concurrency",
            "2",
            "-o",
            "jsonl",
        ],
        "",
    )
    .await;
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
    assert_eq!(sorted_lines(&removed).len(), agent.len());
    assert_eq!(fake.peak_in_flight(), 2);
}

/// `remove --address … --all-conversations` runs the library's removal: an address in one
/// conversation twice (two proxy addresses) is removed twice, by the listed SIDs, with the
/// webhook flag given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_everywhere_removes_an_address_there_twice_with_the_webhook_flag() {
    let fake = FakeServer::start().await.unwrap();
    let sid: ConversationSid = room(0).parse().unwrap();
    let mut participants = testing::participants(&service(), &sid, 3, 7);
    for (participant, proxy) in participants
        .iter_mut()
        .zip(["+15017122661", "+15017122662"])
    {
        participant.identity = None;
        participant.messaging_binding = Some(
            serde_json::from_value(
                json!({"type": "sms", "address": "+15550001", "proxy_address": proxy}),
            )
            .unwrap(),
        );
    }
    let mut twice: Vec<String> = participants[..2]
        .iter()
        .map(|p| p.sid.as_ref().unwrap().to_string())
        .collect();
    twice.sort();
    fake.add_conversation(&service(), sid, participants);
    let args = [
        "remove",
        "--address",
        "+15550001",
        "--all-conversations",
        "--x-twilio-webhook-enabled",
        "true",
        "-o",
        "jsonl",
    ];
    let removed = tool(&fake, &args, "").await;
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
    let expected: Vec<Value> = twice
        .iter()
        .map(|p| json!({"conversation_sid": room(0), "outcome": "deleted", "participant_sid": p}))
        .collect();
    assert_eq!(sorted_lines(&removed), expected);
    let deletes: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 2);
    for delete in &deletes {
        assert_eq!(delete.header("x-twilio-webhook-enabled"), Some("true"));
    }
    assert_eq!(fake.participants(&service(), room(0).as_str()).len(), 1);
}

/// `remove agent-7 --all-conversations` over 40 conversations, 4 at a time.
const REMOVE_FROM_40: [&str; 8] = [
    "remove",
    "--identity",
    "agent-7",
    "--all-conversations",
    "--concurrency",
    "4",
    "-o",
    "jsonl",
];

/// Sends SIGINT to `child`, as Ctrl-C in a terminal does.
fn interrupt(child: &Child) {
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Reads lines of `from` until one contains `wanted`; returns every line read.
fn read_until(from: &mut impl BufRead, wanted: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            from.read_line(&mut line).unwrap() > 0,
            "ended before {wanted:?}: {lines:?}"
        );
        let found = line.contains(wanted);
        lines.push(line);
        if found {
            return lines;
        }
    }
}

/// How many DELETE requests the fake received.
fn deletes(fake: &FakeServer) -> usize {
    writes(fake).iter().filter(|(m, _)| m == "DELETE").count()
}

/// The counts of a summary line `summary: N items: a deleted, b not started`.
fn summary_of(stderr: &str) -> (usize, usize, usize) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("summary: "))
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    let number = |word: &str| {
        line.split([':', ','])
            .map(str::trim)
            .find_map(|part| part.strip_suffix(word)?.trim().parse().ok())
            .unwrap_or(0)
    };
    (number("items"), number("deleted"), number("not started"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_finishes_the_deletes_on_the_wire_reports_them_and_exits_130() {
    let (fake, agent) = fake_with_agent(80).await;
    assert_eq!(agent.len(), 40);
    fake.set_latency(Duration::from_millis(300));
    let mut command = command(&fake, &REMOVE_FROM_40);
    let (code, printed, errors) = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        read_until(&mut stdout, "deleted");
        read_until(&mut stdout, "deleted");
        interrupt(&child);
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.code(),
            2 + rest.lines().count(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(130), "{errors}");
    assert!(
        errors.contains("interrupted: starting no new item"),
        "{errors}"
    );
    let (items, deleted, not_started) = summary_of(&errors);
    assert_eq!(items, 40, "{errors}");
    assert_eq!(deleted, printed, "each delete has its line: {errors}");
    assert!(deleted < 40, "{errors}");
    assert_eq!(deleted + not_started, 40, "{errors}");
    assert_eq!(
        deletes(&fake),
        deleted,
        "every delete sent was finished and reported"
    );
    assert_eq!(
        agent
            .iter()
            .filter(|(room, _)| fake
                .participants(&service(), room.as_str())
                .iter()
                .any(|p| p.identity.as_deref() == Some("agent-7")))
            .count(),
        not_started
    );

    // The same command again finishes the job.
    fake.set_latency(Duration::ZERO);
    let rerun = tool(&fake, &REMOVE_FROM_40, "").await;
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    assert_eq!(summary_of(&stderr(&rerun)), (not_started, not_started, 0));
    assert_eq!(deletes(&fake), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_after_every_item_started_ends_the_job_as_without_it() {
    // agent-7 in 4 conversations, all 4 deletes on the wire at once.
    let (fake, agent) = fake_with_agent(8).await;
    assert_eq!(agent.len(), 4);
    fake.set_latency(Duration::from_secs(1));
    let mut child = command(&fake, &REMOVE_FROM_40).spawn().unwrap();
    while deletes(&fake) < 4 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (code, errors) = tokio::task::spawn_blocking(move || {
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        interrupt(&child);
        let mut seen = read_until(&mut stderr, "interrupted: starting no new item");
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        seen.push(rest);
        (child.wait().unwrap().code(), seen.concat())
    })
    .await
    .unwrap();
    // Nothing was left undone, so nothing tells the user to run it again.
    assert_eq!(code, Some(0), "{errors}");
    assert_eq!(summary_of(&errors), (4, 4, 0), "{errors}");
    assert!(!errors.contains("again to finish"), "{errors}");
    assert_eq!(deletes(&fake), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_during_a_removal_is_said_on_stderr_and_waited_out_in_one_run() {
    let (fake, agent) = fake_with_agent(80).await;
    assert_eq!(agent.len(), 40);
    fake.set_latency(Duration::from_millis(40));
    let child = command(&fake, &REMOVE_FROM_40).spawn().unwrap();
    while deletes(&fake) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    fake.fail_for(Duration::from_secs(3), 503);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let errors = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{errors}");
    assert_eq!(summary_of(&errors), (40, 40, 0), "{errors}");
    // A run waiting for the API looks stuck unless it says why, and when that ends.
    let outage = errors
        .find("the API is failing every request (an outage)")
        .unwrap_or_else(|| panic!("the outage is not said: {errors}"));
    let over = errors
        .find("the API answers again")
        .unwrap_or_else(|| panic!("the outage's end is not said: {errors}"));
    assert!(outage < over, "{errors}");
}

/// An outage longer than the call deadline: the first item that outlasts it stops the run,
/// so the items left do not each wait a whole deadline in turn; the summary says how many
/// are left and a rerun finishes the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_past_the_call_deadline_stops_the_run_and_says_what_is_left() {
    let (fake, agent) = fake_with_agent(80).await;
    assert_eq!(agent.len(), 40);
    fake.set_latency(Duration::from_millis(20));
    let mut args = REMOVE_FROM_40.to_vec();
    args.extend(["--call-timeout", "2"]);
    let child = command(&fake, &args).spawn().unwrap();
    while deletes(&fake) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    fake.fail_for(Duration::from_secs(600), 503);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let errors = stderr(&output);
    let (items, deleted, not_started) = summary_of(&errors);
    assert_eq!(items, 40, "{errors}");
    assert!(
        not_started > 0,
        "the run went on through the outage: {errors}"
    );
    assert!(
        deleted + not_started < 40,
        "no item ended in the outage: {errors}"
    );
    assert!(
        errors.contains("the API stayed unavailable past the call deadline: starting no new item"),
        "{errors}"
    );
    // A delete answered 503 may have happened (3); an item held back is a failure (1).
    assert!(matches!(output.status.code(), Some(1 | 3)), "{errors}");
    let sent = deletes(&fake);
    assert!(sent < 40 * 2, "{sent} DELETEs: the outage was multiplied");
    // The outage ends: a rerun finishes the job.
    fake.fail_for(Duration::ZERO, 503);
    let rerun = tool(&fake, &REMOVE_FROM_40, "").await;
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    assert_eq!(fake.participants(&service(), room(0).as_str()).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_exits_at_once_and_says_writes_may_have_happened() {
    let (fake, _) = fake_with_agent(80).await;
    // Long enough that the deletes are still on the wire at the second Ctrl-C.
    fake.set_latency(Duration::from_secs(3));
    let mut child = command(&fake, &REMOVE_FROM_40).spawn().unwrap();
    // The listing takes one round trip; then the deletes go out.
    while deletes(&fake) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (code, errors) = tokio::task::spawn_blocking(move || {
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        interrupt(&child);
        let mut seen = read_until(&mut stderr, "interrupted: starting no new item");
        interrupt(&child);
        let status = child.wait().unwrap();
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        seen.push(rest);
        (status.code(), seen.concat())
    })
    .await
    .unwrap();
    assert_eq!(code, Some(3), "{errors}");
    assert!(
        errors.contains("interrupted again: exiting now"),
        "{errors}"
    );
    assert!(errors.contains("may have happened"), "{errors}");
    assert!(!errors.contains("summary:"), "{errors}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_stops_the_job_finishes_what_is_on_the_wire_and_exits_1() {
    let (fake, _) = fake_with_agent(80).await;
    fake.set_latency(Duration::from_millis(200));
    let mut command = command(&fake, &REMOVE_FROM_40);
    let (code, errors) = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        read_until(&mut stdout, "deleted");
        read_until(&mut stdout, "deleted");
        // As `| head -n 2` does.
        drop(stdout);
        let output = child.wait_with_output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(1), "{errors}");
    assert!(errors.contains("stdout was closed"), "{errors}");
    let (items, deleted, not_started) = summary_of(&errors);
    assert_eq!((items, deleted + not_started), (40, 40), "{errors}");
    assert!(not_started > 0, "{errors}");
    assert_eq!(deletes(&fake), deleted, "every delete sent was counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_create_from_reports_every_create_sent() {
    let (fake, _) = fake_with_agent(40).await;
    fake.set_latency(Duration::from_millis(300));
    let lines: String = (0..40)
        .map(|i| {
            format!(
                "{}\n",
                json!({"conversation_sid": room(i), "identity": "supervisor-1"})
            )
        })
        .collect();
    let file = input_file("interrupted", &lines);
    let mut command = command(
        &fake,
        &[
            "create",
            "--from",
            file.to_str().unwrap(),
            "--concurrency",
            "4",
            "-o",
            "jsonl",
        ],
    );
    let (code, printed, errors) = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut printed = read_until(&mut stdout, "created");
        printed.extend(read_until(&mut stdout, "created"));
        interrupt(&child);
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        printed.extend(rest.lines().map(str::to_owned));
        let output = child.wait_with_output().unwrap();
        (
            output.status.code(),
            printed,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(130), "{errors}");
    let posts = writes(&fake).iter().filter(|(m, _)| m == "POST").count();
    assert!(posts < 40, "stopped early: {errors}");
    assert_eq!(
        printed.len(),
        posts,
        "a line for every create sent: {errors}"
    );
    assert!(printed.iter().all(|l| l.contains(r#""outcome":"created""#)));
    assert!(
        errors.contains(&format!(
            "summary: 40 items: {posts} created, {} not started",
            40 - posts
        )),
        "{errors}"
    );
}
