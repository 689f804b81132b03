//! `twilio-participants`: the participants of a Twilio conversation from the command line,
//! with twilio-cli's flag names (`twilio api:conversations:v1:services:conversations:participants:*`).
//!
//! ```sh
//! twilio-participants list --demo
//! twilio-participants create --chat-service-sid IS… --conversation-sid CH… --identity alice
//! ```

mod output;

use std::{
    io::{self, IsTerminal},
    process::ExitCode,
};

use clap::{Args, Parser, Subcommand};
use output::{Format, Output};
use twilio_conversations::{
    prelude::*,
    testing::{self, FakeServer},
    Client, ClientBuilder, ConversationSid, Credentials, Deletion, Error, ParticipantsHandler,
    ServiceSid,
};

/// The demo conversation: a few hundred participants over several pages.
const DEMO_SERVICE: &str = "ISdec0de000000000000000000000000a1";
const DEMO_CONVERSATION: &str = "CHdec0de000000000000000000000000b2";
const DEMO_PARTICIPANTS: usize = 340;

const AFTER_HELP: &str = "\
Credentials come from the environment: TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN, or
TWILIO_ACCOUNT_SID with TWILIO_API_KEY and TWILIO_API_SECRET. TWILIO_REGION and TWILIO_EDGE
choose a region and edge (--region and --edge override them).

Exit codes: 0 success; 2 bad input or configuration (nothing was sent); 1 the API or the
network failed (Twilio's code and message on stderr).

Try it without an account: twilio-participants list --demo";

#[derive(Parser, Debug)]
#[command(
    name = "twilio-participants",
    version,
    about = "The participants of a Twilio conversation: list, create, fetch, update, remove",
    after_help = AFTER_HELP,
    arg_required_else_help = false
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the participants of a conversation.
    List {
        #[command(flatten)]
        target: Target,
        /// The most participants to list.
        #[arg(long)]
        limit: Option<u64>,
        /// Participants per request (1 to 100; default 100).
        #[arg(long)]
        page_size: Option<u32>,
    },
    /// Add a participant: a chat identity, or a messaging binding address.
    Create {
        #[command(flatten)]
        target: Target,
        /// The chat identity of a Conversations User.
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
    },
    /// Fetch one participant by SID (MB…) or identity.
    Fetch {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        participant: Participant,
    },
    /// Change fields of a participant; only the flags given are sent.
    Update {
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
    },
    /// Remove a participant from the conversation.
    Remove {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        participant: Participant,
        /// Whether the service's webhooks fire for this change.
        #[arg(long, value_name = "true|false")]
        x_twilio_webhook_enabled: Option<bool>,
    },
}

/// Where requests go and which conversation they name.
#[derive(Args, Debug)]
struct Target {
    /// The SID of the Conversation Service (IS…).
    #[arg(long, required_unless_present = "demo")]
    chat_service_sid: Option<String>,
    /// The conversation's SID (CH…) or unique name.
    #[arg(long, required_unless_present = "demo")]
    conversation_sid: Option<String>,
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
    /// Run against a local fake of the API holding a demo conversation; no account needed.
    #[arg(long, conflicts_with_all = ["chat_service_sid", "conversation_sid", "base_url", "region", "edge"])]
    demo: bool,
}

