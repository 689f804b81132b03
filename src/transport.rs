//! Carries every generated request: credentials, user agent, timeout, the outage gate, the
//! pacing of a conversation's writes, the client-wide cap and pause, retries within the
//! budget and the call deadline, tracing, and a bounded read of the body.
//!
//! [`Transport`] is the generated client's inner value (the hooks that hand requests to it
//! are in `call.rs`). A fresh one is made per call so that its [`CallRecord`] can tell the
//! caller what happened on the wire: how many attempts, the last status and headers, and
//! whether a write may have been applied.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::SystemTime,
};

use reqwest::header::{AUTHORIZATION, USER_AGENT};
use tokio::time::Instant;
use tracing::Instrument;

use crate::{
    config::Config,
    error::AnswerMeta,
    limits::{conversation_key, Admission, Permit, RetryCause, Spending},
    operation::Operation,
    retry::{is_retryable_error, is_retryable_status, retry_after},
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
    /// When the whole call must be over: no retry waits past it.
    pub(crate) deadline: Instant,
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
    /// The call is waiting for an outage to end, or its attempt is the outage's probe (for
    /// a call cut short by its deadline).
    held: AtomicBool,
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

    /// True when the call deadline came while the request waited for an outage to end or
    /// was the outage's probe.
    pub(crate) fn held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
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

impl Transport {
    /// Adds what every request carries: credentials, the user agent, the attempt timeout.
    pub(crate) fn prepare(&self, request: &mut reqwest::Request) {
        let config = &self.config;
        let headers = request.headers_mut();
        // progenitor adds `api-version: <info.version>`; Twilio has no such header.
        headers.remove("api-version");
        headers.insert(AUTHORIZATION, config.authorization.clone());
        headers.insert(USER_AGENT, config.user_agent.clone());
        *request.timeout_mut() = Some(config.timeout);
    }

    /// Sends `request`, repeating it as the operation, the policy, the budget and the
    /// deadline allow; every attempt waits for the outage gate, the conversation's write
    /// pace and a place under the client's cap.
    pub(crate) async fn execute(
        &self,
        client: &reqwest::Client,
        mut request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        let Transport {
            config,
            record,
            operation,
            deadline,
        } = self;
        let retries = config.retry.retries();
        let paced = operation
            .is_write()
            .then(|| conversation_key(request.url().path()).map(str::to_owned))
            .flatten();
        let mut retry = 0;
        // What this call's retries have taken from the budget so far.
        let mut spending = Spending::default();
        // A write's 429, kept until its retry starts: returned instead when the wait for
        // the gate, the pace and the cap left less than an attempt before the deadline.
        let mut throttled_write: Option<reqwest::Response> = None;
        loop {
            // Every request sent counts, a failed probe too (`retry` counts only the
            // policy's retries).
            let attempt = record.attempts() + 1;
            // Bodies here are in memory (a form or nothing), so a copy always exists.
            let spare = (retry < retries).then(|| request.try_clone()).flatten();
            let span = tracing::debug_span!(
                "twilio_request",
                method = %request.method(),
                path = %request.url().path(),
                attempt,
                status = tracing::field::Empty,
                elapsed_ms = tracing::field::Empty,
            );
            let (admission, permit) = self.ready(paced.as_deref()).instrument(span.clone()).await;
            if let Some(answer) = throttled_write.take() {
                if Instant::now() + config.timeout > *deadline {
                    tracing::debug!(parent: &span, "no time left for a whole attempt: the 429 is the answer");
                    return Ok(answer);
                }
            }
            record.attempts.store(attempt, Ordering::Relaxed);
            let started = Instant::now();
            record.in_flight.store(true, Ordering::Relaxed);
            let outcome = send_buffered(client, request, record)
                .instrument(span.clone())
                .await;
            record.in_flight.store(false, Ordering::Relaxed);
            drop(permit);
            span.record("elapsed_ms", started.elapsed().as_millis() as u64);
            let failed = self.observe(&outcome);
            let (cause, hint) = match &outcome {
                Ok(response) => {
                    let status = response.status().as_u16();
                    span.record("status", status);
                    let throttled = status == 429;
                    if response.status().is_success() {
                        config.budget.succeeded(spending.tokens());
                    }
                    // A 429 was not processed; any other retryable status may have been.
                    if !throttled && is_retryable_status(status) {
                        record.maybe_applied.store(true, Ordering::Relaxed);
                    }
                    if !operation.may_repeat_status(status) {
                        return outcome;
                    }
                    let cause = if throttled {
                        RetryCause::Throttled
                    } else {
                        RetryCause::Failure
                    };
                    // Read once, by `send_buffered`: the wait obeyed is the wait reported.
                    (cause, record.retry_after())
                }
                Err(error) => {
                    // A failed connect sent nothing; anything later may have reached Twilio.
                    if !error.is_connect() {
                        record.maybe_applied.store(true, Ordering::Relaxed);
                    }
                    if !is_retryable_error(error) || !operation.may_repeat_error(error) {
                        return outcome;
                    }
                    (RetryCause::Failure, None)
                }
            };
            // `None`: the server asks for a longer wait than the policy allows.
            let delay = config.retry.delay(retry, hint);
            if cause == RetryCause::Throttled {
                // Every request of the client waits as long as this one (at most as long
                // as the policy would wait for a Retry-After).
                config
                    .limiter
                    .throttled(delay.unwrap_or(config.retry.longest_retry_after()));
            }
            let Some(spare) = spare else {
                return outcome;
            };
            // A server that asks for a longer wait than the policy allows, or than the call
            // has left, gets its answer back at once: the error carries the wait. A write
            // retries a 429 only when a whole attempt fits after the wait, so the deadline
            // never cuts it into "may have happened" (a 429 was not processed).
            let Some(delay) = delay else {
                return outcome;
            };
            let needed = match cause {
                RetryCause::Throttled if operation.is_write() => delay + config.timeout,
                _ => delay,
            };
            if Instant::now() + needed >= *deadline {
                tracing::debug!(parent: &span, "no time left for a retry before the call deadline");
                return outcome;
            }
            if config.budget.spend(cause, &mut spending).is_some() {
                tracing::debug!(parent: &span, delay_ms = delay.as_millis() as u64, "retrying");
                tokio::time::sleep(delay).await;
            } else if cause == RetryCause::Failure {
                // Failures cluster: an outage. This retry waits for the gate (within the
                // call deadline) instead of giving up.
                tracing::debug!(parent: &span, "retry refused by the budget: waiting out an outage");
                config.outage.close();
            } else {
                tracing::debug!(parent: &span, "retry refused: the client's retry budget is spent");
                return outcome;
            }
            if cause == RetryCause::Throttled && operation.is_write() {
                throttled_write = outcome.ok();
            }
            request = spare;
            // A probe's failure is the outage's, not one of this request's retries.
            if !(failed && admission == Admission::Probe) {
                retry += 1;
            }
        }
    }

    /// Waits until an attempt may start: the outage gate lets it through, its conversation's
    /// write pace allows it (`paced`: the conversation of a write), and a place under the cap
    /// is free (for a page fetched ahead, only the pause after a 429).
    async fn ready(&self, paced: Option<&str>) -> (Admission, Permit<'_>) {
        let config = &self.config;
        'gate: loop {
            let admission = config
                .outage
                .admit(|| self.record.held.store(true, Ordering::Relaxed))
                .await;
            // A probe is still the outage's: a deadline during it is the outage's too.
            self.record
                .held
                .store(admission == Admission::Probe, Ordering::Relaxed);
            // Past the gate, the request keeps its admission (a probe stays the probe) while
            // it waits for its conversation's pace and a place, holding neither meanwhile.
            loop {
                if let Some(conversation) = paced {
                    tokio::time::sleep_until(config.pacer.ready_at(conversation)).await;
                }
                let permit = config.limiter.acquire().await;
                // An outage may have begun while this request waited for its place.
                if admission == Admission::Open && config.outage.is_closed() {
                    continue 'gate;
                }
                match paced.map(|conversation| config.pacer.try_start(conversation)) {
                    // Another write to the conversation took the slot first.
                    Some(Err(_)) => continue,
                    _ => return (admission, permit),
                }
            }
        }
    }

    /// Tells the outage gate what an attempt's outcome shows of the API; true when it was a
    /// failure (a 5xx, a timeout or a broken connection).
    fn observe(&self, outcome: &reqwest::Result<reqwest::Response>) -> bool {
        let config = &self.config;
        let failed = match outcome {
            Ok(response) => response.status().is_server_error(),
            // A TLS failure is not an outage: it fails the same way again, at once.
            Err(error) => is_retryable_error(error),
        };
        match outcome {
            Ok(response) if !failed => {
                // Neither a 429 nor a 5xx: a calm answer for the cap.
                if response.status().as_u16() != 429 {
                    config.limiter.calm();
                }
                if config.outage.answered() {
                    config.budget.refill();
                }
            }
            _ if failed => config.outage.failed(),
            _ => {}
        }
        failed
    }

    /// Refuses an answer whose body was over the limit (the wrapper reads the size and the
    /// status from the record).
    pub(crate) fn oversized(&self) -> bool {
        self.record.oversized().is_some()
    }
}

/// Sends one attempt and reads the whole body (at most [`MAX_BODY_BYTES`]) so that a broken
/// body counts as a failed attempt, then hands the generated code an equivalent response.
async fn send_buffered(
    client: &reqwest::Client,
    request: reqwest::Request,
    record: &CallRecord,
) -> reqwest::Result<reqwest::Response> {
    // Nothing from an earlier attempt's answer may describe this one.
    record.oversized.store(0, Ordering::Relaxed);
    record.status.store(0, Ordering::Relaxed);
    *record
        .headers
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = AnswerMeta::default();
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
