//! `twilio-participants`: the participants of a Twilio conversation from the command line,
//! with twilio-cli's flag names (`twilio api:conversations:v1:services:conversations:participants:*`).
//!
//! ```sh
//! twilio-participants list --demo
//! twilio-participants create --chat-service-sid IS… --conversation-sid CH… --identity alice
//! ```

mod bulk;
mod fake;
mod listen;
mod output;
mod webhook;

use std::{
    io::{self, IsTerminal},
    process::ExitCode,
    time::Duration,
};

use clap::{Args, CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use output::{Format, Output};
use twilio_conversations::{
    prelude::*,
    testing::{self, FakeServer},
    Client, ClientBuilder, ConversationSid, Credentials, DeleteParticipant, Deletion, Error,
    ListParticipants, PageStream, ParticipantsHandler, ServiceSid, UpdateParticipant,
};

/// The demo conversation: a few hundred participants over several pages.
const DEMO_SERVICE: &str = "ISdec0de000000000000000000000000a1";
const DEMO_CONVERSATION: &str = "CHdec0de000000000000000000000000b2";
const DEMO_PARTICIPANTS: usize = 340;
/// The demo's participant found in several conversations (`conversations`,
/// `remove --all-conversations`).
const DEMO_AGENT: &str = "agent-7";
/// How many small demo conversations hold [`DEMO_AGENT`]; one more does not.
const DEMO_AGENT_CONVERSATIONS: u64 = 5;

/// Fills the demo fake: the big conversation, and small ones `DEMO_AGENT` is in.
fn demo_data(fake: &FakeServer, service: &ServiceSid) -> Result<(), Failure> {
    let conversation: ConversationSid = DEMO_CONVERSATION.parse()?;
    fake.add_generated(service, &conversation, DEMO_PARTICIPANTS, 2026);
    for i in 0..=DEMO_AGENT_CONVERSATIONS {
        let room: ConversationSid = demo_room(i).parse()?;
        let mut participants = testing::participants(service, &room, 4, 7000 + i);
        if i < DEMO_AGENT_CONVERSATIONS {
            let agent = &mut participants[0];
            agent.identity = Some(DEMO_AGENT.to_owned());
            agent.messaging_binding = None;
        }
        fake.add_conversation(service, room, participants);
    }
    Ok(())
}

/// The SID of the demo's small conversation `i`.
fn demo_room(i: u64) -> String {
    format!("CHdec0de{:026x}", 0xc00 + i)
}

const AFTER_HELP: &str = "\
Credentials come from the environment: TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN, or
TWILIO_ACCOUNT_SID with TWILIO_API_KEY and TWILIO_API_SECRET. TWILIO_REGION and TWILIO_EDGE
choose a region and edge (--region and --edge override them). TWILIO_BASE_URL,
TWILIO_CHAT_SERVICE_SID and TWILIO_CONVERSATION_SID are the defaults of --base-url,
--chat-service-sid and --conversation-sid (`fake` prints them all); --demo ignores them.

Output (-o): columns (default) and tsv print a header and a row per item; json prints one
JSON document when the command ends (an array for list, conversations and the bulk writes,
an object for one participant); jsonl prints one JSON object per line as each is known.

Exit codes:
  0  success
  1  the API answered with an error (e.g. 409) or the network failed; Twilio's code and
     message are on stderr
  2  bad input or configuration; nothing was sent
  3  a write was sent but its answer was lost: it may have happened. Fetch the participant
     (or list the conversation) before retrying, rather than repeating the command
The bulk commands (remove --all-conversations, create --from) print one line per item
and a summary of the items on stderr, and exit 0 when every item is done or was already so,
1 when any failed, 3 when any outcome is unknown (3 wins); running the same command again
finishes the job. Ctrl-C starts no new item, waits for those on the wire, prints their
lines and the summary (with the items not started), and exits 130 when it left items not
started, or 3 when any outcome is unknown; a second Ctrl-C exits at once (3 if writes were on the wire, else 130). With
stdout closed (e.g. | head) no new item starts, those on the wire finish, the summary goes
to stderr, and the exit is 1 when items were left not started or failed (3 when any outcome
is unknown). An outage longer than --call-timeout (default 90 s) stops the run the same
way (exit 1, or 3); run the command again once the API answers.

Try it without an account: twilio-participants list --demo (one-shot: each --demo run
starts a new fake), or run `twilio-participants fake` in another terminal, whose state lasts
while it runs.";

/// What to look up after a write whose outcome is unknown, when the command says nothing
/// more precise.
const FETCH_BEFORE_RETRYING: &str =
    "the write may have happened: fetch the participant before retrying";

#[derive(Parser, Debug)]
#[command(
    name = "twilio-participants",
    version,
    about = "The participants of Twilio conversations: list, create, fetch, update, remove; \
             where a participant is, and adding or removing it across conversations",
    after_help = AFTER_HELP,
    arg_required_else_help = false
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// The operations, each run by the function of the same name below.
#[derive(Subcommand, Debug)]
enum Command {
    /// List the participants of a conversation.
    #[command(override_usage = "\
twilio-participants list --chat-service-sid <IS…> --conversation-sid <CH…|UNIQUE_NAME> [OPTIONS]
       twilio-participants list --demo [OPTIONS]")]
    List(ListArgs),
    /// Add a participant: a chat identity, or a messaging binding address.
    #[command(override_usage = "\
twilio-participants create --chat-service-sid <IS…> --conversation-sid <CH…|UNIQUE_NAME> \
<--identity <IDENTITY>|--messaging-binding.address <ADDRESS>|--messaging-binding.projected-address <ADDRESS>> [OPTIONS]
       twilio-participants create --chat-service-sid <IS…> --from <FILE|-> [--concurrency <N>] [OPTIONS]
       twilio-participants create --demo <--identity <IDENTITY>|--messaging-binding.address <ADDRESS>|…> [OPTIONS]")]
    Create(CreateArgs),
    /// Fetch one participant by SID (MB…) or identity.
    #[command(override_usage = "\
twilio-participants fetch --chat-service-sid <IS…> --conversation-sid <CH…|UNIQUE_NAME> --sid <MB…|IDENTITY> [OPTIONS]
       twilio-participants fetch --demo [--sid <MB…|IDENTITY>] [OPTIONS]")]
    Fetch(FetchArgs),
    /// Change fields of a participant; only the flags given are sent.
    #[command(override_usage = "\
twilio-participants update --chat-service-sid <IS…> --conversation-sid <CH…|UNIQUE_NAME> --sid <MB…> [OPTIONS]
       twilio-participants update --demo [--sid <MB…>] [OPTIONS]")]
    Update(UpdateArgs),
    /// Remove a participant from the conversation, or from every conversation it is in.
    #[command(override_usage = "\
twilio-participants remove --chat-service-sid <IS…> --conversation-sid <CH…|UNIQUE_NAME> --sid <MB…> [OPTIONS]
       twilio-participants remove --chat-service-sid <IS…> <--identity <IDENTITY>|--address <ADDRESS>> --all-conversations [--concurrency <N>] [--dry-run] [OPTIONS]
       twilio-participants remove --demo [--sid <MB…>] [OPTIONS]
       twilio-participants remove --demo --identity agent-7 --all-conversations [OPTIONS]")]
    Remove(RemoveArgs),
    /// List the conversations a participant (a chat identity or an address) is in.
    #[command(override_usage = "\
twilio-participants conversations --chat-service-sid <IS…> <--identity <IDENTITY>|--address <ADDRESS>> [OPTIONS]
       twilio-participants conversations --demo <--identity <IDENTITY>|--address <ADDRESS>> [OPTIONS]")]
    Conversations(bulk::ConversationsArgs),
    /// Receive Twilio's participant webhooks and Event Streams deliveries locally: verify
    /// each, print each participant event once (token from TWILIO_AUTH_TOKEN).
    #[command(override_usage = "\
twilio-participants listen --port <PORT> --public-url <ORIGIN> [--host <HOST>] [-o <FORMAT>]")]
    Listen(listen::ListenArgs),
    /// Sign or verify a webhook request's X-Twilio-Signature (token from TWILIO_AUTH_TOKEN).
    Webhook {
        #[command(subcommand)]
        action: webhook::WebhookCommand,
    },
    /// Run a local fake of the API with the demo data until Ctrl-C; print the shell
    /// `export` lines that point this tool, the crate or curl at it.
    #[command(after_help = "\
Its state lasts while it runs: a participant one command creates, the next one fetches. In
one terminal: `twilio-participants fake`; in another, after pasting its export lines:
`twilio-participants create --identity bob`, then `twilio-participants fetch --sid bob`.
The credentials are the fake's own (not secrets); it speaks plain HTTP.")]
    Fake(fake::FakeArgs),
    /// Print a shell completion script: `twilio-participants completions bash >
    /// ~/.local/share/bash-completion/completions/twilio-participants`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// The flags of `list`.
#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    target: Target,
    /// The most participants to list.
    #[arg(long)]
    limit: Option<u64>,
    /// Participants per request (1 to 100; default 100).
    #[arg(long)]
    page_size: Option<u32>,
}

/// The flags of `create`.
#[derive(Args, Debug)]
struct CreateArgs {
    #[command(flatten)]
    endpoint: Endpoint,
    /// The conversation's SID (CH…) or unique name (default: TWILIO_CONVERSATION_SID).
    /// Required unless --demo or --from.
    #[arg(
        long,
        value_name = "CH…|UNIQUE_NAME",
        conflicts_with_all = ["demo", "from"]
    )]
    conversation_sid: Option<String>,
    /// Create many participants: one JSON object per line, with `conversation_sid` and the
    /// fields under these flags' names (`identity`, `messaging_binding.address`, …);
    /// `-` reads stdin. Every line is checked before anything is sent.
    #[arg(
        long,
        value_name = "FILE|-",
        conflicts_with_all = [
            "identity", "address", "proxy_address", "projected_address", "attributes",
            "role_sid", "date_created", "date_updated", "x_twilio_webhook_enabled",
        ]
    )]
    from: Option<String>,
    /// With --from: how many conversations are worked on at once (1 to 64; default 8).
    #[arg(long, value_name = "N", requires = "from", value_parser = bulk::concurrency)]
    concurrency: Option<u32>,
    /// The chat identity of a Conversations User. A participant needs this, or one of the
    /// two addresses below.
    #[arg(long)]
    identity: Option<String>,
    /// The participant's address, e.g. +15558675310 or whatsapp:+15558675310.
    #[arg(long = "messaging-binding.address")]
    address: Option<String>,
    /// The Twilio address the participant talks to.
    #[arg(long = "messaging-binding.proxy-address")]
    proxy_address: Option<String>,
    /// The address shown to others in a group MMS.
    #[arg(long = "messaging-binding.projected-address")]
    projected_address: Option<String>,
    #[command(flatten)]
    common: WriteFields,
}

