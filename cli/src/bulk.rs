//! The commands over many conversations: `conversations` (where a participant is),
//! `remove --all-conversations` and `create --from`.
//!
//! The two writes print one line per item as it completes (see [`output::BulkOutput`];
//! `-o json` one array at the end), a progress bar on stderr when stderr is a terminal
//! ("12/200 done, 1 failed, 3 in flight"), and a summary of the items on stderr after the
//! output; a line on stderr when the client starts and stops waiting out an outage. Exit
//! code: 0 when every item is done or was already so, 1 when any failed, 3 when any outcome
//! is unknown (a create or delete that may have happened); 3 wins.
//!
//! Stopping early loses no outcome. On Ctrl-C (SIGINT) no new item starts, the items on the
//! wire finish and get their lines, the summary counts those not started, and the exit is
//! 130 (3 when any outcome is unknown; once every item has started, a Ctrl-C stops nothing
//! and the exit is as without it); a second Ctrl-C exits at once, 3 if items were on
//! the wire (their writes may have happened), else 130. With stdout closed (`| head`) no new
//! item starts either, the items on the wire finish, the summary goes to stderr as always,
//! and the exit is 1 when items were left not started or failed (3 when any outcome is
//! unknown), never 0 with work left undone.
//! Both writes tolerate what an earlier run did (`already_gone`, `exists`), so running the
//! same command again finishes an interrupted or failed run without doing anything twice.

use std::{
    fs,
    io::{self, IsTerminal, Read},
    time::Duration,
};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use twilio_conversations::{
    prelude::*, Client, CreateParticipant, Creation, Deletion, Error, FleetProgress, FleetRun,
    InConversation, ParticipantRef, RemoveEverywhere, DEFAULT_FLEET_CONCURRENCY,
};

use crate::{
    error_text,
    output::{BulkOutput, BulkRecord, ConversationsOutput, Format},
    Endpoint, Failure, Given, Session,
};

/// What `conversations` and `remove --all-conversations` say when no participant is named.
pub const NAME_THE_PARTICIPANT: &str =
    "name the participant: --identity <IDENTITY> (chat) or --address <ADDRESS> (SMS, WhatsApp)";

/// The most conversations a bulk command works on at once.
const MAX_CONCURRENCY: u32 = 64;

/// How often a bulk run looks whether the client is waiting out an outage, to say so.
const OUTAGE_CHECK: Duration = Duration::from_secs(1);

/// Parses `--concurrency`: 1 to [`MAX_CONCURRENCY`].
pub fn concurrency(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!("expected a number from 1 to {MAX_CONCURRENCY}")),
    }
}

/// Who to look for: a chat identity or a messaging address (at most one).
#[derive(Args, Debug)]
#[group(id = "who", multiple = false)]
pub struct Who {
    /// The participant's chat identity.
    #[arg(long)]
    identity: Option<String>,
    /// The participant's messaging address, e.g. +15558675310 or whatsapp:+15558675310.
    #[arg(long)]
    address: Option<String>,
}

impl Who {
    /// The participant named, if one is.
    pub fn participant(self) -> Option<ParticipantRef> {
        match (self.identity, self.address) {
            (Some(identity), _) => Some(ParticipantRef::identity(identity)),
            (None, Some(address)) => Some(ParticipantRef::address(address)),
            (None, None) => None,
        }
    }
}

/// The flags of `conversations`.
#[derive(Args, Debug)]
pub struct ConversationsArgs {
    #[command(flatten)]
    endpoint: Endpoint,
    #[command(flatten)]
    who: Who,
    /// The most conversations to list.
    #[arg(long)]
    limit: Option<u64>,
    /// Conversations per request (1 to 50; default 50).
    #[arg(long)]
    page_size: Option<u32>,
}