/// The participant an operation names.
#[derive(Args, Debug)]
struct Participant {
    /// The participant's SID (MB…); fetch also takes an identity. With --demo, defaults to
    /// the demo's first participant.
    #[arg(long, required_unless_present = "demo")]
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
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        if error.is_local() {
            Failure::Usage(error.to_string())
        } else {
            Failure::Remote(error.to_string())
        }
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
            "error: name an operation (list, create, fetch, update, remove); \
             try `twilio-participants list --demo`, or --help"
        );
        return ExitCode::from(2);
    };
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Remote(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// A client and the conversation's handle, from the flags or the demo (whose fake server
/// lives as long as the returned guard).
struct Session {
    participants: ParticipantsHandler,
    format: Format,
    demo: Option<FakeServer>,
}

impl Session {
    async fn open(target: Target) -> Result<Self, Failure> {
        if target.demo {
            let fake = FakeServer::start()
                .await
                .map_err(|e| Failure::Remote(format!("cannot start the demo server: {e}")))?;
            let service: ServiceSid = DEMO_SERVICE.parse()?;
            let conversation: ConversationSid = DEMO_CONVERSATION.parse()?;
            fake.add_generated(&service, &conversation, DEMO_PARTICIPANTS, 2026);
            eprintln!(
                "demo: a local fake of the API at {} holding {DEMO_PARTICIPANTS} participants",
                fake.base_url()
            );
            let client = Client::builder()
                .base_url(fake.base_url())
                .credentials(fake.credentials())
                .build()?;
            return Ok(Self {
                participants: client.participants(&service, conversation),
                format: target.output,
                demo: Some(fake),
            });
        }
        let service: ServiceSid = target.chat_service_sid.unwrap_or_default().parse()?;
        let client = configured(target.base_url, target.region, target.edge)?;
        Ok(Self {
            participants: client
                .participants(&service, target.conversation_sid.unwrap_or_default()),
            format: target.output,
            demo: None,
        })
    }

    /// The participant named by `--sid`, or in the demo the first one.
    fn participant(&self, given: Participant) -> Result<String, Failure> {
        match (given.sid, &self.demo) {
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

    fn print_one(&self, participant: &twilio_conversations::Participant) -> Result<(), Failure> {
        let mut out = Output::new(self.format, io::BufWriter::new(io::stdout().lock()), false);
        out.item(participant)?;
        Ok(out.finish()?)
    }
}

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::List {
            target,
            limit,
            page_size,
        } => {
            let session = Session::open(target).await?;
            let mut request = session.participants.list_request();
            if let Some(size) = page_size {
                request = request.page_size(size);
            }
            if let Some(limit) = limit {
                request = request.limit(limit);
            }
            list(request.stream(), session.format).await
        }
        Command::Create {
            target,
            identity,
            address,
            proxy_address,
            projected_address,
            common,
        } => {
            let session = Session::open(target).await?;
            let mut create = session.participants.create();
            if let Some(identity) = identity {
                create = create.identity(identity);
            }
            if let Some(address) = address {
                create = create.address(address);
            }
            if let Some(address) = proxy_address {
                create = create.proxy_address(address);
            }
            if let Some(address) = projected_address {
                create = create.projected_address(address);
            }
            if let Some(json) = common.attributes {
                create = create.attributes_text(json);
            }
            if let Some(role) = common.role_sid {
                create = create.role_sid(role);
            }
            if let Some(date) = common.date_created {
                create = create.date_created(date);
            }
            if let Some(date) = common.date_updated {
                create = create.date_updated(date);
            }
            if let Some(enabled) = common.x_twilio_webhook_enabled {
                create = create.webhook_enabled(enabled);
            }
            let created = create.send().await?;
            session.print_one(&created)
        }
        Command::Fetch {
            target,
            participant,
        } => {
            let session = Session::open(target).await?;
            let sid = session.participant(participant)?;
            let fetched = session.participants.fetch(sid).await?;
            session.print_one(&fetched)
        }
        Command::Update {
            target,
            participant,
            identity,
            proxy_address,
            projected_address,
            last_read_message_index,
            last_read_timestamp,
            common,
        } => {
            let session = Session::open(target).await?;
            let sid = session.participant(participant)?;
            let mut update = session.participants.update(sid);
            if let Some(identity) = identity {
                update = update.identity(identity);
            }
            // `null` is Twilio's way to remove a binding field, passed through as given.
            if let Some(address) = proxy_address {
                update = update.proxy_address(address);
            }
            if let Some(address) = projected_address {
                update = update.projected_address(address);
            }
            if let Some(index) = last_read_message_index {
                update = update.last_read_message_index(index);
            }
            if let Some(timestamp) = last_read_timestamp {
                update = update.last_read_timestamp(timestamp);
            }
            if let Some(json) = common.attributes {
                update = update.attributes_text(json);
            }
            if let Some(role) = common.role_sid {
                update = update.role_sid(role);
            }
            if let Some(date) = common.date_created {
                update = update.date_created(date);
            }
            if let Some(date) = common.date_updated {
                update = update.date_updated(date);
            }
            if let Some(enabled) = common.x_twilio_webhook_enabled {
                update = update.webhook_enabled(enabled);
            }
            let updated = update.send().await?;
            session.print_one(&updated)
        }
        Command::Remove {
            target,
            participant,
            x_twilio_webhook_enabled,
        } => {
            let session = Session::open(target).await?;
            let sid = session.participant(participant)?;
            let mut delete = session.participants.delete(&sid);
            if let Some(enabled) = x_twilio_webhook_enabled {
                delete = delete.webhook_enabled(enabled);
            }
            let note = match delete.send().await? {
                Deletion::AlreadyGone => " (it was already gone after a retry)",
                _ => "",
            };
            eprintln!("removed {sid}{note}");
            Ok(())
        }
    }
}

/// Streams the participants to stdout in `format`; `-o json` is written only once the
/// whole list arrived, so stdout holds valid JSON or nothing.
async fn list(
    mut participants: twilio_conversations::ParticipantStream,
    format: Format,
) -> Result<(), Failure> {
    let progress = io::stderr().is_terminal();
    let stdout = io::stdout();
    let mut out = Output::new(format, io::BufWriter::new(stdout.lock()), true);
    let mut count = 0u64;
    while let Some(participant) = participants.try_next().await? {
        count += 1;
        out.item(&participant)?;
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
    Ok(out.finish()?)
}

/// A client from the environment (credentials, region, edge) and the flags, which take
/// precedence. Without credentials, a `--base-url` (a mock) gets placeholder ones.
fn configured(
    base_url: Option<String>,
    region: Option<String>,
    edge: Option<String>,
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
    let client = builder.build()?;
    if placeholder {
        eprintln!("warning: no Twilio credentials set; sending placeholder credentials");
    }
    Ok(client)
}
