//! The output formats, for a stream of participants, a single one, or what a write did.
//!
//! `columns` and `tsv` print server text with its control characters escaped (see
//! [`escape`]), so a participant's identity cannot move the cursor, recolour or retitle the
//! terminal, or split a row; `json` and `jsonl` are JSON-escaped by serde_json.

use std::{
    borrow::Cow,
    fmt::Write as _,
    io::{self, Write},
};

use clap::ValueEnum;
use twilio_conversations::{models::ParticipantConversation, Participant, RawParticipant};

/// How participants are printed.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// Fixed-width columns with a header.
    Columns,
    /// One JSON document, written when the command ends: an array for a command over many
    /// items (`list`, `conversations`, the bulk writes), an object for one participant.
    Json,
    /// One JSON object per line, each written as soon as it is known.
    Jsonl,
    /// Tab-separated values with a header; backslashes and control characters escaped.
    Tsv,
}

/// Writes participants in a format; nothing reaches stdout before the first participant,
/// so a request that fails first prints nothing there.
pub struct Output<W: Write> {
    format: Format,
    out: W,
    /// A list (`-o json` prints an array, held back until the end) or one participant.
    many: bool,
    started: bool,
    /// `-o json` of a list: the array so far, written by `finish`.
    held: Vec<u8>,
}

impl<W: Write> Output<W> {
    /// An output of a list (`many`) or of one participant, written to `out`.
    pub fn new(format: Format, out: W, many: bool) -> Self {
        Self {
            format,
            out,
            many,
            started: false,
            held: Vec::new(),
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if std::mem::replace(&mut self.started, true) {
            return Ok(());
        }
        match self.format {
            Format::Columns => writeln!(
                self.out,
                "{:<34}  {:<8}  {:<24}  {:<34}  {:<20}  IDENTITY",
                "SID", "BINDING", "ADDRESS", "ROLE", "CREATED"
            ),
            Format::Tsv => writeln!(
                self.out,
                "sid\tidentity\tbinding_type\taddress\tproxy_address\trole_sid\tdate_created\tattributes"
            ),
            Format::Json if self.many => {
                self.held.push(b'[');
                Ok(())
            }
            // Written above, before the cells.
            Format::Json | Format::Jsonl => Ok(()),
        }
    }

    /// Writes one participant (in `-o json` of a list, holds it until [`finish`](Self::finish)).
    pub fn item(&mut self, p: &Participant) -> io::Result<()> {
        let first = !self.started;
        self.start()?;
        // JSON needs none of the text cells below (building them for every participant was
        // about a third of `list -o jsonl`'s work per participant).
        match self.format {
            Format::Json if self.many => {
                if !first {
                    self.held.push(b',');
                }
                return serde_json::to_writer(&mut self.held, p).map_err(io::Error::from);
            }
            Format::Json | Format::Jsonl => {
                serde_json::to_writer(&mut self.out, p).map_err(io::Error::from)?;
                return self.out.write_all(b"\n");
            }
            Format::Columns | Format::Tsv => {}
        }
        let binding = p.messaging_binding.as_ref();
        let field = |value: Option<&str>| value.unwrap_or("").to_owned();
        let kind = field(binding.and_then(|b| b.type_.as_deref()));
        let address =
            field(binding.and_then(|b| b.address.as_deref().or(b.projected_address.as_deref())));
        let sid = p.sid.as_ref().map(ToString::to_string).unwrap_or_default();
        let role = p
            .role_sid
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let created = p
            .date_created
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        match self.format {
            Format::Columns => {
                let (kind, address) = (escape(&kind, false), escape(&address, false));
                let identity = escape(p.identity.as_deref().unwrap_or(""), false);
                let line = format!(
                    "{sid:<34}  {kind:<8}  {address:<24}  {role:<34}  {created:<20}  {identity}"
                );
                writeln!(self.out, "{}", line.trim_end())
            }
            Format::Tsv => {
                let cells = [
                    sid,
                    field(p.identity.as_deref()),
                    kind,
                    address,
                    field(binding.and_then(|b| b.proxy_address.as_deref())),
                    role,
                    created,
                    field(p.attributes.as_deref()),
                ];
                let row: Vec<Cow<str>> = cells.iter().map(|c| escape(c, true)).collect();
                writeln!(self.out, "{}", row.join("\t"))
            }
            // Written above, before the cells.
            Format::Json | Format::Jsonl => Ok(()),
        }
    }

    /// Whether this format prints a participant as its JSON object, so that a list can pass
    /// the API's text through ([`raw_item`](Self::raw_item)) instead of decoding it.
    pub fn passes_json_through(&self) -> bool {
        matches!(self.format, Format::Json | Format::Jsonl)
    }

    /// Writes one participant as the API sent it: in `json` and `jsonl` the server's JSON
    /// object unchanged (in `jsonl` on one line whatever the server's layout); in the other
    /// formats it is decoded and written as [`item`](Self::item) does.
    pub fn raw_item(&mut self, p: &RawParticipant) -> io::Result<()> {
        let first = !self.started;
        match self.format {
            Format::Json if self.many => {
                self.start()?;
                if !first {
                    self.held.push(b',');
                }
                self.held.extend_from_slice(p.json().as_bytes());
                Ok(())
            }
            Format::Json | Format::Jsonl => {
                self.start()?;
                write_on_one_line(&mut self.out, p.json())?;
                self.out.write_all(b"\n")
            }
            Format::Columns | Format::Tsv => {
                let typed = p
                    .decode()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                self.item(&typed)
            }
        }
    }

    /// Writes what was held back (the header of an empty list, the JSON array) and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        self.start()?;
        if let (Format::Json, true) = (self.format, self.many) {
            self.held.extend_from_slice(b"]\n");
            self.out.write_all(&self.held)?;
        }
        self.out.flush()
    }
}

