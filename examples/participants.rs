//! `participants`: list a conversation's participants, like
//! `twilio api:conversations:v1:services:conversations:participants:list`.
//!
//! ```sh
//! cargo run --release --example participants -- --demo
//! cargo run --release --example participants -- --chat-service-sid IS… --conversation-sid CH… -o json
//! ```
//!
//! Exit codes: 0 success; 2 bad input (nothing sent); 1 API or transport error.

use std::{
    io::{self, IsTerminal, Write},
    process::ExitCode,
    time::Duration,
};

use clap::{Parser, ValueEnum};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use twilio_conversations::{
    testing::{self, FakeServer},
    Client, ConversationSid, Credentials, Error, InvalidSid, Participant, ServiceSid,
};

/// The demo conversation: a few hundred participants over several pages.
const DEMO_SERVICE: &str = "ISdec0de000000000000000000000000a1";
const DEMO_CONVERSATION: &str = "CHdec0de000000000000000000000000b2";
const DEMO_PARTICIPANTS: usize = 340;

#[derive(Parser, Debug)]
#[command(about = "List the participants of a Twilio conversation")]
struct Cli {
    /// The SID of the Conversation Service (IS…).
    #[arg(long, required_unless_present = "demo")]
    chat_service_sid: Option<String>,
    /// The conversation's SID (CH…) or unique name.
    #[arg(long, required_unless_present = "demo")]
    conversation_sid: Option<String>,
    /// The most participants to list.
    #[arg(long)]
    limit: Option<u64>,
    /// Participants per request (1 to 100).
    #[arg(long)]
    page_size: Option<u32>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Columns)]
    output: Format,
    /// Send requests here instead of Twilio (a mock, a proxy).
    #[arg(long)]
    base_url: Option<String>,
    /// Twilio region, e.g. ie1.
    #[arg(long)]
    region: Option<String>,
    /// Twilio edge, e.g. dublin.
    #[arg(long)]
    edge: Option<String>,
    /// Start a local fake of the API with a demo conversation and list it; no account needed.
    #[arg(long)]
    demo: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Columns,
    Json,
    Jsonl,
    Tsv,
}

/// How the program failed, which decides the exit code.
enum Failure {
    /// Bad input or configuration: nothing was sent (exit 2).
    Usage(String),
    /// The API or the network failed (exit 1).
    Remote(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        if error.is_local() {
            Failure::Usage(error.to_string())
        } else {
            Failure::Remote(error)
        }
    }
}

impl From<InvalidSid> for Failure {
    fn from(error: InvalidSid) -> Self {
        Failure::Usage(error.to_string())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Remote(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    // Keeps the demo's fake server alive until the listing is done.
    let mut _demo_server = None;
    let (builder, service, conversation) = if cli.demo {
        let fake = FakeServer::start()
            .await
            .map_err(|e| Failure::Usage(format!("cannot start the demo server: {e}")))?;
        let service: ServiceSid = DEMO_SERVICE.parse()?;
        let conversation: ConversationSid = DEMO_CONVERSATION.parse()?;
        fake.add_generated(&service, &conversation, DEMO_PARTICIPANTS, 2026);
        eprintln!(
            "demo: a local fake of the API at {} serving {DEMO_PARTICIPANTS} participants",
            fake.base_url()
        );
        let builder = Client::builder()
            .base_url(fake.base_url())
            .credentials(fake.credentials());
        _demo_server = Some(fake);
        (builder, service, conversation.to_string())
    } else {
        let service: ServiceSid = cli.chat_service_sid.unwrap_or_default().parse()?;
        let conversation = cli.conversation_sid.unwrap_or_default();
        (
            configured(cli.base_url, cli.region, cli.edge)?,
            service,
            conversation,
        )
    };
    let client = builder.build()?;

    let mut request = client.participants(&service, conversation);
    if let Some(size) = cli.page_size {
        request = request.page_size(size);
    }
    if let Some(limit) = cli.limit {
        request = request.limit(limit);
    }
    let mut participants = request.stream();

    let progress = progress_bar();
    let stdout = io::stdout();
    let mut out = Output::new(cli.output, io::BufWriter::new(stdout.lock()));
    let mut count = 0u64;
    while let Some(participant) = participants.try_next().await? {
        count += 1;
        check_write(out.item(&participant))?;
        progress.set_message(format!(
            "{count} participants, {} pages",
            participants.pages_fetched()
        ));
    }
    progress.finish_and_clear();
    check_write(out.finish())
}

/// A client builder from the environment (credentials, region, edge) and the flags, which
/// take precedence.
fn configured(
    base_url: Option<String>,
    region: Option<String>,
    edge: Option<String>,
) -> Result<twilio_conversations::ClientBuilder, Failure> {
    let credentials = match Credentials::from_env() {
        Ok(credentials) => credentials,
        Err(Error::MissingCredentials { missing }) if base_url.is_none() => {
            return Err(Failure::Usage(format!(
                "no Twilio credentials (set {missing}); try --demo to see it work without an account"
            )))
        }
        Err(Error::MissingCredentials { .. }) => {
            eprintln!("warning: no Twilio credentials set; sending placeholder credentials");
            Credentials::auth_token(testing::FAKE_ACCOUNT_SID.parse()?, "placeholder")
        }
        Err(other) => return Err(other.into()),
    };
    let mut builder = Client::builder()
        .credentials(credentials)
        .region_and_edge_from_env();
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    if let Some(region) = region {
        builder = builder.region(region);
    }
    if let Some(edge) = edge {
        builder = builder.edge(edge);
    }
    Ok(builder)
}

/// A spinner on stderr, shown only when stderr is a terminal.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if io::stderr().is_terminal() {
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// A closed stdout (e.g. `| head`) ends the program quietly; other write errors are failures.
fn check_write(result: io::Result<()>) -> Result<(), Failure> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Failure::Usage(format!("cannot write the output: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// Writes participants as they arrive in the chosen format.
struct Output<W: Write> {
    format: Format,
    out: W,
    started: bool,
    first: bool,
}

impl<W: Write> Output<W> {
    fn new(format: Format, out: W) -> Self {
        Self {
            format,
            out,
            started: false,
            first: true,
        }
    }

    /// The header, written with the first participant (or at the end), so that a request
    /// that fails before any data prints nothing on stdout.
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
            Format::Json => self.out.write_all(b"["),
            Format::Jsonl => Ok(()),
        }
    }

    fn item(&mut self, p: &Participant) -> io::Result<()> {
        self.start()?;
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
            Format::Json => {
                if !self.first {
                    self.out.write_all(b",")?;
                }
                self.first = false;
                serde_json::to_writer(&mut self.out, p).map_err(io::Error::from)
            }
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, p).map_err(io::Error::from)?;
                self.out.write_all(b"\n")
            }
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.start()?;
        if let Format::Json = self.format {
            self.out.write_all(b"]\n")?;
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