/// The flags of `fetch`.
#[derive(Args, Debug)]
struct FetchArgs {
    #[command(flatten)]
    target: Target,
    /// The participant's SID (MB…) or identity. Required unless --demo, which defaults to
    /// the demo's first participant.
    #[arg(long, value_name = "MB…|IDENTITY", required_unless_present = "demo")]
    sid: Option<String>,
}

/// The flags of `update`.
#[derive(Args, Debug)]
struct UpdateArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    participant: Participant,
    /// A new chat identity.
    #[arg(long)]
    identity: Option<String>,
    /// A new proxy address; `null` removes it.
    #[arg(long = "messaging-binding.proxy-address")]
    proxy_address: Option<String>,
    /// A new projected address; `null` removes it.
    #[arg(long = "messaging-binding.projected-address")]
    projected_address: Option<String>,
    /// The index of the last message the participant has read.
    #[arg(long)]
    last_read_message_index: Option<i64>,
    /// The timestamp of the last message the participant has read.
    #[arg(long)]
    last_read_timestamp: Option<String>,
    #[command(flatten)]
    common: WriteFields,
}

/// The flags of `remove`.
#[derive(Args, Debug)]
struct RemoveArgs {
    #[command(flatten)]
    endpoint: Endpoint,
    /// The conversation's SID (CH…) or unique name (default: TWILIO_CONVERSATION_SID).
    /// Required unless --demo or --all-conversations.
    #[arg(
        long,
        value_name = "CH…|UNIQUE_NAME",
        conflicts_with_all = ["demo", "all_conversations"]
    )]
    conversation_sid: Option<String>,
    /// The participant's SID (MB…). Required unless --demo (which defaults to the demo's
    /// first participant) or --all-conversations.
    #[arg(
        long,
        value_name = "MB…",
        required_unless_present_any = ["demo", "all_conversations"],
        conflicts_with = "all_conversations"
    )]
    sid: Option<String>,
    #[command(flatten)]
    who: bulk::Who,
    /// Remove the participant named by --identity or --address from every conversation of
    /// the service it is in.
    #[arg(long, requires = "who")]
    all_conversations: bool,
    /// With --all-conversations: how many conversations are worked on at once (1 to 64;
    /// default 8).
    #[arg(long, value_name = "N", requires = "all_conversations", value_parser = bulk::concurrency)]
    concurrency: Option<u32>,
    /// With --all-conversations: list what would be removed and send no DELETE.
    #[arg(long, requires = "all_conversations")]
    dry_run: bool,
    /// Whether the service's webhooks fire for this change.
    #[arg(long, value_name = "true|false")]
    x_twilio_webhook_enabled: Option<bool>,
}

