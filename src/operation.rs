//! The resource's operations, and for each the one place that says what its answers mean:
//! which failures it may repeat (read by the transport before every retry) and what a failed
//! call tells the caller (read by the handlers once the call is over).
//!
//! | operation | repeats | a call that failed after an attempt may have been applied |
//! | --- | --- | --- |
//! | list (participants or a participant's conversations), fetch | every retryable failure | the error as it is (reads change nothing) |
//! | create | a 429 or a connection never made (nothing processed) | [`Error::OutcomeUnknown`] |
//! | update | every retryable failure (the same fields set twice) | [`Error::OutcomeUnknown`] |
//! | delete | every retryable failure | a 404 on the retry is [`Deletion::AlreadyGone`]; otherwise [`Error::OutcomeUnknown`] |
//!
//! "May have been applied": a 5xx answer, a timeout or a broken connection after the
//! request left, an attempt still on the wire when the call deadline fired, or a 2xx whose
//! body could not be read.

use crate::{
    error::{Error, Result},
    retry::is_retryable_status,
    sid::ParticipantSid,
};

/// The resource's operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    List,
    Create,
    Fetch,
    Update,
    Delete,
    /// The conversations a participant is in.
    ListParticipantConversations,
}

impl Operation {
    /// The write this operation is, `None` for a read.
    fn write(self) -> Option<WriteOperation> {
        match self {
            Operation::Create => Some(WriteOperation::Create),
            Operation::Update => Some(WriteOperation::Update),
            Operation::Delete => Some(WriteOperation::Delete),
            Operation::List | Operation::Fetch | Operation::ListParticipantConversations => None,
        }
    }

    /// Create, update and delete: what Twilio limits per conversation, and what may have
    /// happened when an answer is lost.
    pub(crate) fn is_write(self) -> bool {
        self.write().is_some()
    }

    /// Whether a request answered with `status` may be sent again.
    pub(crate) fn may_repeat_status(self, status: u16) -> bool {
        match self {
            // Twilio did not process a 429; a 5xx may have created the participant.
            Operation::Create => status == 429,
            _ => is_retryable_status(status),
        }
    }

    /// Whether a request that failed with the (retryable) `error` may be sent again.
    pub(crate) fn may_repeat_error(self, error: &reqwest::Error) -> bool {
        match self {
            // Only a connection that was never made is certain to have sent nothing.
            Operation::Create => error.is_connect(),
            _ => true,
        }
    }

    /// What a finished call tells the caller: the result as it is, except that a write
    /// whose attempts may have been applied is never reported as a plain (perhaps
    /// retryable) error.
    pub(crate) fn conclude<T>(self, exchange: Exchange<T>) -> Result<T> {
        match (exchange.result, self.write()) {
            (Err(error), Some(operation)) if exchange.maybe_applied => Err(Error::OutcomeUnknown {
                operation,
                status: error.status().or(exchange.status),
                sid: exchange.answered_sid,
                attempts: exchange.attempts,
                cause: Box::new(error),
            }),
            (result, _) => result,
        }
    }
}

/// A write, as [`Error::OutcomeUnknown`] names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteOperation {
    /// Adding a participant.
    Create,
    /// Changing a participant.
    Update,
    /// Removing a participant.
    Delete,
}

impl std::fmt::Display for WriteOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WriteOperation::Create => "create",
            WriteOperation::Update => "update",
            WriteOperation::Delete => "delete",
        })
    }
}

/// What one call came to on the wire, before its operation gives it meaning.
#[derive(Debug)]
pub(crate) struct Exchange<T> {
    /// The decoded answer, or the error as the wire layer saw it.
    pub(crate) result: Result<T>,
    /// An attempt may have been applied without a clear answer saying so.
    pub(crate) maybe_applied: bool,
    /// The status of the last answer, if one arrived.
    pub(crate) status: Option<u16>,
    /// The participant SID a 2xx body showed when the body could not be decoded.
    pub(crate) answered_sid: Option<ParticipantSid>,
    /// Attempts made.
    pub(crate) attempts: u32,
}

/// How a delete ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deletion {
    /// Twilio answered 204: this request removed the participant.
    Deleted,
    /// The participant was not there (404/20404) after an earlier attempt of this call may
    /// have removed it (its answer was lost to a timeout, a cut connection or a 5xx); with
    /// [`crate::DeleteParticipant::send_unless_gone`], also when it was gone before.
    AlreadyGone,
}