/// `conversations`: streams the conversations a participant is in to stdout (`-o json` is
/// written once the whole list arrived).
pub async fn conversations(args: ConversationsArgs) -> Result<(), Failure> {
    let who = args
        .who
        .participant()
        .ok_or_else(|| Failure::Usage(NAME_THE_PARTICIPANT.into()))?;
    let session = Session::open(args.endpoint, None, None).await?;
    let mut found = session
        .client
        .participant_conversations(&session.service, who)
        .given(args.page_size, |request, size| request.page_size(size))
        .given(args.limit, |request, limit| request.limit(limit))
        .stream();
    let mut out = ConversationsOutput::new(session.format, io::BufWriter::new(io::stdout().lock()));
    while let Some(conversation) = found.try_next().await? {
        out.item(&conversation)?;
    }
    Ok(out.finish()?)
}

/// `remove --all-conversations`: the library's [`twilio_conversations::RemoveEverywhere`]
/// (lists the conversations `who` is in, then deletes it from each by the participant SID
/// the listing gives, `concurrency` at a time); with `dry_run`, prints each as
/// `would_delete` and sends no DELETE.
pub async fn remove_everywhere(
    session: &Session,
    who: ParticipantRef,
    concurrency: Option<u32>,
    dry_run: bool,
    webhook_enabled: Option<bool>,
) -> Result<(), Failure> {
    let plan = session
        .client
        .fleet(&session.service)
        .concurrency(fleet_concurrency(concurrency))
        .remove_everywhere(who)
        .given(webhook_enabled, RemoveEverywhere::webhook_enabled)
        .plan()
        .await?;
    let sids: Vec<Option<String>> = plan
        .entries()
        .iter()
        .map(|found| found.participant_sid.as_ref().map(ToString::to_string))
        .collect();
    let mut report = Report::new(session.format, false)?;
    if dry_run {
        for (found, sid) in plan.entries().iter().zip(&sids) {
            let conversation = found
                .conversation()
                .map(|conversation| conversation.to_string())
                .unwrap_or_default();
            report.record(&BulkRecord {
                line: None,
                conversation: &conversation,
                outcome: "would_delete",
                participant_sid: sid.as_deref(),
                error: None,
            })?;
        }
        report.end_output()?;
        eprintln!(
            "dry run: would remove the participant from {} conversations; nothing was sent",
            sids.len()
        );
        return Ok(());
    }
    report
        .run(&session.client, plan.run(), |index, result| {
            let sid = sids[index].clone();
            match result {
                Ok(Deletion::Deleted) => ("deleted", sid),
                // `AlreadyGone`, and any kind of removal newer than this tool.
                Ok(_) => ("already_gone", sid),
                Err(error) => (failure_outcome(error), sid),
            }
        })
        .await?;
    report.finish()
}

/// One participant to create, from one line of `create --from`.
pub struct Creating {
    /// The line it came from, from 1.
    line: usize,
    conversation: String,
    fields: CreateFields,
}

/// The fields of a create, from the flags of `create` or a line of `create --from`: the
/// one place they are applied to the request.
#[derive(Default)]
pub struct CreateFields {
    /// `--identity` / `identity`.
    pub identity: Option<String>,
    /// `--messaging-binding.address` / `messaging_binding.address`.
    pub address: Option<String>,
    /// `--messaging-binding.proxy-address` / `messaging_binding.proxy_address`.
    pub proxy_address: Option<String>,
    /// `--messaging-binding.projected-address` / `messaging_binding.projected_address`.
    pub projected_address: Option<String>,
    /// `--attributes` / `attributes` (JSON text).
    pub attributes: Option<String>,
    /// `--role-sid` / `role_sid`.
    pub role_sid: Option<String>,
    /// `--date-created` / `date_created`.
    pub date_created: Option<chrono::DateTime<chrono::Utc>>,
    /// `--date-updated` / `date_updated`.
    pub date_updated: Option<chrono::DateTime<chrono::Utc>>,
    /// `--x-twilio-webhook-enabled` / `x_twilio_webhook_enabled`.
    pub webhook_enabled: Option<bool>,
}

impl CreateFields {
    /// True when the fields name a participant: an identity, an address or a projected
    /// address.
    pub fn name_a_participant(&self) -> bool {
        self.identity.is_some() || self.address.is_some() || self.projected_address.is_some()
    }