/// Writes what a write did to one participant: `{"sid":…,"outcome":…}` in `json` and
/// `jsonl`, `sid<TAB>outcome` in `tsv`, and `sentence` in `columns`; one line each.
pub fn outcome(
    format: Format,
    mut out: impl Write,
    sid: &str,
    outcome: &str,
    sentence: &str,
) -> io::Result<()> {
    match format {
        Format::Json | Format::Jsonl => {
            out.write_all(b"{\"sid\":")?;
            serde_json::to_writer(&mut out, sid)?;
            out.write_all(b",\"outcome\":")?;
            serde_json::to_writer(&mut out, outcome)?;
            out.write_all(b"}\n")
        }
        Format::Tsv => writeln!(out, "{}\t{}", escape(sid, true), escape(outcome, true)),
        Format::Columns => writeln!(out, "{}", escape(sentence, false)),
    }
}

/// Writes the conversations a participant is in, as [`Output`] writes participants: a
/// header first in `columns` and `tsv`, one array at the end in `json`, one object per line
/// in `jsonl`.
pub struct ConversationsOutput<W: Write> {
    format: Format,
    out: W,
    started: bool,
    /// `-o json`: the array so far, written by `finish`.
    held: Vec<u8>,
}

impl<W: Write> ConversationsOutput<W> {
    /// An output of conversations written to `out`.
    pub fn new(format: Format, out: W) -> Self {
        Self {
            format,
            out,
            started: false,
            held: Vec::new(),
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if std::mem::replace(&mut self.started, true) {
            return Ok(());
        }
        match self.format {
            Format::Columns => writeln!(
                self.out,
                "{:<34}  {:<34}  {:<8}  {:<20}  UNIQUE NAME",
                "CONVERSATION", "PARTICIPANT", "STATE", "CREATED"
            ),
            Format::Tsv => writeln!(
                self.out,
                "conversation_sid\tparticipant_sid\tconversation_state\tconversation_unique_name\tconversation_friendly_name\tconversation_date_created"
            ),
            Format::Json => {
                self.held.push(b'[');
                Ok(())
            }
            Format::Jsonl => Ok(()),
        }
    }

    /// Writes one conversation (in `-o json`, holds it until [`finish`](Self::finish)).
    pub fn item(&mut self, c: &ParticipantConversation) -> io::Result<()> {
        let first = !self.started;
        self.start()?;
        let text = |value: Option<String>| value.unwrap_or_default();
        let conversation = text(c.conversation_sid.as_ref().map(ToString::to_string));
        let participant = text(c.participant_sid.as_ref().map(ToString::to_string));
        let state = c.conversation_state.as_str();
        let created = text(
            c.conversation_date_created
                .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
        let unique = c.conversation_unique_name.as_deref().unwrap_or("");
        match self.format {
            Format::Columns => {
                let line = format!(
                    "{conversation:<34}  {participant:<34}  {:<8}  {created:<20}  {}",
                    escape(state, false),
                    escape(unique, false)
                );
                writeln!(self.out, "{}", line.trim_end())
            }
            Format::Tsv => {
                let cells = [
                    conversation.as_str(),
                    participant.as_str(),
                    state,
                    unique,
                    c.conversation_friendly_name.as_deref().unwrap_or(""),
                    created.as_str(),
                ];
                let row: Vec<Cow<str>> = cells.iter().map(|c| escape(c, true)).collect();
                writeln!(self.out, "{}", row.join("\t"))
            }
            Format::Json => {
                if !first {
                    self.held.push(b',');
                }
                serde_json::to_writer(&mut self.held, c).map_err(io::Error::from)
            }
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, c).map_err(io::Error::from)?;
                self.out.write_all(b"\n")
            }
        }
    }