/// Where requests go and which conversation they name.
#[derive(Args, Debug)]
struct Target {
    #[command(flatten)]
    endpoint: Endpoint,
    /// The conversation's SID (CH…) or unique name (default: TWILIO_CONVERSATION_SID).
    /// Required unless --demo.
    #[arg(long, value_name = "CH…|UNIQUE_NAME", conflicts_with = "demo")]
    conversation_sid: Option<String>,
}

/// Where requests go: the service, the server, and how the answers are printed.
#[derive(Args, Debug)]
struct Endpoint {
    /// The SID of the Conversation Service (IS…; default: TWILIO_CHAT_SERVICE_SID).
    /// Required unless --demo.
    #[arg(long, value_name = "IS…")]
    chat_service_sid: Option<String>,
    /// Output format: json is one document written when the command ends (an array for
    /// many items), jsonl one object per line as each is known.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Columns)]
    output: Format,
    /// Send requests here instead of Twilio (a mock, a proxy, `fake`; default:
    /// TWILIO_BASE_URL).
    #[arg(long)]
    base_url: Option<String>,
    /// Twilio region, e.g. ie1.
    #[arg(long)]
    region: Option<String>,
    /// Twilio edge, e.g. dublin.
    #[arg(long)]
    edge: Option<String>,
    /// The most one operation may take, its retries and any wait for an outage to end
    /// included (default 90). A bulk command whose item outlasts it starts no new item.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    call_timeout: Option<u64>,
    /// Run against a local fake of the API holding demo conversations; no account needed.
    /// One-shot: each run starts a new fake, so what one command writes the next does not
    /// see (for that, run `twilio-participants fake`).
    #[arg(long, conflicts_with_all = ["chat_service_sid", "base_url", "region", "edge"])]
    demo: bool,
}