    /// `create` with these fields set.
    pub fn request(self, create: CreateParticipant) -> CreateParticipant {
        create
            .given(self.identity, CreateParticipant::identity)
            .given(self.address, CreateParticipant::address)
            .given(self.proxy_address, CreateParticipant::proxy_address)
            .given(self.projected_address, CreateParticipant::projected_address)
            .given(self.attributes, |b, json| b.attributes_text(json))
            .given(self.role_sid, |b, role| b.role_sid(role))
            .given(self.date_created, |b, date| b.date_created(date))
            .given(self.date_updated, |b, date| b.date_updated(date))
            .given(self.webhook_enabled, |b, on| b.webhook_enabled(on))
    }
}

/// The fields a line of `create --from` may hold.
const CREATE_FIELDS: &str = "conversation_sid, identity, messaging_binding.address, \
    messaging_binding.proxy_address, messaging_binding.projected_address, attributes, \
    role_sid, date_created, date_updated, x_twilio_webhook_enabled";

/// Reads every line of `from` (a file, or `-` for stdin) and checks it; any bad line refuses
/// the whole input, each reported with its line number, before anything is sent. Blank
/// lines are skipped.
pub fn read_creations(from: &str) -> Result<Vec<Creating>, Failure> {
    let cannot_read = |e: io::Error| Failure::Usage(format!("cannot read {from}: {e}"));
    let text = if from == "-" {
        let mut text = String::new();
        io::stdin().read_to_string(&mut text).map_err(cannot_read)?;
        text
    } else {
        fs::read_to_string(from).map_err(cannot_read)?
    };
    let mut items = Vec::new();
    let mut bad = 0usize;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_creation(i + 1, line) {
            Ok(item) => items.push(item),
            Err(reason) => {
                bad += 1;
                eprintln!("{from}:{}: {reason}", i + 1);
            }
        }
    }
    if bad > 0 {
        return Err(Failure::Usage(format!(
            "{bad} bad line(s) in {from}; nothing was sent"
        )));
    }
    Ok(items)
}

/// One line of `create --from`, or why it is refused.
fn parse_creation(line: usize, text: &str) -> Result<Creating, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("not a JSON object".into());
    };
    let mut item = Creating {
        line,
        conversation: String::new(),
        fields: CreateFields::default(),
    };
    for (name, value) in fields {
        if value.is_null() {
            continue;
        }
        let text = || match &value {
            Value::String(text) => Ok(text.clone()),
            _ => Err(format!("`{name}` must be a string")),
        };
        let date = || {
            text()?
                .parse::<chrono::DateTime<chrono::Utc>>()
                .map_err(|e| format!("`{name}` is not an RFC 3339 date: {e}"))
        };
        match name.as_str() {
            "conversation_sid" => item.conversation = text()?,
            "identity" => item.fields.identity = Some(text()?),
            "messaging_binding.address" => item.fields.address = Some(text()?),
            "messaging_binding.proxy_address" => item.fields.proxy_address = Some(text()?),
            "messaging_binding.projected_address" => item.fields.projected_address = Some(text()?),
            "attributes" => {
                item.fields.attributes = Some(match &value {
                    Value::String(json) => {
                        serde_json::from_str::<Value>(json)
                            .map_err(|e| format!("`attributes` is not JSON text: {e}"))?;
                        json.clone()
                    }
                    other => other.to_string(),
                });
            }
            "role_sid" => item.fields.role_sid = Some(text()?),
            "date_created" => item.fields.date_created = Some(date()?),
            "date_updated" => item.fields.date_updated = Some(date()?),
            "x_twilio_webhook_enabled" => match value {
                Value::Bool(on) => item.fields.webhook_enabled = Some(on),
                _ => return Err("`x_twilio_webhook_enabled` must be true or false".into()),
            },
            _ => return Err(format!("unknown field `{name}` (known: {CREATE_FIELDS})")),
        }
    }
    if item.conversation.is_empty() {
        return Err("`conversation_sid` is missing".into());
    }
    if !item.fields.name_a_participant() {
        return Err(
            "a participant needs `identity`, `messaging_binding.address` or \
                    `messaging_binding.projected_address`"
                .into(),
        );
    }
    Ok(item)
}

