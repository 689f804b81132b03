//! One call through the generated client: the hooks that hand its requests to the
//! [`Transport`], the call deadline, and the translation of the generated client's errors
//! (and Twilio's error body) into this crate's [`Error`]. What a failed call means for each
//! operation is decided afterwards, in `operation.rs`.

use std::{future::Future, sync::Arc};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};

use crate::{
    config::Config,
    error::{root_cause, AnswerMeta, ApiError, Error, TimeoutKind},
    generated::{self, types::TwilioError},
    models,
    operation::{Exchange, Operation},
    sid::ParticipantSid,
    transport::{CallRecord, Transport, MAX_BODY_BYTES},
};

/// The generated client's error type.
pub(crate) type WireError = progenitor_client::Error<TwilioError>;

impl ClientHooks<Transport> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        self.inner().prepare(request);
        Ok(())
    }

    async fn post<E>(
        &self,
        _: &reqwest::Result<reqwest::Response>,
        _: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if self.inner().oversized() {
            return Err(progenitor_client::Error::Custom(
                "the response body is too large".into(),
            ));
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        self.inner().execute(self.client(), request).await
    }
}

/// Runs one operation through the generated client under the call deadline and reports
/// what happened on the wire.
pub(crate) async fn call<T, Fut>(
    config: &Arc<Config>,
    operation: Operation,
    send: impl FnOnce(generated::Client) -> Fut,
) -> Exchange<T>
where
    Fut: Future<Output = Result<ResponseValue<T>, WireError>>,
{
    let record = Arc::new(CallRecord::default());
    let wire = generated::Client::new_with_client(
        &config.base_url,
        config.http.clone(),
        Transport {
            config: config.clone(),
            record: record.clone(),
            operation,
            deadline: tokio::time::Instant::now() + config.call_timeout,
        },
    );
    let mut answered_sid = None;
    let mut unreadable_success = false;
    let result = match tokio::time::timeout(config.call_timeout, send(wire)).await {
        Ok(Ok(value)) => Ok(value.into_inner()),
        Ok(Err(error)) => match map_error(config, error, &record, operation).await {
            Mapped::Failed(error) => Err(error),
            Mapped::UnreadableSuccess { error, sid } => {
                unreadable_success = true;
                answered_sid = sid;
                Err(error)
            }
        },
        Err(_) if record.held() => Err(Error::Unavailable {
            limit: config.call_timeout,
            attempts: record.attempts(),
            status: record.status(),
        }),
        Err(_) => Err(Error::Timeout {
            kind: TimeoutKind::Call,
            limit: config.call_timeout,
            attempts: record.attempts(),
        }),
    };
    Exchange {
        result,
        maybe_applied: record.maybe_applied() || unreadable_success,
        status: record.status(),
        answered_sid,
        attempts: record.attempts(),
    }
}

/// A wire error in this crate's terms.
enum Mapped {
    /// The call failed.
    Failed(Error),
    /// A success status whose body could not be read: whatever the call did, it did.
    UnreadableSuccess {
        error: Error,
        /// The participant SID the body showed, if any.
        sid: Option<ParticipantSid>,
    },
}

impl From<Error> for Mapped {
    fn from(error: Error) -> Self {
        Mapped::Failed(error)
    }
}

