//! The hooks that carry every generated request: credentials, user agent, timeout, retries,
//! tracing, and a bounded read of the body.
//!
//! [`Transport`] is the generated client's inner value. A fresh one is made per call so that
//! its [`CallRecord`] can tell the wrapper how many attempts were made and with what status.

use std::{
    sync::{
        atomic::{AtomicU16, AtomicU32, AtomicUsize, Ordering},
        Arc,
    },
    time::{Instant, SystemTime},
};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, USER_AGENT};
use tracing::Instrument;

use crate::{
    client::Config,
    generated,
    retry::{is_retryable_error, is_retryable_status, retry_after},
};

/// The most a response body may hold; a page of 100 participants is about 70 KiB.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The generated client's inner value: shared configuration plus this call's record.
#[derive(Clone, Debug)]
pub struct Transport {
    pub(crate) config: Arc<Config>,
    pub(crate) record: Arc<CallRecord>,
}

/// What happened on the wire during one call, for building a precise error.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    attempts: AtomicU32,
    status: AtomicU16,
    /// The size of the last attempt's body when it was over the limit; 0 otherwise.
    oversized: AtomicUsize,
}

impl CallRecord {
    /// Attempts made so far (at least 1 once the request was built).
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed).max(1)
    }

    /// The status of the last response received, if any.
    pub(crate) fn status(&self) -> Option<u16> {
        match self.status.load(Ordering::Relaxed) {
            0 => None,
            status => Some(status),
        }
    }

    /// The size of a body that exceeded [`MAX_BODY_BYTES`], if one did.
    pub(crate) fn oversized(&self) -> Option<usize> {
        match self.oversized.load(Ordering::Relaxed) {
            0 => None,
            size => Some(size),
        }
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
            Some(size) => Err(progenitor_client::Error::Custom(format!(
                "the response body exceeds {MAX_BODY_BYTES} bytes (at least {size})"
            ))),
            None => Ok(()),
        }
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let Transport { config, record } = self.inner();
        let policy = &config.retry;
        let mut request = request;
        let mut retry = 0;
        loop {
            let attempt = retry + 1;
            record.attempts.store(attempt, Ordering::Relaxed);
            // A GET has no body, so a copy for the next attempt always exists.
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
            let outcome = send_buffered(self.client(), request, record)
                .instrument(span.clone())
                .await;
            span.record("elapsed_ms", started.elapsed().as_millis() as u64);
            if let Ok(response) = &outcome {
                span.record("status", response.status().as_u16());
            }
            let Some(spare) = spare else {
                return outcome;
            };
            let hint = match &outcome {
                Ok(response) if is_retryable_status(response.status().as_u16()) => {
                    retry_after(response.headers(), SystemTime::now())
                }
                Err(error) if is_retryable_error(error) => None,
                _ => return outcome,
            };
            let delay = policy.delay(retry, hint);
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
    record.oversized.store(
        usize::try_from(oversized).unwrap_or(usize::MAX),
        Ordering::Relaxed,
    );
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}
