//! Creates, fetches, updates and deletes a participant.
//!
//! ```sh
//! cargo run --example write --features testing       # against the in-process fake
//! TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=… TWILIO_CHAT_SERVICE_SID=IS… TWILIO_CONVERSATION_SID=CH… \
//!     cargo run --example write --features testing   # against Twilio (adds, then removes, "example-alice")
//! ```

mod common;

use std::process::ExitCode;

use twilio_conversations::{Creation, Deletion};

#[tokio::main]
async fn main() -> ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let setup =
        common::setup(|fake, service| fake.add_conversation(service, "support-room-7", [])).await?;
    let participants = setup
        .client
        .participants(&setup.service, setup.conversation.as_str());

    // Create; running the example again after an interruption adds nobody twice.
    let identity = "example-alice";
    let created = participants
        .create()
        .identity(identity)
        .attributes(&serde_json::json!({ "nickname": "Al", "team": "support" }))
        .send_unless_present()
        .await?;
    match &created {
        Creation::Created(participant) => {
            let sid = participant
                .sid
                .as_ref()
                .map(|sid| sid.as_str())
                .unwrap_or("-");
            println!("created {sid} as {identity}");
        }
        Creation::AlreadyPresent { code } => {
            println!("{identity} was already there (Twilio code {code})")
        }
        _ => println!("{identity}: {created:?}"),
    }

    // Fetch by identity (or by MB… SID); update only the fields set.
    let fetched = participants.fetch(identity).await?;
    let sid = fetched
        .sid
        .ok_or("Twilio answered a participant without a SID")?;
    println!(
        "fetched {sid}: attributes {}",
        fetched.attributes.as_deref().unwrap_or("{}")
    );
    let updated = participants.update(&sid).last_read_message_index(7).await?;
    println!(
        "updated {sid}: last read message {:?}",
        updated.last_read_message_index
    );

    // Delete; a participant already gone counts as done.
    match participants.delete(&sid).send_unless_gone().await? {
        Deletion::Deleted => println!("deleted {sid}"),
        Deletion::AlreadyGone => println!("{sid} was already gone"),
        other => println!("{sid}: {other:?}"),
    }
    if let Some(fake) = &setup.fake {
        println!("the requests the fake received:");
        for request in fake.requests() {
            println!(
                "  {} {}{}",
                request.method,
                request.path,
                if request.body.is_empty() {
                    String::new()
                } else {
                    format!(" {}", request.body)
                }
            );
        }
    }
    Ok(())
}
