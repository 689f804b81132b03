//! The hooks that carry every generated request: credentials, user agent, timeout, retries,
//! tracing, and a bounded read of the body.
//!
//! [`Transport`] is the generated client's inner value. A fresh one is made per call so that
//! its [`CallRecord`] can tell the wrapper what happened on the wire: how many attempts,
//! the last status and headers, and whether a write may have been applied.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Instant, SystemTime},
};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, USER_AGENT};
use tracing::Instrument;

use crate::{
    client::Config,
    error::AnswerMeta,
    generated,
    retry::{is_retryable_error, is_retryable_status, retry_after, Operation},
};

/// The most a response body may hold; a page of 100 participants is about 70 KiB.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The response header Twilio names each request with.
const REQUEST_ID: &str = "twilio-request-id";

/// The generated client's inner value: shared configuration plus this call's record.
#[derive(Clone, Debug)]
pub struct Transport {
    pub(crate) config: Arc<Config>,
    pub(crate) record: Arc<CallRecord>,
    pub(crate) operation: Operation,
}

/// What happened on the wire during one call, for building a precise error.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    attempts: AtomicU32,
    status: AtomicU16,
    /// The size of the last attempt's body when it was over the limit; 0 otherwise.
    oversized: AtomicU64,
    /// An attempt reached the server (or may have) without a clear "not processed" answer:
    /// a timeout or broken connection after sending, or a 5xx.
    maybe_applied: AtomicBool,
    /// An attempt is on the wire right now (for a call cut short by its deadline).
    in_flight: AtomicBool,
    headers: Mutex<AnswerMeta>,
}

impl CallRecord {
    /// Attempts started so far; 0 when nothing was sent.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// The status of the last response received, if any.
    pub(crate) fn status(&self) -> Option<u16> {
        match self.status.load(Ordering::Relaxed) {
            0 => None,
            status => Some(status),
        }
    }

    /// The size of a body that exceeded [`MAX_BODY_BYTES`], if one did.
    pub(crate) fn oversized(&self) -> Option<u64> {
        match self.oversized.load(Ordering::Relaxed) {
            0 => None,
            size => Some(size),
        }
    }

    /// True when an attempt may have been applied by the server without its answer
    /// arriving, including an attempt still on the wire.
    pub(crate) fn maybe_applied(&self) -> bool {
        self.maybe_applied.load(Ordering::Relaxed) || self.in_flight.load(Ordering::Relaxed)
    }

    /// The last answer's `Retry-After`, if it sent one.
    fn retry_after(&self) -> Option<std::time::Duration> {
        self.headers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retry_after
    }

    /// The last answer's request id and `Retry-After`, with the attempt count.
    pub(crate) fn answer_meta(&self) -> AnswerMeta {
        let mut meta = self
            .headers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        meta.attempts = self.attempts();
        meta
    }
}

impl ClientHooks<Transport> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let config = &self.inner().config;
        let headers = request.headers_mut();
        // progenitor adds `api-version: <info.version>`; Twilio has no such header.
        headers.remove("api-version");
        headers.insert(AUTHORIZATION, config.authorization.clone());
        headers.insert(USER_AGENT, config.user_agent.clone());
        *request.timeout_mut() = Some(config.timeout);
        Ok(())
    }

    async fn post<E>(
        &self,
        _: &reqwest::Result<reqwest::Response>,
        _: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        match self.inner().record.oversized() {
            // The wrapper reads the size and status from the record.
            Some(_) => Err(progenitor_client::Error::Custom(
                "the response body is too large".into(),
            )),
            None => Ok(()),
        }
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let Transport {
            config,
            record,
            operation,
        } = self.inner();
        let policy = &config.retry;
        let mut request = request;
        let mut retry = 0;
        loop {
            let attempt = retry + 1;
            record.attempts.store(attempt, Ordering::Relaxed);
            // Bodies here are in memory (a form or nothing), so a copy always exists.
            let spare = (retry < policy.retries())
                .then(|| request.try_clone())
                .flatten();
            let span = tracing::debug_span!(
                "twilio_request",
                method = %request.method(),
                path = %request.url().path(),
                attempt,
                status = tracing::field::Empty,
                elapsed_ms = tracing::field::Empty,
            );
            let started = Instant::now();
            record.in_flight.store(true, Ordering::Relaxed);
            let outcome = send_buffered(self.client(), request, record)
                .instrument(span.clone())
                .await;
            record.in_flight.store(false, Ordering::Relaxed);
            span.record("elapsed_ms", started.elapsed().as_millis() as u64);
            let hint = match &outcome {
                Ok(response) => {
                    let status = response.status().as_u16();
                    span.record("status", status);
                    // A 429 was not processed; any other retryable status may have been.
                    if status != 429 && is_retryable_status(status) {
                        record.maybe_applied.store(true, Ordering::Relaxed);
                    }
                    if !operation.may_repeat_status(status) {
                        return outcome;
                    }
                    // Read once, by `send_buffered`: the wait obeyed is the wait reported.
                    record.retry_after()
                }
                Err(error) => {
                    // A failed connect sent nothing; anything later may have reached Twilio.
                    if !error.is_connect() {
                        record.maybe_applied.store(true, Ordering::Relaxed);
                    }
                    if !is_retryable_error(error) || !operation.may_repeat_error(error) {
                        return outcome;
                    }
                    None
                }
            };
            let Some(spare) = spare else {
                return outcome;
            };
            // A server that asks for a longer wait than the policy allows gets its answer
            // back at once: the error carries the wait, and the caller can schedule it.
            let Some(delay) = policy.delay(retry, hint) else {
                return outcome;
            };
            tracing::debug!(parent: &span, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
            request = spare;
            retry += 1;
        }
    }
}

/// Sends one attempt and reads the whole body (at most [`MAX_BODY_BYTES`]) so that a broken
/// body counts as a failed attempt, then hands the generated code an equivalent response.
async fn send_buffered(
    client: &reqwest::Client,
    request: reqwest::Request,
    record: &CallRecord,
) -> reqwest::Result<reqwest::Response> {
    record.oversized.store(0, Ordering::Relaxed);
    let mut response = client.execute(request).await?;
    let status = response.status();
    record.status.store(status.as_u16(), Ordering::Relaxed);
    let version = response.version();
    let headers = std::mem::take(response.headers_mut());
    *record
        .headers
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = AnswerMeta {
        request_id: headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        retry_after: retry_after(&headers, SystemTime::now()),
        attempts: 0,
    };
    // With a declared length (hyper enforces it) read the body in one go, as any client
    // would; without one, read chunk by chunk and stop at the limit.
    let (body, oversized) = match response.content_length() {
        Some(length) if length > MAX_BODY_BYTES as u64 => (reqwest::Body::from(Vec::new()), length),
        Some(_) => (reqwest::Body::from(response.bytes().await?), 0),
        None => {
            let mut body = Vec::new();
            let mut oversized = 0;
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    oversized = body.len() + chunk.len();
                    body = Vec::new();
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            (reqwest::Body::from(body), oversized as u64)
        }
    };
    record.oversized.store(oversized, Ordering::Relaxed);
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}
