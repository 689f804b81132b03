//! Lists the participants of a conversation, page after page.
//!
//! ```sh
//! cargo run --example list --features testing        # against the in-process fake
//! TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=… TWILIO_CHAT_SERVICE_SID=IS… TWILIO_CONVERSATION_SID=CH… \
//!     cargo run --example list --features testing    # against Twilio
//! ```

mod common;

use std::process::ExitCode;

use twilio_conversations::prelude::*;

#[tokio::main]
async fn main() -> ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let setup =
        common::setup(|fake, service| fake.add_generated(service, "support-room-7", 340, 7))
            .await?;
    let participants = setup
        .client
        .participants(&setup.service, setup.conversation.as_str());

    let mut stream = participants.stream();
    let (mut chat, mut messaging) = (0, 0);
    while let Some(participant) = stream.try_next().await? {
        let sid = participant
            .sid
            .as_ref()
            .map(|sid| sid.as_str())
            .unwrap_or("-");
        match (&participant.identity, &participant.messaging_binding) {
            (Some(identity), _) => {
                chat += 1;
                println!("{sid}  chat     {identity}");
            }
            (None, Some(binding)) => {
                messaging += 1;
                let address = binding.address.as_deref().unwrap_or("-");
                let proxy = binding.proxy_address.as_deref().unwrap_or("-");
                println!("{sid}  address  {address} via {proxy}");
            }
            (None, None) => println!("{sid}  (no identity or address)"),
        }
    }
    println!(
        "{} participants: {chat} chat, {messaging} by address",
        chat + messaging
    );
    if let Some(fake) = &setup.fake {
        let pages = fake.requests();
        let sizes: Vec<_> = pages
            .iter()
            .filter_map(|r| r.query_value("PageSize"))
            .collect();
        println!(
            "the fake answered {} page requests (page sizes {sizes:?})",
            pages.len()
        );
    }
    Ok(())
}