    /// Writes what was held back (the header of an empty list, the JSON array) and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        self.start()?;
        if let Format::Json = self.format {
            self.held.extend_from_slice(b"]\n");
            self.out.write_all(&self.held)?;
        }
        self.out.flush()
    }
}

/// What a bulk command did in one conversation: one line of its output.
pub struct BulkRecord<'a> {
    /// The input line the item came from (`create --from`), from 1.
    pub line: Option<usize>,
    /// The conversation's SID or unique name.
    pub conversation: &'a str,
    /// `deleted`, `already_gone`, `created`, `exists`, `failed`, `unknown` or
    /// `would_delete` (a dry run).
    pub outcome: &'a str,
    /// The participant's SID, when known.
    pub participant_sid: Option<&'a str>,
    /// What went wrong, for `failed` and `unknown`.
    pub error: Option<&'a str>,
}

/// Writes a bulk command's records as [`Output`] writes participants: a header first in
/// `columns` and `tsv` (with a line-number column when numbered), one array at the end in
/// `json`, one object per line in `jsonl`. Each record is flushed as it is written (`json`
/// aside), so an interrupted run shows what it did.
pub struct BulkOutput<W: Write> {
    format: Format,
    out: W,
    /// `-o json`: the array so far (from its `[`), written by `finish`.
    held: Vec<u8>,
}

impl<W: Write> BulkOutput<W> {
    /// Starts the output: the header in `columns` and `tsv`, with a line-number column when
    /// `numbered`.
    pub fn new(format: Format, mut out: W, numbered: bool) -> io::Result<Self> {
        let line = if numbered { "LINE  " } else { "" };
        let mut held = Vec::new();
        match format {
            Format::Columns => writeln!(
                out,
                "{line}{:<34}  {:<12}  {:<34}  ERROR",
                "CONVERSATION", "OUTCOME", "PARTICIPANT"
            )?,
            Format::Tsv => {
                let line = if numbered { "line\t" } else { "" };
                writeln!(
                    out,
                    "{line}conversation_sid\toutcome\tparticipant_sid\terror"
                )?
            }
            Format::Json => held.push(b'['),
            Format::Jsonl => {}
        }
        Ok(Self { format, out, held })
    }

    /// Writes one record: in `json` and `jsonl` an object with `line` (when numbered),
    /// `conversation_sid`, `outcome`, and `participant_sid` and `error` when known, in that
    /// order; a row in `columns` and `tsv`.
    pub fn record(&mut self, record: &BulkRecord<'_>) -> io::Result<()> {
        match self.format {
            Format::Json => {
                if self.held.len() > 1 {
                    self.held.push(b',');
                }
                return json_record(&mut self.held, record);
            }
            Format::Jsonl => {
                json_record(&mut self.out, record)?;
                self.out.write_all(b"\n")?;
            }
            Format::Columns => {
                let line = record.line.map(|n| format!("{n:<4}  ")).unwrap_or_default();
                let row = format!(
                    "{line}{:<34}  {:<12}  {:<34}  {}",
                    escape(record.conversation, false),
                    record.outcome,
                    escape(record.participant_sid.unwrap_or(""), false),
                    escape(record.error.unwrap_or(""), false),
                );
                writeln!(self.out, "{}", row.trim_end())?;
            }
            Format::Tsv => {
                let line = record.line.map(|n| format!("{n}\t")).unwrap_or_default();
                writeln!(
                    self.out,
                    "{line}{}\t{}\t{}\t{}",
                    escape(record.conversation, true),
                    record.outcome,
                    escape(record.participant_sid.unwrap_or(""), true),
                    escape(record.error.unwrap_or(""), true),
                )?;
            }
        }
        self.out.flush()
    }