/// `create --from`: creates each participant, `concurrency` at a time; one already there
/// (409, 50433/50416) is reported as `exists`.
pub async fn create_all(
    session: &Session,
    items: Vec<Creating>,
    concurrency: Option<u32>,
) -> Result<(), Failure> {
    let lines: Vec<usize> = items.iter().map(|item| item.line).collect();
    let work = items
        .into_iter()
        .map(|item| (item.conversation.clone(), item));
    let run = session
        .client
        .fleet(&session.service)
        .concurrency(fleet_concurrency(concurrency))
        .run(work, |participants, (_, item)| async move {
            item.fields
                .request(participants.create())
                .send_unless_present()
                .await
        });
    let mut report = Report::new(session.format, true)?;
    report.lines = lines;
    report
        .run(&session.client, run, |_, result| match result {
            Ok(Creation::Created(participant)) => {
                ("created", participant.sid.as_ref().map(ToString::to_string))
            }
            // `AlreadyPresent`, and any kind of creation newer than this tool.
            Ok(_) => ("exists", None),
            Err(error) => (failure_outcome(error), None),
        })
        .await?;
    report.finish()
}

/// The fleet's concurrency from `--concurrency`.
fn fleet_concurrency(concurrency: Option<u32>) -> usize {
    concurrency.map_or(DEFAULT_FLEET_CONCURRENCY, |n| n as usize)
}

/// `unknown` for a write that may have happened, `failed` for any other error.
fn failure_outcome(error: &Error) -> &'static str {
    match error {
        Error::OutcomeUnknown { .. } => "unknown",
        _ => "failed",
    }
}

/// The outcomes, in the order the summary gives them.
const OUTCOMES: [&str; 6] = [
    "created",
    "exists",
    "deleted",
    "already_gone",
    "failed",
    "unknown",
];

/// The output of a bulk write: a line per item on stdout, progress and a summary on stderr,
/// and the exit code from the counts.
struct Report {
    out: BulkOutput<io::BufWriter<io::StdoutLock<'static>>>,
    /// The input line of each item, by index (`create --from`), or empty.
    lines: Vec<usize>,
    counts: [usize; OUTCOMES.len()],
    /// The progress bar, drawn while a run goes on when stderr is a terminal.
    bar: Option<ProgressBar>,
    /// Items never started because the run was stopped.
    not_started: usize,
    /// Ctrl-C (SIGINT) stopped the run.
    interrupted: bool,
    /// The client is waiting out an outage (every request failing), and this was said.
    in_outage: bool,
    /// Stdout was closed (EPIPE, e.g. by `| head`): the run was stopped, and no more lines
    /// are written.
    stdout_closed: bool,
    /// An item waited out an outage past its call deadline: the run was stopped, so the
    /// items left do not each wait a whole deadline in turn.
    outlasted: bool,
}

/// Ctrl-C (SIGINT), caught from the moment this is made: the default, dying at once, would
/// lose the outcome of the writes on the wire. One listener for the whole run, so a second
/// Ctrl-C is never missed between two.
struct Interrupts {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
    #[cfg(windows)]
    signal: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    fn catch() -> io::Result<Self> {
        #[cfg(unix)]
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        #[cfg(windows)]
        let signal = tokio::signal::windows::ctrl_c()?;
        Ok(Self { signal })
    }

    /// The next Ctrl-C.
    async fn next(&mut self) {
        if self.signal.recv().await.is_none() {
            // No more signals can come.
            std::future::pending::<()>().await;
        }
    }
}

impl Report {
    /// Starts the output (its header in `columns` and `tsv`).
    fn new(format: Format, numbered: bool) -> Result<Self, Failure> {
        let out = BulkOutput::new(format, io::BufWriter::new(io::stdout().lock()), numbered)?;
        Ok(Self {
            out,
            lines: Vec::new(),
            counts: [0; OUTCOMES.len()],
            bar: None,
            not_started: 0,
            interrupted: false,
            in_outage: false,
            stdout_closed: false,
            outlasted: false,
        })
    }

    /// Writes one item (the progress bar, if drawn, steps aside for it).
    fn record(&mut self, record: &BulkRecord<'_>) -> Result<(), Failure> {
        Ok(self.count_and_write(record)?)
    }