async fn map_error(
    config: &Config,
    error: WireError,
    record: &CallRecord,
    operation: Operation,
) -> Mapped {
    use progenitor_client::Error as Wire;
    let meta = record.answer_meta();
    match error {
        Wire::ErrorResponse(response) => {
            let status = response.status().as_u16();
            api_error(status, response.into_inner(), meta).into()
        }
        Wire::InvalidResponsePayload(body, error) => match record.status() {
            Some(status) if status >= 400 => {
                Error::Api(Box::new(ApiError::from_raw(status, &body, meta))).into()
            }
            status => unreadable(decode_error(operation, &body, &error), status, &body),
        },
        Wire::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_default();
            let error = Error::Api(Box::new(ApiError::from_raw(status, &body, meta)));
            if (200..300).contains(&status) {
                unreadable(error, Some(status), &body)
            } else {
                error.into()
            }
        }
        Wire::CommunicationError(source)
        | Wire::ResponseBodyError(source)
        | Wire::InvalidUpgrade(source) => transport_error(config, source, meta.attempts).into(),
        Wire::Custom(message) => match record.oversized() {
            Some(size) => {
                let status = record.status().unwrap_or_default();
                let error = Error::ResponseTooLarge {
                    status,
                    limit: MAX_BODY_BYTES,
                    size,
                };
                if (200..300).contains(&status) {
                    unreadable(error, Some(status), &[])
                } else {
                    error.into()
                }
            }
            None => Error::Config(message).into(),
        },
        Wire::InvalidRequest(message) => Error::Config(message).into(),
    }
}

/// A success whose body could not be read: the error, and the participant SID the body
/// showed (a write that happened, reported with what is known of it).
fn unreadable(error: Error, status: Option<u16>, body: &[u8]) -> Mapped {
    if !status.is_some_and(|s| (200..300).contains(&s)) {
        return error.into();
    }
    let sid = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("sid")?.as_str()?.parse().ok());
    Mapped::UnreadableSuccess { error, sid }
}

/// Decodes the body again to name the JSON path of the first value that does not fit.
fn decode_error(operation: Operation, body: &[u8], error: &serde_json::Error) -> Error {
    match operation {
        Operation::List => models::decode_page(body).err(),
        Operation::ListParticipantConversations => {
            models::decode_participant_conversations(body).err()
        }
        _ => models::decode_participant(body).err(),
    }
    .unwrap_or_else(|| Error::Decode {
        path: String::new(),
        message: error.to_string(),
    })
}

fn transport_error(config: &Config, source: reqwest::Error, attempts: u32) -> Error {
    if source.is_timeout() {
        let (kind, limit) = if source.is_connect() {
            (TimeoutKind::Connect, config.connect_timeout)
        } else {
            (TimeoutKind::Attempt, config.timeout)
        };
        return Error::Timeout {
            kind,
            limit,
            attempts,
        };
    }
    Error::Transport {
        cause: root_cause(&source),
        error: source,
        attempts,
    }
}

/// Twilio's JSON error body as an [`ApiError`].
fn api_error(status: u16, body: TwilioError, meta: AnswerMeta) -> Error {
    Error::Api(Box::new(ApiError {
        status,
        code: body.code,
        message: body.message,
        more_info: body.more_info,
        details: body.details.unwrap_or_default(),
        body_excerpt: None,
        request_id: meta.request_id,
        retry_after: meta.retry_after,
        attempts: meta.attempts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_reads_as_one_sentence() {
        let body = TwilioError {
            code: Some(20404),
            message: Some("The requested resource was not found".into()),
            more_info: Some("https://www.twilio.com/docs/errors/20404".into()),
            status: Some(404),
            details: None,
        };
        let meta = AnswerMeta {
            attempts: 1,
            ..AnswerMeta::default()
        };
        assert_eq!(
            api_error(404, body, meta).to_string(),
            "the API answered HTTP 404 with Twilio error 20404: The requested resource was not \
             found (see https://www.twilio.com/docs/errors/20404)"
        );
    }

    #[test]
    fn an_unreadable_success_keeps_the_sid_it_showed() {
        let body = br#"{"sid": "MB0123456789abcdef0123456789abcdef", "date_created": 7}"#;
        let decode = Error::Decode {
            path: "date_created".into(),
            message: "invalid type".into(),
        };
        let Mapped::UnreadableSuccess { sid, .. } = unreadable(decode, Some(201), body) else {
            panic!("a 201 is a success");
        };
        assert_eq!(sid.unwrap().as_str(), "MB0123456789abcdef0123456789abcdef");
        let failed = Error::Config("x".into());
        assert!(matches!(
            unreadable(failed, Some(500), body),
            Mapped::Failed(_)
        ));
    }
}