/// The participant an update names.
#[derive(Args, Debug)]
struct Participant {
    /// The participant's SID (MB…). Required unless --demo, which defaults to the demo's
    /// first participant.
    #[arg(long, value_name = "MB…", required_unless_present = "demo")]
    sid: Option<String>,
}

/// Fields create and update share.
#[derive(Args, Debug)]
struct WriteFields {
    /// Metadata as JSON text, e.g. '{"nickname":"Al"}'.
    #[arg(long)]
    attributes: Option<String>,
    /// The role's SID (RL…).
    #[arg(long)]
    role_sid: Option<String>,
    /// When the participant was created (RFC 3339).
    #[arg(long)]
    date_created: Option<chrono::DateTime<chrono::Utc>>,
    /// When the participant was last updated (RFC 3339).
    #[arg(long)]
    date_updated: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the service's webhooks fire for this change.
    #[arg(long, value_name = "true|false")]
    x_twilio_webhook_enabled: Option<bool>,
}

/// How the program failed, which decides the exit code.
enum Failure {
    /// Bad input or configuration: nothing was sent (exit 2).
    Usage(String),
    /// The API or the network failed, or the output could not be written (exit 1).
    Remote(String),
    /// A write was sent and its answer lost, so it may have happened (exit 3); `advice`
    /// says what to look up before retrying.
    OutcomeUnknown {
        message: String,
        advice: &'static str,
    },
    /// A bulk write stopped by Ctrl-C, every outcome known (exit 130).
    Interrupted(String),
}

impl Failure {
    /// The exit code and what stderr says. Messages can quote the server's text, so control
    /// characters in them are escaped as in `columns` output: none reaches the terminal.
    fn report(self) -> ExitCode {
        let (code, message, advice) = match self {
            Failure::Usage(message) => (2, message, None),
            Failure::Remote(message) => (1, message, None),
            Failure::OutcomeUnknown { message, advice } => (3, message, Some(advice)),
            Failure::Interrupted(message) => (130, message, None),
        };
        eprintln!("error: {}", output::escape(&message, false));
        if let Some(advice) = advice {
            eprintln!("{advice}");
        }
        ExitCode::from(code)
    }
}