    /// Counts one item, and writes it unless stdout was closed.
    fn count_and_write(&mut self, record: &BulkRecord<'_>) -> io::Result<()> {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == record.outcome) {
            self.counts[i] += 1;
        }
        if self.stdout_closed {
            return Ok(());
        }
        match &self.bar {
            Some(bar) => bar.suspend(|| self.out.record(record)),
            None => self.out.record(record),
        }
    }

    /// Reports each item of `run` as it completes; `classify` gives its outcome and
    /// participant SID from its index and result. Ctrl-C, or stdout closed, stops the run:
    /// the items on the wire are still reported (see the module's documentation). While
    /// `client` waits out an outage, a line on stderr says so, and another when it ends.
    async fn run<R>(
        &mut self,
        client: &Client,
        mut run: FleetRun<R>,
        classify: impl Fn(usize, &Result<R, Error>) -> (&'static str, Option<String>),
    ) -> Result<(), Failure> {
        self.bar = io::stderr()
            .is_terminal()
            .then(|| progress_bar(run.progress().total));
        let mut interrupts = Interrupts::catch()?;
        let mut outage_check = tokio::time::interval(OUTAGE_CHECK);
        loop {
            let done = tokio::select! {
                done = run.next() => done,
                () = interrupts.next() => {
                    self.interrupted(&run);
                    continue;
                }
                _ = outage_check.tick() => {
                    self.note_outage(client.stats().outage);
                    continue;
                }
            };
            let Some(done) = done else {
                break;
            };
            let (outcome, sid) = classify(done.index, &done.result);
            let error = done.result.as_ref().err().map(error_text);
            let conversation = done.conversation.map(|c| c.to_string()).unwrap_or_default();
            let written = self.count_and_write(&BulkRecord {
                line: self.lines.get(done.index).copied(),
                conversation: &conversation,
                outcome,
                participant_sid: sid.as_deref(),
                error: error.as_deref(),
            });
            match written {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                    run.stop();
                    self.stdout_closed = true;
                }
                Err(error) => return Err(error.into()),
            }
            if !self.outlasted && done.result.as_ref().is_err_and(outlasted_the_deadline) {
                run.stop();
                self.outlasted = true;
                self.say(
                    "the API stayed unavailable past the call deadline: starting no new item; \
                     the items on the wire finish, then run the same command again once the API \
                     answers",
                );
            }
            if let Some(bar) = &self.bar {
                let progress = run.progress();
                bar.set_position(progress.done as u64);
                bar.set_message(progress_text(&progress));
            }
        }
        self.note_outage(client.stats().outage);
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.not_started = run.progress().not_started.unwrap_or_default();
        Ok(())
    }

    /// Ends stdout's output (in `-o json`, writes the array), so that what comes next on
    /// stderr follows it; a closed stdout is noted, not an error.
    fn end_output(&mut self) -> Result<(), Failure> {
        if self.stdout_closed {
            return Ok(());
        }
        match self.out.finish() {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                self.stdout_closed = true;
                Ok(())
            }
            other => Ok(other?),
        }
    }

    /// Ctrl-C: the first stops the run, the second exits at once.
    fn interrupted<R>(&mut self, run: &FleetRun<R>) {
        let on_the_wire = run.progress().in_flight;
        if self.interrupted {
            if on_the_wire > 0 {
                self.say(&format!(
                    "interrupted again: exiting now; {on_the_wire} write(s) were on the wire \
                     and may have happened: run the same command again to finish the job"
                ));
                std::process::exit(3);
            }
            self.say("interrupted again: exiting now");
            std::process::exit(130);
        }
        run.stop();
        self.interrupted = true;
        self.say(&format!(
            "interrupted: starting no new item; waiting for the {on_the_wire} on the wire \
             (Ctrl-C again to exit at once)"
        ));
    }

    /// Says when the client starts and stops waiting out an outage: otherwise a run whose
    /// items wait for the API to come back looks stuck.
    fn note_outage(&mut self, outage: bool) {
        if outage == self.in_outage {
            return;
        }
        self.in_outage = outage;
        if outage {
            self.say(
                "the API is failing every request (an outage): no new request is sent but a \
                 probe now and then; the items wait for it to come back, each until its call \
                 deadline (Ctrl-C stops)",
            );
        } else {
            self.say("the API answers again: the outage is over");
        }
    }

    /// One line on stderr, with the progress bar (if drawn) out of its way.
    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// The summary on stderr, and the exit code: 3 when an outcome is unknown; 130 when
    /// interrupted with items not started; 1 when an item failed or stdout was closed with
    /// items not started; 0 otherwise.
    fn finish(mut self) -> Result<(), Failure> {
        self.end_output()?;
        let count = |outcome: &str| {
            OUTCOMES
                .iter()
                .position(|o| *o == outcome)
                .map_or(0, |i| self.counts[i])
        };
        let total = self.counts.iter().sum::<usize>() + self.not_started;
        let mut parts: Vec<String> = OUTCOMES
            .iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(outcome, n)| format!("{n} {outcome}"))
            .collect();
        if self.not_started > 0 {
            parts.push(format!("{} not started", self.not_started));
        }
        let parts = if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", parts.join(", "))
        };
        let items = if total == 1 { "item" } else { "items" };
        eprintln!("summary: {total} {items}{parts}");
        let (failed, unknown) = (count("failed"), count("unknown"));
        if unknown > 0 {
            return Err(Failure::OutcomeUnknown {
                message: format!("{unknown} of {total} outcomes are unknown"),
                advice: "the writes may have happened: run the same command again, which \
                         reports what is already there and finishes the rest",
            });
        }
        let not_started = self.not_started;
        // An interrupt that came once every item had started stopped nothing: the job ended
        // as it would have, and its exit says how.
        if self.interrupted && not_started > 0 {
            return Err(Failure::Interrupted(format!(
                "interrupted: {not_started} of {total} not started, {failed} failed; run the \
                 same command again to finish the job"
            )));
        }
        if self.stdout_closed && (not_started > 0 || failed > 0) {
            return Err(Failure::Remote(format!(
                "stdout was closed: {not_started} of {total} not started, {failed} failed; run \
                 the same command again to finish the job"
            )));
        }
        if self.outlasted {
            return Err(Failure::Remote(format!(
                "the API was unavailable: {not_started} of {total} not started, {failed} \
                 failed; run the same command again once the API answers"
            )));
        }
        if failed > 0 {
            return Err(Failure::Remote(format!(
                "{failed} of {total} failed; run the same command again to finish the job"
            )));
        }
        Ok(())
    }
}

