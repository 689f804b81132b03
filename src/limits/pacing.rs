//! Writes to one conversation, paced: Twilio limits participant create, update and delete
//! to 30 actions a second per conversation (reads are not limited), so a client that sends
//! more only collects 429s. Each conversation (keyed by service and conversation as named
//! in the path) gets a GCRA with no burst: a write starts no sooner than the spacing after
//! the previous write to the same conversation started.
//!
//! The spacing is `1.02 s / rate` (34 ms at 30 a second, 510 ms at 2): the first and the
//! last of any `rate + 1` writes in a row start 1.02 s apart, so a server that counts
//! arrivals in any one-second window does not see one write too many because the network
//! delayed one write 20 ms more than another. A small GCRA under a mutex
//! (one instant per conversation) is all this needs: `governor`'s keyed limiter would add a
//! dependency tree (dashmap, quanta, its own clock) for the same arithmetic, and it reads
//! its own clock where this one reads tokio's, which tests pause.
//!
//! Memory stays bounded: a conversation whose next free instant has passed is the same as
//! one never seen, so such entries are dropped whenever the map grows past
//! [`SWEEP_ABOVE`] entries.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

/// The default [`crate::ClientBuilder::conversation_write_rate`]: Twilio's published limit.
pub const DEFAULT_CONVERSATION_WRITE_RATE: u32 = 30;

/// The span, in microseconds, that `rate` writes are spread over: a second and 20 ms, so
/// that the first and the last of any `rate + 1` writes in a row are more than a second
/// apart by 20 ms, at any rate.
const HEADROOM_SECOND_US: u64 = 1_020_000;

/// Entries kept before idle ones are swept.
const SWEEP_ABOVE: usize = 256;

/// The pacing of every conversation's writes; see the module's documentation.
#[derive(Debug)]
pub(crate) struct WritePacer {
    /// `None`: pacing is off.
    spacing: Option<Duration>,
    /// By conversation: when its next write may start.
    next_free: Mutex<HashMap<String, Instant>>,
}

impl WritePacer {
    /// Paces each conversation to `rate` writes a second; 0 turns pacing off.
    pub(crate) fn new(rate: u32) -> Self {
        let spacing =
            (rate > 0).then(|| Duration::from_micros(HEADROOM_SECOND_US.div_ceil(u64::from(rate))));
        Self {
            spacing,
            next_free: Mutex::default(),
        }
    }

    fn next_free(&self) -> MutexGuard<'_, HashMap<String, Instant>> {
        self.next_free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// When a write to `conversation` may start (now, or later).
    pub(crate) fn ready_at(&self, conversation: &str) -> Instant {
        let now = Instant::now();
        self.next_free()
            .get(conversation)
            .map_or(now, |at| (*at).max(now))
    }

    /// Takes the slot of a write to `conversation` starting now, or says when to ask again.
    pub(crate) fn try_start(&self, conversation: &str) -> Result<(), Instant> {
        let Some(spacing) = self.spacing else {
            return Ok(());
        };
        let now = Instant::now();
        let mut next_free = self.next_free();
        if let Some(at) = next_free.get(conversation).filter(|at| **at > now) {
            return Err(*at);
        }
        if next_free.len() >= SWEEP_ABOVE {
            next_free.retain(|_, at| *at > now);
        }
        next_free.insert(conversation.to_owned(), now + spacing);
        Ok(())
    }

    /// Conversations remembered now (for tests of the sweep).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.next_free().len()
    }
}

/// The conversation a participant path names, `{service}/Conversations/{conversation}` as
/// written in the path, or `None` when the path is not a participant resource's.
pub(crate) fn conversation_key(path: &str) -> Option<&str> {
    let rest = path
        .find("/Services/")
        .map(|at| &path[at + "/Services/".len()..])?;
    let end = rest.find("/Participants")?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn writes_to_one_conversation_start_a_spacing_apart_others_do_not_wait() {
        let pacer = WritePacer::new(30);
        let started = Instant::now();
        let mut starts = Vec::new();
        while starts.len() < 31 {
            match pacer.try_start("IS1/CH1") {
                Ok(()) => starts.push(started.elapsed()),
                Err(at) => {
                    assert_eq!(pacer.ready_at("IS1/CH1"), at);
                    tokio::time::sleep_until(at).await;
                }
            }
            // Another conversation is never held back by this one.
            assert!(pacer
                .try_start(&format!("IS1/CH-other-{}", starts.len()))
                .is_ok());
        }
        assert_eq!(starts[1], Duration::from_millis(34));
        // 31 writes take more than a second: no one-second window holds more than 30.
        assert_eq!(starts[30], Duration::from_millis(30 * 34));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_conversations_are_forgotten() {
        let pacer = WritePacer::new(30);
        for i in 0..SWEEP_ABOVE {
            assert!(pacer.try_start(&format!("IS1/CH{i}")).is_ok());
        }
        assert_eq!(pacer.remembered(), SWEEP_ABOVE);
        tokio::time::sleep(Duration::from_millis(34)).await;
        assert!(pacer.try_start("IS1/CH-new").is_ok());
        assert_eq!(
            pacer.remembered(),
            1,
            "only the write just started is remembered"
        );
    }

    #[test]
    fn a_rate_of_zero_turns_pacing_off() {
        let pacer = WritePacer::new(0);
        for _ in 0..100 {
            assert!(pacer.try_start("IS1/CH1").is_ok());
        }
    }

    #[test]
    fn the_key_is_service_and_conversation() {
        assert_eq!(
            conversation_key("/v1/Services/IS1/Conversations/CH2/Participants/MB3"),
            Some("IS1/Conversations/CH2")
        );
        assert_eq!(
            conversation_key("/prefix/v1/Services/IS1/Conversations/room%2F7/Participants"),
            Some("IS1/Conversations/room%2F7")
        );
        assert_eq!(
            conversation_key("/v1/Services/IS1/ParticipantConversations"),
            None
        );
    }
}
