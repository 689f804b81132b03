//! A fake holding many small conversations, for the tests of work across conversations.

use twilio_conversations::{testing::FakeServer, ParticipantSid};

use super::service;

/// The name of conversation `i`.
pub fn room(i: usize) -> String {
    format!("room-{i:03}")
}

/// A fake holding `count` conversations of three participants each.
pub async fn fake_with_rooms(count: usize) -> FakeServer {
    let fake = FakeServer::start().await.unwrap();
    for i in 0..count {
        fake.add_generated(&service(), room(i), 3, i as u64);
    }
    fake
}

/// The first participant of each of the first `count` conversations, as the work list of
/// a removal.
pub fn first_participants(fake: &FakeServer, count: usize) -> Vec<(String, ParticipantSid)> {
    (0..count)
        .map(|i| {
            let first = fake.participants(&service(), room(i))[0].clone();
            (room(i), first.sid.unwrap())
        })
        .collect()
}
