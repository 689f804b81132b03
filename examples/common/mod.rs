//! What the examples share: a client for real Twilio when `TWILIO_ACCOUNT_SID` is set,
//! otherwise one for the crate's in-process fake, filled with demo data.

use std::{error::Error, process::ExitCode};

use twilio_conversations::{testing::FakeServer, Client, ServiceSid};

/// The Conversation Service of the demo.
const DEMO_SERVICE: &str = "IS0123456789abcdef0123456789abcdef";

/// Where an example works.
pub struct Setup {
    /// The client: Twilio's, or the fake's.
    pub client: Client,
    /// The Conversation Service (`TWILIO_CHAT_SERVICE_SID`, or the demo's).
    pub service: ServiceSid,
    /// The conversation (`TWILIO_CONVERSATION_SID`: a `CH…` SID or unique name, or the demo's).
    pub conversation: String,
    /// The fake, in the demo; it stops when dropped.
    pub fake: Option<FakeServer>,
}

/// Real Twilio when `TWILIO_ACCOUNT_SID` is set (with `TWILIO_AUTH_TOKEN`,
/// `TWILIO_CHAT_SERVICE_SID` and `TWILIO_CONVERSATION_SID`); otherwise the fake, where `demo` adds
/// the demo's conversations.
pub async fn setup(demo: impl FnOnce(&FakeServer, &ServiceSid)) -> Result<Setup, Box<dyn Error>> {
    if std::env::var_os("TWILIO_ACCOUNT_SID").is_some() {
        let required = |name: &str| {
            std::env::var(name)
                .map_err(|_| format!("{name} is not set (needed with TWILIO_ACCOUNT_SID)"))
        };
        return Ok(Setup {
            client: Client::from_env()?,
            service: required("TWILIO_CHAT_SERVICE_SID")?.parse()?,
            conversation: required("TWILIO_CONVERSATION_SID")?,
            fake: None,
        });
    }
    let fake = FakeServer::start().await?;
    let service: ServiceSid = DEMO_SERVICE.parse()?;
    demo(&fake, &service);
    eprintln!(
        "demo: a fake Twilio on {} (set TWILIO_ACCOUNT_SID for the real one)",
        fake.base_url()
    );
    Ok(Setup {
        client: Client::builder()
            .base_url(fake.base_url())
            .credentials(fake.credentials())
            .build()?,
        service,
        conversation: "support-room-7".to_owned(),
        fake: Some(fake),
    })
}

/// The exit status of a run, printing its error as a sentence (`Display`).
pub fn exit(result: Result<(), Box<dyn Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
