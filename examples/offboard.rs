//! Removes a participant from every conversation of a service it is in, then checks one
//! conversation (`TWILIO_CONVERSATION_SID`; the demo's `support-room-7`) no longer has it.
//!
//! ```sh
//! cargo run --example offboard --features testing                 # against the in-process fake
//! TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=… TWILIO_CHAT_SERVICE_SID=IS… TWILIO_CONVERSATION_SID=CH… \
//!     cargo run --example offboard --features testing -- agent-7  # against Twilio: removes agent-7 everywhere
//! ```

mod common;

use std::process::ExitCode;

use twilio_conversations::{prelude::*, Deletion, ParticipantRef};

#[tokio::main]
async fn main() -> ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let identity = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "agent-7".to_owned());
    let setup = common::setup(|fake, service| {
        // Rooms 1 to 7; the agent is in three of them.
        for room in 1..=7 {
            fake.add_generated(service, format!("support-room-{room}"), 20, room);
        }
    })
    .await?;
    if setup.fake.is_some() {
        let rooms = ["support-room-1", "support-room-4", "support-room-7"];
        let agent = identity.clone();
        let mut added = setup
            .client
            .fleet(&setup.service)
            .run(rooms, move |participants, _| {
                let identity = agent.clone();
                async move { participants.create().identity(identity).await }
            });
        while let Some(done) = added.next().await {
            done.result?;
        }
    }

    let mut removals = setup
        .client
        .fleet(&setup.service)
        .concurrency(4)
        .on_progress(|progress| {
            // "2/3 done, 0 failed" (the total is known here: the listing gave it).
            let total = progress.total.map(|t| format!("/{t}")).unwrap_or_default();
            eprintln!("{}{total} done, {} failed", progress.done, progress.failed)
        })
        .remove_everywhere(ParticipantRef::identity(identity.as_str()))
        .await?;
    let (mut removed, mut failed) = (0, 0);
    while let Some(done) = removals.next().await {
        let conversation = done.conversation.map(|c| c.to_string()).unwrap_or_default();
        match done.result {
            Ok(Deletion::Deleted) => {
                removed += 1;
                println!("{conversation}: removed {identity}");
            }
            Ok(Deletion::AlreadyGone) => {
                println!("{conversation}: {identity} was already gone")
            }
            Ok(other) => println!("{conversation}: {other:?}"),
            Err(e) => {
                failed += 1;
                println!("{conversation}: error: {e}");
            }
        }
    }
    println!("{identity}: removed from {removed} conversations, {failed} failed");

    // Check one conversation: the participant is no longer in it.
    let participants = setup
        .client
        .participants(&setup.service, setup.conversation.as_str());
    let still_there = participants
        .stream()
        .try_filter(|p| std::future::ready(p.identity.as_deref() == Some(identity.as_str())))
        .try_collect::<Vec<_>>()
        .await?;
    println!(
        "{}: {identity} present: {}",
        setup.conversation,
        !still_there.is_empty()
    );
    if failed > 0 {
        return Err(format!("{failed} removals failed").into());
    }
    Ok(())
}
