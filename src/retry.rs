//! When and how long to wait before repeating a failed request.
//!
//! Retryable: HTTP 429, 500, 502, 503, 504 and connection failures (refused, reset, timed
//! out), except TLS failures, which repeat identically. The wait is exponential backoff with
//! full jitter, or exactly the server's `Retry-After` when it sends one; a `Retry-After`
//! longer than [`RetryPolicy::max_retry_after`] is not waited for: the error is returned at
//! once and carries the wait.
//!
//! Which operation may repeat which failure is decided in `operation.rs`; how much retrying
//! the whole client may do, in `limits.rs`.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How many times to retry a request and how long to wait in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Three retries, backoff from 500 ms capped at 20 s, `Retry-After` obeyed up to 30 s.
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: every request is attempted once.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How many times a failed request is repeated (so `n + 1` attempts at most).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The backoff ceiling of the first retry; it doubles with each further retry.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest backoff wait (when the server sends no `Retry-After`).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest `Retry-After` the client waits for. When the server asks for more, the
    /// request is not retried: its error ([`crate::ApiError::retry_after`]) carries the wait.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// The longest `Retry-After` obeyed.
    pub(crate) fn longest_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The configured number of retries.
    pub fn retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before retry number `retry` (0-based): the server's `Retry-After` if given
    /// (`None`, do not retry, when it exceeds [`max_retry_after`](Self::max_retry_after)),
    /// else a uniformly random duration up to `initial_delay * 2^retry`, capped.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        match retry_after {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait),
            None => {
                let ceiling = self
                    .initial_delay
                    .saturating_mul(2u32.saturating_pow(retry))
                    .min(self.max_delay);
                Some(ceiling.mul_f64(fastrand::f64()))
            }
        }
    }
}

/// True for the statuses worth repeating a `GET` for.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// True for transport failures worth repeating: the connection could not be made, broke,
/// or timed out. A TLS failure (e.g. an untrusted certificate) would fail the same way again.
pub(crate) fn is_retryable_error(error: &reqwest::Error) -> bool {
    (error.is_connect()
        || error.is_timeout()
        || error.is_request()
        || error.is_body()
        || error.is_decode())
        && !is_tls_failure(error)
}

/// True when a rustls error (certificate, handshake, protocol) is in the error's chain.
pub(crate) fn is_tls_failure(error: &reqwest::Error) -> bool {
    let mut pending: Vec<&(dyn std::error::Error + 'static)> = vec![error];
    while let Some(cause) = pending.pop() {
        if cause.is::<rustls::Error>() {
            return true;
        }
        // io::Error hides its payload from `source()` (and may nest another io::Error).
        if let Some(inner) = cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            pending.push(inner);
        }
        pending.extend(cause.source());
    }
    false
}

/// Reads `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(date);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_770);
        assert_eq!(
            retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        // 784_111_777 is Sun, 06 Nov 1994 08:49:37 GMT.
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_cap() {
        let policy = RetryPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(350));
        for retry in 0..6 {
            let ceiling = Duration::from_millis(100 * 2u64.pow(retry)).min(policy.max_delay);
            for _ in 0..200 {
                assert!(policy.delay(retry, None).unwrap() <= ceiling);
            }
        }
        let spread: std::collections::HashSet<_> =
            (0..50).map(|_| policy.delay(2, None).unwrap()).collect();
        assert!(spread.len() > 10, "jitter should vary the delay");
    }

    #[test]
    fn retry_after_is_obeyed_or_refused_never_shortened() {
        let policy = RetryPolicy::default()
            .max_delay(Duration::from_secs(2))
            .max_retry_after(Duration::from_secs(10));
        assert_eq!(policy.delay(0, Some(Duration::from_secs(60))), None);
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(10))),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn retryable_statuses() {
        let retryable: Vec<u16> = (400..600).filter(|s| is_retryable_status(*s)).collect();
        assert_eq!(retryable, [429, 500, 502, 503, 504]);
    }
}