    /// Writes what was held back (the JSON array) and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Format::Json = self.format {
            self.held.extend_from_slice(b"]\n");
            self.out.write_all(&std::mem::take(&mut self.held))?;
        }
        self.out.flush()
    }
}

/// One bulk record as a JSON object (see [`BulkOutput::record`]).
fn json_record(mut out: impl Write, record: &BulkRecord<'_>) -> io::Result<()> {
    out.write_all(b"{")?;
    if let Some(line) = record.line {
        write!(out, "\"line\":{line},")?;
    }
    out.write_all(b"\"conversation_sid\":")?;
    serde_json::to_writer(&mut out, record.conversation)?;
    out.write_all(b",\"outcome\":")?;
    serde_json::to_writer(&mut out, record.outcome)?;
    if let Some(sid) = record.participant_sid {
        out.write_all(b",\"participant_sid\":")?;
        serde_json::to_writer(&mut out, sid)?;
    }
    if let Some(error) = record.error {
        out.write_all(b",\"error\":")?;
        serde_json::to_writer(&mut out, error)?;
    }
    out.write_all(b"}")
}

/// `text` with every control character (C0, DEL and C1, U+0080 to U+009F) written as an
/// escape, so text from a server reaches the terminal as text and stays on its row: `\t`,
/// `\n` and `\r` by name, others as `\x1b` (below U+0080) or `\u{9b}` (C1). With `tsv`, a
/// backslash is doubled too, so every escape reads back to one character.
pub fn escape(text: &str, tsv: bool) -> Cow<'_, str> {
    let special = |c: char| c.is_control() || (tsv && c == '\\');
    if !text.contains(special) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => escaped.push_str("\\t"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\\' if tsv => escaped.push_str("\\\\"),
            c if c.is_control() && (c as u32) < 0x80 => {
                // Writing to a String cannot fail.
                let _ = write!(escaped, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(escaped, "\\u{{{:x}}}", c as u32);
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// Writes JSON text on one line: a line break can only be whitespace between tokens in
/// valid JSON (inside a string it is escaped), so dropping the line breaks keeps the value.
fn write_on_one_line(out: &mut impl Write, json: &str) -> io::Result<()> {
    let bytes = json.as_bytes();
    // Twilio's JSON is compact: the text is almost always written as it is.
    if memchr::memchr2(b'\n', b'\r', bytes).is_none() {
        return out.write_all(bytes);
    }
    let line_break = |b: &u8| matches!(b, b'\n' | b'\r');
    for part in bytes.split(line_break) {
        out.write_all(part)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{escape, write_on_one_line};

    #[test]
    fn a_pretty_printed_object_is_written_on_one_line_with_its_value_kept() {
        let pretty = "{\r\n  \"identity\": \"a\\nb\",\n  \"n\": [\n 1,\n 2\n ]\n}";
        let mut out = Vec::new();
        write_on_one_line(&mut out, pretty).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(!line.contains(['\n', '\r']), "{line}");
        let (before, after): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(pretty).unwrap(),
            serde_json::from_str(&line).unwrap(),
        );
        assert_eq!(before, after);
        assert_eq!(after["identity"], "a\nb");
    }

    #[test]
    fn control_characters_become_escapes_and_other_text_stays() {
        let server = "a\u{1b}[31mb\u{9b}2Jc\u{7f}\u{0}\u{9f}\u{a0}é\\";
        assert_eq!(
            escape(server, false),
            "a\\x1b[31mb\\u{9b}2Jc\\x7f\\x00\\u{9f}\u{a0}é\\"
        );
        assert_eq!(escape("x\ty\nz\r\\", true), "x\\ty\\nz\\r\\\\");
        assert!(matches!(
            escape("plain \\ text", false),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
