//! Repeats and order: what at-least-once delivery in no guaranteed order requires of a
//! receiver.
//!
//! Event Streams delivers each event **at least once** (a retried batch brings the same
//! `id` again) and **in no guaranteed order** (an `updated` can arrive after the `removed`
//! that followed it). [`SeenEvents`] remembers, within a fixed capacity, the event ids seen
//! and the newest `time` seen for each participant, and says of each new event whether it is
//! new, a repeat to drop, or older than what is already known about its participant.

use std::collections::{hash_map::Entry, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};

use super::change::ParticipantChange;
use crate::sid::ParticipantSid;

/// What [`SeenEvents::observe`] makes of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Seen {
    /// Not seen before, and not older than anything seen for its participant: act on it.
    New,
    /// Its id was seen already (a redelivery): drop it.
    Repeat,
    /// Not seen before, but older than the newest event seen for the same participant
    /// (e.g. an `updated` arriving after the `removed`): usually ignored, as the state it
    /// describes was already superseded.
    Late {
        /// The newest time seen for the participant.
        newest: DateTime<Utc>,
    },
}

/// Event ids and, per participant, the newest event time seen: each bounded by a capacity,
/// the oldest entry forgotten first (a ring). A repeat that arrives after its id was
/// forgotten counts as new again, so choose a capacity above the events a retry can span
/// (Twilio retries for hours; a day's events is a safe choice). Keep one per channel when
/// acting on [`Seen::Late`]: a webhook's dates are to the second, an Event Streams `time` to
/// the millisecond, so times from the two do not order each other.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use twilio_conversations::webhook::{Seen, SeenEvents};
///
/// let participant = "MB0123456789abcdef0123456789abcdef".parse().unwrap();
/// let at = |s: i64| Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap();
/// let mut seen = SeenEvents::new(10_000);
/// assert_eq!(seen.observe(Some("EV-removed"), Some(&participant), Some(at(20))), Seen::New);
/// assert_eq!(seen.observe(Some("EV-removed"), Some(&participant), Some(at(20))), Seen::Repeat);
/// // An update made before the removal, delivered after it.
/// assert_eq!(
///     seen.observe(Some("EV-updated"), Some(&participant), Some(at(10))),
///     Seen::Late { newest: at(20) }
/// );
/// ```
#[derive(Clone, Debug)]
pub struct SeenEvents {
    capacity: usize,
    ids: HashSet<String>,
    id_order: VecDeque<String>,
    newest: HashMap<ParticipantSid, DateTime<Utc>>,
    participant_order: VecDeque<ParticipantSid>,
}

impl SeenEvents {
    /// Remembers at most `capacity` event ids and `capacity` participants (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            ids: HashSet::new(),
            id_order: VecDeque::new(),
            newest: HashMap::new(),
            participant_order: VecDeque::new(),
        }
    }

    /// Records an event and says what it is. `id`: the event's id (`None`, as for a
    /// webhook, is never a repeat); `participant` and `time`: whom it is about and when it
    /// happened (without both, it is never late). A repeat changes nothing; a late event's
    /// id is remembered, so that its own redelivery is a repeat.
    pub fn observe(
        &mut self,
        id: Option<&str>,
        participant: Option<&ParticipantSid>,
        time: Option<DateTime<Utc>>,
    ) -> Seen {
        if let Some(id) = id {
            if self.ids.contains(id) {
                return Seen::Repeat;
            }
            self.remember_id(id);
        }
        let (Some(participant), Some(time)) = (participant, time) else {
            return Seen::New;
        };
        match self.newest.entry(participant.clone()) {
            Entry::Occupied(mut newest) => {
                if time < *newest.get() {
                    return Seen::Late {
                        newest: *newest.get(),
                    };
                }
                newest.insert(time);
                Seen::New
            }
            Entry::Vacant(vacant) => {
                vacant.insert(time);
                self.participant_order.push_back(participant.clone());
                if self.participant_order.len() > self.capacity {
                    if let Some(oldest) = self.participant_order.pop_front() {
                        self.newest.remove(&oldest);
                    }
                }
                Seen::New
            }
        }
    }

    /// [`observe`](Self::observe) with a change's event id, participant and time.
    pub fn observe_change(&mut self, change: &ParticipantChange) -> Seen {
        self.observe(
            change.event_id.as_deref(),
            change.participant_sid.as_ref(),
            change.time,
        )
    }

    /// How many event ids are remembered now.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no event id is remembered.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn remember_id(&mut self, id: &str) {
        self.ids.insert(id.to_owned());
        self.id_order.push_back(id.to_owned());
        if self.id_order.len() > self.capacity {
            if let Some(oldest) = self.id_order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    fn participant(n: u8) -> ParticipantSid {
        format!("MB{n:032x}").parse().unwrap()
    }

    #[test]
    fn repeats_are_dropped_and_late_events_named() {
        let mut seen = SeenEvents::new(100);
        let alice = participant(1);
        assert_eq!(
            seen.observe(Some("a"), Some(&alice), Some(at(5))),
            Seen::New
        );
        assert_eq!(
            seen.observe(Some("a"), Some(&alice), Some(at(5))),
            Seen::Repeat
        );
        assert_eq!(
            seen.observe(Some("b"), Some(&alice), Some(at(1))),
            Seen::Late { newest: at(5) }
        );
        // The late event's redelivery is a repeat.
        assert_eq!(
            seen.observe(Some("b"), Some(&alice), Some(at(1))),
            Seen::Repeat
        );
        // Same time: not older.
        assert_eq!(
            seen.observe(Some("c"), Some(&alice), Some(at(5))),
            Seen::New
        );
        // Another participant has its own order.
        assert_eq!(
            seen.observe(Some("d"), Some(&participant(2)), Some(at(0))),
            Seen::New
        );
        // Without an id or a time: never a repeat, never late.
        assert_eq!(seen.observe(None, Some(&alice), Some(at(9))), Seen::New);
        assert_eq!(seen.observe(None, Some(&alice), Some(at(9))), Seen::New);
        assert_eq!(seen.observe(Some("e"), Some(&alice), None), Seen::New);
    }

    #[test]
    fn the_oldest_are_forgotten_beyond_the_capacity() {
        let mut seen = SeenEvents::new(2);
        for id in ["a", "b", "c"] {
            assert_eq!(seen.observe(Some(id), None, None), Seen::New);
        }
        assert_eq!(seen.len(), 2);
        assert_eq!(seen.observe(Some("c"), None, None), Seen::Repeat);
        assert_eq!(seen.observe(Some("a"), None, None), Seen::New);
        let mut seen = SeenEvents::new(2);
        seen.observe(None, Some(&participant(1)), Some(at(9)));
        seen.observe(None, Some(&participant(2)), Some(at(9)));
        seen.observe(None, Some(&participant(3)), Some(at(9)));
        // Participant 1 was forgotten: an older event for it is no longer known late.
        assert_eq!(
            seen.observe(None, Some(&participant(1)), Some(at(0))),
            Seen::New
        );
        assert_eq!(
            seen.observe(None, Some(&participant(3)), Some(at(0))),
            Seen::Late { newest: at(9) }
        );
    }
}