/// What the tool says of a library error: its message, and for a write whose outcome is
/// unknown the cause the library keeps as `source()` (the 5xx answer, the timeout…).
pub fn error_text(error: &Error) -> String {
    match error {
        Error::OutcomeUnknown { cause, .. } => format!("{error} (what was lost: {cause})"),
        _ => error.to_string(),
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match error {
            Error::OutcomeUnknown { .. } => Failure::OutcomeUnknown {
                message: error_text(&error),
                advice: FETCH_BEFORE_RETRYING,
            },
            _ if error.is_local() => Failure::Usage(error.to_string()),
            _ => Failure::Remote(error.to_string()),
        }
    }
}

/// Maps a write's error; when its outcome is unknown, `advice` tells what to look up.
fn write_failure(advice: &'static str) -> impl FnOnce(Error) -> Failure {
    move |error| match Failure::from(error) {
        Failure::OutcomeUnknown { message, .. } => Failure::OutcomeUnknown { message, advice },
        other => other,
    }
}

impl From<twilio_conversations::InvalidSid> for Failure {
    fn from(error: twilio_conversations::InvalidSid) -> Self {
        Failure::Usage(error.to_string())
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        // A closed stdout (`| head`) is normal use: end quietly, as Unix tools do.
        if error.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        Failure::Remote(format!("cannot write the output: {error}"))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        eprintln!(
            "error: name an operation (list, create, fetch, update, remove, conversations, \
             webhook, listen, fake, completions); try `twilio-participants list --demo`, or --help"
        );
        return ExitCode::from(2);
    };
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// Runs one command: each has its own function, named after it.
async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::List(args) => list(args).await,
        Command::Create(args) => create(args).await,
        Command::Fetch(args) => fetch(args).await,
        Command::Update(args) => update(args).await,
        Command::Remove(args) => remove(args).await,
        Command::Conversations(args) => bulk::conversations(args).await,
        Command::Webhook { action } => webhook::run(action),
        Command::Listen(args) => listen::listen(args).await,
        Command::Fake(args) => fake::run(args).await,
        Command::Completions { shell } => completions(shell),
    }
}

/// A client, its service and a conversation's handle, from the flags or the demo (whose
/// fake server lives as long as the session).
struct Session {
    client: Client,
    service: ServiceSid,
    /// The conversation the flags name (in the demo, the demo conversation by default).
    participants: ParticipantsHandler,
    format: Format,
    demo: Option<FakeServer>,
}

impl Session {
    /// A session on `conversation` (the bulk commands name none); `in_flight` raises the
    /// client's cap on requests in flight when a bulk command asks for more at once.
    async fn open(
        endpoint: Endpoint,
        conversation: Option<String>,
        in_flight: Option<u32>,
    ) -> Result<Self, Failure> {
        let call_timeout = endpoint.call_timeout.map(Duration::from_secs);
        let (client, service, demo) = if endpoint.demo {
            let fake = FakeServer::start()
                .await
                .map_err(|e| Failure::Remote(format!("cannot start the demo server: {e}")))?;
            let service: ServiceSid = DEMO_SERVICE.parse()?;
            demo_data(&fake, &service)?;
            eprintln!(
                "demo: a local fake of the API at {} holding a conversation of \
                 {DEMO_PARTICIPANTS} participants, and {DEMO_AGENT} in {} conversations",
                fake.base_url(),
                DEMO_AGENT_CONVERSATIONS
            );
            let client = Client::builder()
                .base_url(fake.base_url())
                .credentials(fake.credentials())
                .given(in_flight, ClientBuilder::max_concurrent_requests)
                .given(call_timeout, ClientBuilder::call_timeout)
                .build()?;
            (client, service, Some(fake))
        } else {
            let service = match endpoint.chat_service_sid {
                Some(sid) => sid.parse()?,
                None => {
                    let sid = from_env(SERVICE_VARIABLE).ok_or_else(|| {
                        Failure::Usage(format!(
                            "--chat-service-sid (or {SERVICE_VARIABLE}) is required, or --demo"
                        ))
                    })?;
                    sid.parse().map_err(|e| {
                        Failure::Usage(format!("{SERVICE_VARIABLE} is not valid: {e}"))
                    })?
                }
            };
            let base_url = endpoint.base_url.or_else(|| from_env("TWILIO_BASE_URL"));
            let client = configured(
                base_url,
                endpoint.region,
                endpoint.edge,
                in_flight,
                call_timeout,
            )?;
            (client, service, None)
        };
        let conversation = match (conversation, &demo) {
            (Some(conversation), _) => conversation,
            (None, Some(_)) => DEMO_CONVERSATION.to_owned(),
            // The bulk commands name no conversation.
            (None, None) => String::new(),
        };
        Ok(Self {
            participants: client.participants(&service, conversation),
            client,
            service,
            format: endpoint.output,
            demo,
        })
    }

