//! How `listen` prints participant changes: each once (an event id already printed is
//! dropped), in `-o jsonl`, `json` (an array at the end), `columns` or `tsv`, with counts for
//! the summary.

use std::io::{self, Write};

use twilio_conversations::webhook::{Channel, ParticipantChange, Seen, SeenEvents};

use crate::output::{escape, Format};

/// How many event ids (and participants) each channel remembers to drop repeats.
const REMEMBERED_EVENTS: usize = 100_000;

/// Prints each change once, in the chosen format, and counts.
pub(super) struct Printer {
    format: Format,
    /// Each channel's own: their times come from different clocks (a webhook's dates are to
    /// the second, an Event Streams `time` to the millisecond), so one channel's events are
    /// not called late by the other's.
    seen_webhooks: SeenEvents,
    seen_event_streams: SeenEvents,
    started: bool,
    /// `-o json`: the array so far, written by `finish`.
    held: Vec<u8>,
    /// Changes printed.
    pub(super) printed: u64,
    /// Repeats dropped.
    pub(super) repeats: u64,
    /// Requests refused (counted by the server).
    pub(super) refused: u64,
}

impl Printer {
    pub(super) fn new(format: Format) -> Self {
        Self {
            format,
            seen_webhooks: SeenEvents::new(REMEMBERED_EVENTS),
            seen_event_streams: SeenEvents::new(REMEMBERED_EVENTS),
            started: false,
            held: Vec::new(),
            printed: 0,
            repeats: 0,
            refused: 0,
        }
    }

    /// Prints `change` unless its event id was printed already (a redelivery); says on
    /// stderr when it is older than what was seen for its participant.
    pub(super) fn change(&mut self, change: &ParticipantChange) -> io::Result<()> {
        let id = change.event_id.as_deref().unwrap_or("-");
        let seen = match change.channel {
            Channel::Webhook => &mut self.seen_webhooks,
            _ => &mut self.seen_event_streams,
        };
        match seen.observe_change(change) {
            Seen::Repeat => {
                self.repeats += 1;
                eprintln!(
                    "{}",
                    escape(
                        &format!("repeat: event {id} was printed already (a redelivery)"),
                        false
                    )
                );
                return Ok(());
            }
            Seen::Late { newest } => eprintln!(
                "{}",
                escape(
                    &format!(
                        "late: event {id} ({}) is older than {} seen for its participant \
                         (delivered out of order)",
                        change.kind.as_str(),
                        // As the printed lines show times: `…Z`, fractions only when there are.
                        newest.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    ),
                    false
                )
            ),
            _ => {}
        }
        self.printed += 1;
        let mut out = io::stdout().lock();
        self.start(&mut out)?;
        match self.format {
            Format::Json => {
                if self.printed > 1 {
                    self.held.push(b',');
                }
                serde_json::to_writer(&mut self.held, change).map_err(io::Error::from)
            }
            Format::Jsonl => {
                serde_json::to_writer(&mut out, change).map_err(io::Error::from)?;
                out.write_all(b"\n")?;
                out.flush()
            }
            Format::Columns => {
                let line = format!(
                    "{:<13}  {:<19}  {:<34}  {:<34}  {:<24}  {:<20}  {}",
                    change.channel.as_str(),
                    change.kind.as_str(),
                    change.conversation_sid,
                    cell(change.participant_sid.as_ref().map(|s| s.as_str())),
                    escape(&who(change), false),
                    change
                        .time
                        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                        .unwrap_or_default(),
                    escape(cell(change.event_id.as_deref()), false),
                );
                writeln!(out, "{}", line.trim_end())?;
                out.flush()
            }
            Format::Tsv => {
                let cells = [
                    change.channel.as_str(),
                    change.kind.as_str(),
                    change.conversation_sid.as_str(),
                    cell(change.participant_sid.as_ref().map(|s| s.as_str())),
                    cell(change.identity.as_deref()),
                    cell(change.address.as_deref()),
                    cell(change.event_id.as_deref()),
                    &change.time.map(|t| t.to_rfc3339()).unwrap_or_default(),
                ];
                let row: Vec<_> = cells.iter().map(|c| escape(c, true)).collect();
                writeln!(out, "{}", row.join("\t"))?;
                out.flush()
            }
        }
    }

    /// The header (`columns`, `tsv`) or the array's opening (`json`), once.
    fn start(&mut self, out: &mut impl Write) -> io::Result<()> {
        if std::mem::replace(&mut self.started, true) {
            return Ok(());
        }
        match self.format {
            Format::Columns => writeln!(
                out,
                "{:<13}  {:<19}  {:<34}  {:<34}  {:<24}  {:<20}  EVENT ID",
                "CHANNEL", "TYPE", "CONVERSATION", "PARTICIPANT", "IDENTITY/ADDRESS", "TIME"
            ),
            Format::Tsv => writeln!(
                out,
                "channel\ttype\tconversation_sid\tparticipant_sid\tidentity\taddress\tevent_id\ttime"
            ),
            Format::Json => {
                self.held.push(b'[');
                Ok(())
            }
            Format::Jsonl => Ok(()),
        }
    }

    /// Writes what was held back (the header when nothing came; the JSON array).
    pub(super) fn finish(&mut self) -> io::Result<()> {
        let mut out = io::stdout().lock();
        self.start(&mut out)?;
        if let Format::Json = self.format {
            self.held.extend_from_slice(b"]\n");
            out.write_all(&self.held)?;
        }
        out.flush()
    }
}

fn cell(value: Option<&str>) -> &str {
    value.unwrap_or("")
}

/// The identity, else the address.
fn who(change: &ParticipantChange) -> String {
    change
        .identity
        .clone()
        .or_else(|| change.address.clone())
        .unwrap_or_default()
}
