//! The library's one list-then-remove routine: a participant out of every conversation of
//! a service it is in, by the participant SIDs the listing gives (the tool's
//! `remove --all-conversations` runs it too).

use std::{future::IntoFuture, pin::Pin};

use crate::{
    error::{Error, Result},
    fleet::{Fleet, FleetRun},
    models::ParticipantConversation,
    operation::Deletion,
    participant_conversations::ParticipantRef,
};

/// A removal of a participant from every conversation it is in; made by
/// [`Fleet::remove_everywhere`]. `.await` it to list and delete at once, or call
/// [`plan`](Self::plan) to see what would be removed first (a dry run), then
/// [`RemovalPlan::run`].
#[derive(Debug)]
#[must_use = "a removal does nothing until it is awaited or planned"]
pub struct RemoveEverywhere {
    fleet: Fleet,
    who: ParticipantRef,
    webhook_enabled: Option<bool>,
}

impl RemoveEverywhere {
    pub(crate) fn new(fleet: Fleet, who: ParticipantRef) -> Self {
        Self {
            fleet,
            who,
            webhook_enabled: None,
        }
    }

    /// Sends `X-Twilio-Webhook-Enabled` with every delete: `true` asks Twilio to call the
    /// service's webhooks for these removals.
    pub fn webhook_enabled(mut self, enabled: bool) -> Self {
        self.webhook_enabled = Some(enabled);
        self
    }

    /// Lists where the participant is (the whole list, before any delete, so deleting
    /// does not shift its pages) and deletes nothing: the dry run.
    ///
    /// # Errors
    /// The listing's error.
    pub async fn plan(self) -> Result<RemovalPlan> {
        let entries = self
            .fleet
            .client()
            .participant_conversations(self.fleet.service(), self.who)
            .list()
            .await?;
        Ok(RemovalPlan {
            fleet: self.fleet,
            entries,
            webhook_enabled: self.webhook_enabled,
        })
    }

    /// Lists, then deletes: [`plan`](Self::plan) followed by [`RemovalPlan::run`].
    ///
    /// # Errors
    /// The listing's error; the deletes' errors come per item.
    pub async fn send(self) -> Result<FleetRun<Deletion>> {
        Ok(self.plan().await?.run())
    }
}

impl IntoFuture for RemoveEverywhere {
    type Output = Result<FleetRun<Deletion>>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// What a [`RemoveEverywhere`] found to remove: one entry per participant SID listed (an
/// address in one conversation twice, with two proxy addresses, is two entries).
#[derive(Debug)]
#[must_use = "a plan removes nothing until it is run"]
pub struct RemovalPlan {
    fleet: Fleet,
    entries: Vec<ParticipantConversation>,
    webhook_enabled: Option<bool>,
}

impl RemovalPlan {
    /// The entries the listing gave, in its order: each [`crate::FleetItem`] of
    /// [`run`](Self::run) has its entry's index.
    pub fn entries(&self) -> &[ParticipantConversation] {
        &self.entries
    }

    /// Deletes each entry by the participant SID the listing gave (no extra fetch), at the
    /// fleet's concurrency. A participant already gone counts as done
    /// ([`Deletion::AlreadyGone`]), so running the removal again finishes an interrupted
    /// run; an entry without a participant SID fails with [`Error::InvalidInput`] and
    /// sends nothing.
    pub fn run(self) -> FleetRun<Deletion> {
        let webhook_enabled = self.webhook_enabled;
        self.fleet
            .run(self.entries, move |participants, found| async move {
                let sid = found.participant_sid.ok_or_else(|| Error::InvalidInput {
                    parameter: "Sid",
                    reason: "the listing gave no participant SID for this conversation".into(),
                })?;
                let delete = participants.delete(sid);
                match webhook_enabled {
                    Some(enabled) => delete.webhook_enabled(enabled),
                    None => delete,
                }
                .send_unless_gone()
                .await
            })
    }
}