/// Whether an item's error says that an outage lasted past its call deadline: the next items
/// would each wait a whole deadline too.
fn outlasted_the_deadline(error: &Error) -> bool {
    match error {
        Error::Unavailable { .. } => true,
        Error::OutcomeUnknown { cause, .. } => matches!(**cause, Error::Unavailable { .. }),
        _ => false,
    }
}

/// A progress bar on stderr: with a bar when the number of items is known, a spinner
/// otherwise; its message is [`progress_text`].
fn progress_bar(total: Option<usize>) -> ProgressBar {
    let (bar, template) = match total {
        Some(total) => (ProgressBar::new(total as u64), "[{bar:30}] {msg}"),
        None => (ProgressBar::no_length(), "{spinner} {msg}"),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// How far a run is, for a person: "12/200 done, 1 failed, 3 in flight" ("12 done, …"
/// when the number of items is not known).
fn progress_text(progress: &FleetProgress) -> String {
    let total = progress
        .total
        .map(|total| format!("/{total}"))
        .unwrap_or_default();
    format!(
        "{}{total} done, {} failed, {} in flight",
        progress.done, progress.failed, progress.in_flight
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_as_counts_without_rust_values() {
        let mut progress = FleetProgress::default();
        progress.total = Some(200);
        progress.done = 12;
        progress.failed = 1;
        progress.in_flight = 3;
        assert_eq!(
            progress_text(&progress),
            "12/200 done, 1 failed, 3 in flight"
        );
        progress.total = None;
        assert_eq!(progress_text(&progress), "12 done, 1 failed, 3 in flight");
    }
}
