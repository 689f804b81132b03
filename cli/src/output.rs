//! The output formats, for a stream of participants or a single one.

use std::io::{self, Write};

use clap::ValueEnum;
use twilio_conversations::Participant;

/// How participants are printed.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// Fixed-width columns with a header.
    Columns,
    /// One JSON array (a list) or object (one participant).
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Tab-separated values with a header; tabs, newlines and backslashes escaped.
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
                let line = format!(
                    "{sid:<34}  {kind:<8}  {address:<24}  {role:<34}  {created:<20}  {}",
                    field(p.identity.as_deref())
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
                let row: Vec<String> = cells.iter().map(|c| tsv_escape(c)).collect();
                writeln!(self.out, "{}", row.join("\t"))
            }
            // Written above, before the cells.
            Format::Json | Format::Jsonl => Ok(()),
        }
    }

    pub fn finish(&mut self) -> io::Result<()> {
        self.start()?;
        if let (Format::Json, true) = (self.format, self.many) {
            self.held.extend_from_slice(b"]\n");
            self.out.write_all(&self.held)?;
        }
        self.out.flush()
    }
}

/// Keeps one participant on one TSV row: tabs, newlines and backslashes are escaped.
fn tsv_escape(cell: &str) -> String {
    cell.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}