/// How a create that tolerates an existing participant ended; see
/// [`crate::CreateParticipant::send_unless_present`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Creation<P> {
    /// Twilio answered 201: this request added the participant.
    Created(P),
    /// Twilio answered 409 with code 50433 (this identity is already a participant) or
    /// 50416 (this address and proxy address are already bound): the participant was there.
    AlreadyPresent {
        /// Twilio's code: 50433 or 50416.
        code: i64,
    },
}

/// Twilio's codes for "this participant is already in the conversation".
const ALREADY_PRESENT: [i64; 2] = [50433, 50416];

/// A create's result with an existing participant taken as done.
pub(crate) fn creation<P>(result: Result<P>) -> Result<Creation<P>> {
    match result {
        Ok(participant) => Ok(Creation::Created(participant)),
        Err(Error::Api(api))
            if api.status == 409 && api.code.is_some_and(|c| ALREADY_PRESENT.contains(&c)) =>
        {
            Ok(Creation::AlreadyPresent {
                code: api.code.unwrap_or_default(),
            })
        }
        Err(error) => Err(error),
    }
}

/// A delete's result with a participant already gone (404) taken as done.
pub(crate) fn gone(result: Result<Deletion>) -> Result<Deletion> {
    match result {
        Err(Error::Api(api)) if api.status == 404 => Ok(Deletion::AlreadyGone),
        other => other,
    }
}

/// What a delete's call means: see the module's table.
pub(crate) fn deletion(exchange: Exchange<()>) -> Result<Deletion> {
    match &exchange.result {
        Err(Error::Api(api)) if api.status == 404 && exchange.maybe_applied => {
            Ok(Deletion::AlreadyGone)
        }
        _ => Operation::Delete
            .conclude(exchange)
            .map(|()| Deletion::Deleted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, TimeoutKind};

    fn exchange<T>(result: Result<T>, maybe_applied: bool) -> Exchange<T> {
        Exchange {
            result,
            maybe_applied,
            status: None,
            answered_sid: None,
            attempts: 1,
        }
    }

    fn api(status: u16) -> Error {
        Error::Api(Box::new(ApiError::from_raw(
            status,
            b"",
            crate::error::AnswerMeta::default(),
        )))
    }

    #[test]
    fn create_is_repeated_only_when_it_cannot_have_been_processed() {
        for status in [500, 502, 503, 504] {
            assert!(!Operation::Create.may_repeat_status(status));
            assert!(Operation::Delete.may_repeat_status(status));
            assert!(Operation::Update.may_repeat_status(status));
        }
        assert!(Operation::Create.may_repeat_status(429));
        assert!(!Operation::Update.may_repeat_status(409));
    }

    #[test]
    fn a_write_that_may_have_happened_is_never_a_plain_error() {
        for operation in [Operation::Create, Operation::Update, Operation::Delete] {
            let concluded = operation.conclude::<()>(exchange(Err(api(503)), true));
            match concluded {
                Err(
                    error @ Error::OutcomeUnknown {
                        status: Some(503), ..
                    },
                ) => {
                    assert!(!error.is_retryable(), "{operation:?}");
                }
                other => panic!("{operation:?}: {other:?}"),
            }
        }
        // Reads report what happened; a write that surely was not applied too.
        assert!(matches!(
            Operation::Fetch.conclude::<()>(exchange(Err(api(503)), true)),
            Err(Error::Api(_))
        ));
        let timeout = Error::Timeout {
            kind: TimeoutKind::Connect,
            limit: std::time::Duration::from_secs(1),
            attempts: 1,
        };
        assert!(matches!(
            Operation::Create.conclude::<()>(exchange(Err(timeout), false)),
            Err(Error::Timeout { .. })
        ));
    }

    #[test]
    fn a_delete_that_meets_404_after_a_lost_answer_is_already_gone() {
        assert_eq!(
            deletion(exchange(Err(api(404)), true)).unwrap(),
            Deletion::AlreadyGone
        );
        assert!(matches!(
            deletion(exchange(Err(api(404)), false)),
            Err(Error::Api(api)) if api.status == 404
        ));
        assert_eq!(deletion(exchange(Ok(()), true)).unwrap(), Deletion::Deleted);
    }
}