    /// The participant named by `--sid`, or in the demo the first one.
    fn participant(&self, given: Option<String>) -> Result<String, Failure> {
        match (given, &self.demo) {
            (Some(sid), _) => Ok(sid),
            (None, Some(fake)) => {
                let service: ServiceSid = DEMO_SERVICE.parse()?;
                let first = fake
                    .participants(&service, DEMO_CONVERSATION)
                    .into_iter()
                    .find_map(|p| p.sid)
                    .ok_or_else(|| Failure::Remote("the demo has no participants".into()))?;
                eprintln!("demo: using participant {first}");
                Ok(first.to_string())
            }
            (None, None) => Err(Failure::Usage("--sid is required".into())),
        }
    }

    /// Prints one participant in the session's format.
    fn print_one(&self, participant: &twilio_conversations::Participant) -> Result<(), Failure> {
        let mut out = Output::new(self.format, io::BufWriter::new(io::stdout().lock()), false);
        out.item(participant)?;
        Ok(out.finish()?)
    }

    /// Prints what a write did to one participant in the session's format (see
    /// [`output::outcome`]).
    fn print_outcome(&self, sid: &str, outcome: &str, sentence: &str) -> Result<(), Failure> {
        let mut out = io::BufWriter::new(io::stdout().lock());
        output::outcome(self.format, &mut out, sid, outcome, sentence)?;
        Ok(io::Write::flush(&mut out)?)
    }
}

/// The variable that gives `--chat-service-sid` its default.
const SERVICE_VARIABLE: &str = "TWILIO_CHAT_SERVICE_SID";
/// The variable that gives `--conversation-sid` its default.
const CONVERSATION_VARIABLE: &str = "TWILIO_CONVERSATION_SID";

/// An environment variable's value, when it is set and not empty.
fn from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The conversation a one-conversation command works on: `--conversation-sid`, else
/// `TWILIO_CONVERSATION_SID`; in the demo, none given means the demo conversation.
fn conversation(given: Option<String>, demo: bool) -> Result<Option<String>, Failure> {
    if given.is_some() || demo {
        return Ok(given);
    }
    from_env(CONVERSATION_VARIABLE).map(Some).ok_or_else(|| {
        Failure::Usage(format!(
            "--conversation-sid (or {CONVERSATION_VARIABLE}) is required, or --demo"
        ))
    })
}

/// Calls a builder's setter only for a flag that was given:
/// `create.given(identity, CreateParticipant::identity)`.
trait Given: Sized {
    fn given<T>(self, value: Option<T>, set: impl FnOnce(Self, T) -> Self) -> Self {
        match value {
            Some(value) => set(self, value),
            None => self,
        }
    }
}

impl<B> Given for B {}

/// Applies the flags of update that create shares (create's are applied by
/// [`bulk::CreateFields::request`], for `create` and `create --from` alike).
macro_rules! write_fields {
    ($builder:expr, $fields:expr) => {{
        let WriteFields {
            attributes,
            role_sid,
            date_created,
            date_updated,
            x_twilio_webhook_enabled,
        } = $fields;
        $builder
            .given(attributes, |b, json| b.attributes_text(json))
            .given(role_sid, |b, role| b.role_sid(role))
            .given(date_created, |b, date| b.date_created(date))
            .given(date_updated, |b, date| b.date_updated(date))
            .given(x_twilio_webhook_enabled, |b, on| b.webhook_enabled(on))
    }};
}

/// `list`: streams the participants to stdout; `-o json` is written only once the whole
/// list arrived, so stdout holds valid JSON or nothing.
async fn list(args: ListArgs) -> Result<(), Failure> {
    let named = conversation(args.target.conversation_sid, args.target.endpoint.demo)?;
    let session = Session::open(args.target.endpoint, named, None).await?;
    let request = session
        .participants
        .list_request()
        .given(args.page_size, ListParticipants::page_size)
        .given(args.limit, ListParticipants::limit);
    let mut out = Output::new(
        session.format,
        io::BufWriter::new(io::stdout().lock()),
        true,
    );
    // JSON formats pass each participant's JSON through as the API sent it instead of
    // decoding it and encoding it again; the others need its fields.
    if out.passes_json_through() {
        write_list(request.raw_stream(), &mut out, Output::raw_item).await?;
    } else {
        write_list(request.stream(), &mut out, Output::item).await?;
    }
    Ok(out.finish()?)
}

/// Writes every participant of `participants` with `write`, with a progress line on a
/// terminal's stderr.
async fn write_list<T: Send + 'static, W: io::Write>(
    mut participants: PageStream<T>,
    out: &mut Output<W>,
    write: fn(&mut Output<W>, &T) -> io::Result<()>,
) -> Result<(), Failure> {
    let progress = io::stderr().is_terminal();
    let mut count = 0u64;
    while let Some(participant) = participants.try_next().await? {
        count += 1;
        write(out, &participant)?;
        if progress && count.is_multiple_of(100) {
            eprint!(
                "\r{count} participants, {} pages",
                participants.pages_fetched()
            );
        }
    }
    if progress && count >= 100 {
        eprint!("\r\x1b[2K");
    }
    Ok(())
}

/// `create`: adds a participant and prints it. Refuses, with nothing sent, a participant
/// with neither an identity nor an address.
async fn create(args: CreateArgs) -> Result<(), Failure> {
    if let Some(from) = args.from {
        let items = bulk::read_creations(&from)?;
        let session = Session::open(args.endpoint, None, args.concurrency).await?;
        return bulk::create_all(&session, items, args.concurrency).await;
    }
    let WriteFields {
        attributes,
        role_sid,
        date_created,
        date_updated,
        x_twilio_webhook_enabled,
    } = args.common;
    let fields = bulk::CreateFields {
        identity: args.identity,
        address: args.address,
        proxy_address: args.proxy_address,
        projected_address: args.projected_address,
        attributes,
        role_sid,
        date_created,
        date_updated,
        webhook_enabled: x_twilio_webhook_enabled,
    };
    if !fields.name_a_participant() {
        return Err(Failure::Usage(
            "a participant needs --identity (chat), --messaging-binding.address (SMS, \
             WhatsApp) or --messaging-binding.projected-address (group MMS)"
                .into(),
        ));
    }
    let named = conversation(args.conversation_sid, args.endpoint.demo)?;
    let session = Session::open(args.endpoint, named, None).await?;
    let created = fields
        .request(session.participants.create())
        .send()
        .await
        .map_err(write_failure(
            "the participant may exist: look for it (fetch --sid IDENTITY, or list) before \
             creating it again",
        ))?;
    session.print_one(&created)
}

/// `fetch`: prints one participant, named by SID or identity.
async fn fetch(args: FetchArgs) -> Result<(), Failure> {
    let named = conversation(args.target.conversation_sid, args.target.endpoint.demo)?;
    let session = Session::open(args.target.endpoint, named, None).await?;
    let sid = session.participant(args.sid)?;
    let fetched = session.participants.fetch(sid).await?;
    session.print_one(&fetched)
}

/// `update`: changes the fields given and prints the participant. `null` is Twilio's way
/// to remove a binding field, passed through as given.
async fn update(args: UpdateArgs) -> Result<(), Failure> {
    let fields = &args.common;
    let nothing_to_change = args.identity.is_none()
        && args.proxy_address.is_none()
        && args.projected_address.is_none()
        && args.last_read_message_index.is_none()
        && args.last_read_timestamp.is_none()
        && fields.attributes.is_none()
        && fields.role_sid.is_none()
        && fields.date_created.is_none()
        && fields.date_updated.is_none();
    if nothing_to_change {
        return Err(Failure::Usage(
            "nothing to change: give at least one field (--identity, --attributes, \
             --role-sid, --last-read-message-index, --last-read-timestamp, \
             --messaging-binding.proxy-address, --messaging-binding.projected-address, \
             --date-created, --date-updated)"
                .into(),
        ));
    }
    let named = conversation(args.target.conversation_sid, args.target.endpoint.demo)?;
    let session = Session::open(args.target.endpoint, named, None).await?;
    let sid = session.participant(args.participant.sid)?;
    let update = session
        .participants
        .update(sid)
        .given(args.identity, UpdateParticipant::identity)
        .given(args.proxy_address, UpdateParticipant::proxy_address)
        .given(args.projected_address, UpdateParticipant::projected_address)
        .given(
            args.last_read_message_index,
            UpdateParticipant::last_read_message_index,
        )
        .given(
            args.last_read_timestamp,
            UpdateParticipant::last_read_timestamp,
        );
    let updated = write_fields!(update, args.common)
        .send()
        .await
        .map_err(write_failure(
            "the update may have happened: fetch the participant before retrying",
        ))?;
    session.print_one(&updated)
}

/// `remove`: removes a participant and prints what happened to it; with
/// `--all-conversations`, from every conversation it is in (see [`bulk::remove_everywhere`]).
async fn remove(args: RemoveArgs) -> Result<(), Failure> {
    let who = args.who.participant();
    if args.all_conversations {
        let session = Session::open(args.endpoint, None, args.concurrency).await?;
        let who = who.ok_or_else(|| Failure::Usage(bulk::NAME_THE_PARTICIPANT.into()))?;
        return bulk::remove_everywhere(
            &session,
            who,
            args.concurrency,
            args.dry_run,
            args.x_twilio_webhook_enabled,
        )
        .await;
    }
    if who.is_some() {
        return Err(Failure::Usage(
            "--identity and --address remove a participant from every conversation it is in: \
             add --all-conversations (and --dry-run to see where first), or name one \
             conversation's participant with --conversation-sid and --sid"
                .into(),
        ));
    }
    let named = conversation(args.conversation_sid, args.endpoint.demo)?;
    let session = Session::open(args.endpoint, named, None).await?;
    let sid = session.participant(args.sid)?;
    let deletion = session
        .participants
        .delete(&sid)
        .given(
            args.x_twilio_webhook_enabled,
            DeleteParticipant::webhook_enabled,
        )
        .send()
        .await
        .map_err(write_failure(
            "the participant may be gone: fetch it before retrying",
        ))?;
    let (outcome, sentence) = match deletion {
        Deletion::AlreadyGone => (
            "already_gone",
            format!(
                "{sid} was already gone, most likely removed by an earlier attempt whose \
                 answer was lost"
            ),
        ),
        // `Deleted`, and any kind of removal newer than this tool.
        _ => ("deleted", format!("removed {sid}")),
    };
    session.print_outcome(&sid, outcome, &sentence)
}

/// `completions`: prints the completion script of `shell` on stdout.
fn completions(shell: Shell) -> Result<(), Failure> {
    // Into memory first: `generate` panics on a write error, such as a closed stdout.
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "twilio-participants",
        &mut script,
    );
    let mut out = io::stdout().lock();
    io::Write::write_all(&mut out, &script)?;
    Ok(io::Write::flush(&mut out)?)
}

/// A client from the environment (credentials, region, edge) and the flags, which take
/// precedence. Without credentials, a `--base-url` (a mock) gets placeholder ones.
fn configured(
    base_url: Option<String>,
    region: Option<String>,
    edge: Option<String>,
    in_flight: Option<u32>,
    call_timeout: Option<Duration>,
) -> Result<Client, Failure> {
    let (credentials, placeholder) = match Credentials::from_env() {
        Ok(credentials) => (credentials, false),
        Err(Error::MissingCredentials { missing }) if base_url.is_none() => {
            return Err(Failure::Usage(format!(
                "no Twilio credentials (set {missing}); try `twilio-participants list --demo` \
                 to see it work without an account"
            )))
        }
        Err(Error::MissingCredentials { .. }) => (
            Credentials::auth_token(testing::FAKE_ACCOUNT_SID.parse()?, "placeholder"),
            true,
        ),
        Err(other) => return Err(other.into()),
    };
    let mut builder: ClientBuilder = Client::builder()
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
    let client = builder
        .given(in_flight, ClientBuilder::max_concurrent_requests)
        .given(call_timeout, ClientBuilder::call_timeout)
        .build()?;
    if placeholder {
        eprintln!("warning: no Twilio credentials set; sending placeholder credentials");
    }
    Ok(client)
}
