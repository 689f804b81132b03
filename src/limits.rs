//! What a client does to protect Twilio and the account, shared by every clone and stream:
//! a cap on requests in flight that halves when Twilio answers 429 and grows back, a pause
//! of every request after a 429, a retry budget, the outage gate (`outage.rs`) and the
//! pacing of each conversation's writes (`pacing.rs`).
//!
//! The cap is a [`tokio::sync::Semaphore`] (fair, first come first served) whose permits are
//! the current limit: lowering the limit forgets free permits at once and the others as they
//! come back. The budget is a token bucket in the spirit of aws-sdk-rust's standard retry
//! mode; it is a counter under a lock, since the well-kept alternatives measure something
//! else (tower's `TpsBudget` is a share of recent requests, `governor` a rate), and a
//! counter is what the standard mode specifies.

use std::{
    fmt,
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::{
    sync::{Semaphore, SemaphorePermit},
    time::Instant,
};

mod outage;
mod pacing;

pub(crate) use outage::{Admission, Outage};
pub use pacing::DEFAULT_CONVERSATION_WRITE_RATE;
pub(crate) use pacing::{conversation_key, WritePacer};

/// The default [`crate::ClientBuilder::max_concurrent_requests`].
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: u32 = 16;

/// How many times more calm answers the cap needs for the one step back to where the last
/// 429 came: a server that takes 4 is asked for 5 once every 32 answers, not once every 4.
const PROBE_PATIENCE: u32 = 8;

/// Requests in flight, and the pause after a 429.
pub(crate) struct Limiter {
    permits: Semaphore,
    max: u32,
    state: Mutex<LimiterState>,
}

struct LimiterState {
    /// The current cap, `1..=max`.
    limit: u32,
    /// Permits still to forget as they come back, after the cap was lowered.
    debt: u32,
    /// Answers without a 429 since the cap last moved.
    calm: u32,
    /// No request starts before this instant.
    paused_until: Option<Instant>,
    /// When the cap was last halved: one halving per pause, however many 429s it caused.
    halved_at: Option<Instant>,
    /// The cap at which the last 429 came: growing back to it is slow (a probe).
    ceiling: u32,
    throttled: u64,
}

/// A started request's place under the cap; returned when dropped.
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
    permit: Option<SemaphorePermit<'a>>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            let mut state = self.limiter.state();
            if state.debt > 0 {
                state.debt -= 1;
                permit.forget();
            }
        }
    }
}

impl Limiter {
    pub(crate) fn new(max: u32) -> Self {
        let max = max.max(1);
        Self {
            permits: Semaphore::new(max as usize),
            max,
            state: Mutex::new(LimiterState {
                limit: max,
                debt: 0,
                calm: 0,
                paused_until: None,
                halved_at: None,
                ceiling: u32::MAX,
                throttled: 0,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, LimiterState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until no pause is on and a place under the cap is free.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        loop {
            let paused_until = self.state().paused_until;
            if let Some(until) = paused_until.filter(|until| *until > Instant::now()) {
                tokio::time::sleep_until(until).await;
                continue;
            }
            // The semaphore is never closed; without a permit the request still runs.
            let permit = self.permits.acquire().await.ok();
            // A 429 may have paused everyone while this request waited for its place.
            let paused = self
                .state()
                .paused_until
                .is_some_and(|u| u > Instant::now());
            if paused {
                // Given back through `Permit`, so a lowered cap still takes its share.
                drop(Permit {
                    limiter: self,
                    permit,
                });
                continue;
            }
            return Permit {
                limiter: self,
                permit,
            };
        }
    }

    /// Twilio answered 429: every request waits `pause`, and the cap halves (once per pause).
    pub(crate) fn throttled(&self, pause: Duration) {
        let now = Instant::now();
        let mut state = self.state();
        state.throttled += 1;
        state.calm = 0;
        let until = now + pause;
        state.paused_until = Some(state.paused_until.map_or(until, |u| u.max(until)));
        let recently = state
            .halved_at
            .is_some_and(|at| now.duration_since(at) < pause.max(Duration::from_millis(100)));
        if recently || state.limit == 1 {
            return;
        }
        state.ceiling = state.limit;
        let lowered = (state.limit / 2).max(1);
        state.debt += state.limit - lowered;
        state.limit = lowered;
        state.halved_at = Some(now);
        let forgotten = self.permits.forget_permits(state.debt as usize) as u32;
        state.debt -= forgotten;
        tracing::debug!(
            limit = lowered,
            pause_ms = pause.as_millis() as u64,
            "throttled: fewer requests at once"
        );
    }

    /// A calm answer (neither a 429 nor a 5xx; a timeout is no answer): after as many calm
    /// answers as the cap, it grows by one; the one step back up to where the last 429 came
    /// takes [`PROBE_PATIENCE`] times as many (every step above it is ordinary again).
    pub(crate) fn calm(&self) {
        let mut state = self.state();
        if state.limit >= self.max {
            return;
        }
        state.calm += 1;
        let probing = state.limit + 1 == state.ceiling;
        let needed = if probing {
            state.limit * PROBE_PATIENCE
        } else {
            state.limit
        };
        if state.calm < needed {
            return;
        }
        state.calm = 0;
        state.limit += 1;
        if state.debt > 0 {
            state.debt -= 1;
        } else {
            self.permits.add_permits(1);
        }
    }

    pub(crate) fn snapshot(&self) -> (u32, u32, u64) {
        let state = self.state();
        let free = self.permits.available_permits() as u32;
        let in_flight = (state.limit + state.debt).saturating_sub(free);
        (state.limit, in_flight, state.throttled)
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (limit, in_flight, _) = self.snapshot();
        f.debug_struct("Limiter")
            .field("max", &self.max)
            .field("limit", &limit)
            .field("in_flight", &in_flight)
            .finish()
    }
}

/// How much retrying a client may do: a token bucket in the spirit of aws-sdk-rust's
/// standard mode. See [`RetryBudget::standard`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryBudget {
    capacity: u32,
    throttle_cost: u32,
    failure_cost: u32,
    /// Whether a failure is retried more than once only when the bucket is full but for the
    /// request's own spending.
    one_retry_when_shared: bool,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryBudget {
    /// aws-sdk-rust's standard numbers: 500 tokens; a retry after a 429 costs 5, after a
    /// timeout, a broken connection or a 5xx 10; a success returns what its retries cost,
    /// or adds 1 on a first attempt. An empty bucket refuses retries: the error returns at
    /// once. Beyond that, a request may retry a failure (not a 429) more than once only
    /// while the bucket is full but for its own spending: a blip in a healthy period gets
    /// every retry of the policy; requests failing together (an outage), and any failure
    /// until successes have refilled the bucket, get one retry each.
    pub fn standard() -> Self {
        Self {
            capacity: 500,
            throttle_cost: 5,
            failure_cost: 10,
            one_retry_when_shared: true,
        }
    }

    /// No limit: every retry the policy allows happens (the behaviour before budgets).
    pub fn unlimited() -> Self {
        Self {
            capacity: u32::MAX,
            throttle_cost: 0,
            failure_cost: 0,
            one_retry_when_shared: false,
        }
    }

    /// The bucket's size in tokens.
    pub fn capacity(mut self, tokens: u32) -> Self {
        self.capacity = tokens;
        self
    }

    /// The cost of retrying after a 429.
    pub fn throttle_cost(mut self, tokens: u32) -> Self {
        self.throttle_cost = tokens;
        self
    }

    /// The cost of retrying after a timeout, a broken connection or a 5xx.
    pub fn failure_cost(mut self, tokens: u32) -> Self {
        self.failure_cost = tokens;
        self
    }
}

/// A client's bucket of retry tokens; see [`RetryBudget`].
pub(crate) struct Budget {
    settings: RetryBudget,
    state: Mutex<BudgetState>,
}

struct BudgetState {
    tokens: u32,
    refused: u64,
    retries: u64,
}

/// Why the transport wants to retry: the kind decides the cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryCause {
    /// A 429: Twilio did not process the request.
    Throttled,
    /// A timeout, a broken connection or a 5xx.
    Failure,
}

/// What one request has taken from the budget so far; see [`Budget::spend`].
#[derive(Debug, Default)]
pub(crate) struct Spending {
    /// Tokens taken, for any retry.
    tokens: u32,
    /// Retries after a failure (not a 429).
    failure_retries: u32,
}

impl Spending {
    /// The tokens taken, to return on a success.
    pub(crate) fn tokens(&self) -> u32 {
        self.tokens
    }
}

impl Budget {
    pub(crate) fn new(settings: RetryBudget) -> Self {
        Self {
            state: Mutex::new(BudgetState {
                tokens: settings.capacity,
                refused: 0,
                retries: 0,
            }),
            settings,
        }
    }

    fn state(&self) -> MutexGuard<'_, BudgetState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the tokens for one retry of a request that has taken `spending` so far;
    /// returns the cost, or `None` when the retry is refused. A second failure retry needs
    /// a bucket that only this request has drawn on since it was last full.
    pub(crate) fn spend(&self, cause: RetryCause, spending: &mut Spending) -> Option<u32> {
        let cost = match cause {
            RetryCause::Throttled => self.settings.throttle_cost,
            RetryCause::Failure => self.settings.failure_cost,
        };
        let mut state = self.state();
        let shared = self.settings.one_retry_when_shared
            && cause == RetryCause::Failure
            && spending.failure_retries > 0
            && state.tokens.saturating_add(spending.tokens) < self.settings.capacity;
        if shared || state.tokens < cost {
            state.refused += 1;
            return None;
        }
        state.tokens -= cost;
        state.retries += 1;
        spending.tokens += cost;
        if cause == RetryCause::Failure {
            spending.failure_retries += 1;
        }
        Some(cost)
    }

    /// A success: returns what its retries cost, or adds one token after a first attempt.
    pub(crate) fn succeeded(&self, spent: u32) {
        let mut state = self.state();
        let earned = if spent > 0 { spent } else { 1 };
        state.tokens = state
            .tokens
            .saturating_add(earned)
            .min(self.settings.capacity);
    }

    /// An outage is over (the API answered a probe): the retries spent or refused while it
    /// lasted were its symptoms, so the bucket is full again; otherwise the next blip after
    /// it would find the budget empty and close the outage gate at once.
    pub(crate) fn refill(&self) {
        self.state().tokens = self.settings.capacity;
    }

    pub(crate) fn snapshot(&self) -> (u32, u64, u64) {
        let state = self.state();
        (state.tokens, state.retries, state.refused)
    }
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tokens, retries, refused) = self.snapshot();
        f.debug_struct("Budget")
            .field("settings", &self.settings)
            .field("tokens", &tokens)
            .field("retries", &retries)
            .field("refused", &refused)
            .finish()
    }
}

/// What a client has done to protect Twilio, read with [`crate::Client::stats`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Requests on the wire now.
    pub in_flight: u32,
    /// The current cap on requests in flight (lowered after a 429, then growing back).
    pub concurrency_limit: u32,
    /// The configured cap ([`crate::ClientBuilder::max_concurrent_requests`]).
    pub max_concurrent_requests: u32,
    /// 429 answers received.
    pub throttled: u64,
    /// Retries made.
    pub retries: u64,
    /// Retries the budget refused (the error was returned at once).
    pub retries_refused: u64,
    /// Tokens left in the retry budget.
    pub budget_tokens: u32,
    /// True while the client is in an outage: failures clustered, so no attempt starts
    /// except one probe at growing intervals, until an answer that is not a 5xx, a timeout
    /// or a broken connection (see [`crate::ClientBuilder::retry_budget`]).
    pub outage: bool,
    /// Outages entered so far.
    pub outages: u64,
    /// Probes sent during outages so far.
    pub outage_probes: u64,
}

impl ClientStats {
    pub(crate) fn read(limiter: &Limiter, budget: &Budget, outage: &Outage) -> Self {
        let (concurrency_limit, in_flight, throttled) = limiter.snapshot();
        let (budget_tokens, retries, retries_refused) = budget.snapshot();
        let gate = outage.snapshot();
        Self {
            outage: gate.closed,
            outages: gate.outages,
            outage_probes: gate.probes,
            in_flight,
            concurrency_limit,
            max_concurrent_requests: limiter.max,
            throttled,
            retries,
            retries_refused,
            budget_tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_isolated_failure_gets_every_retry_an_outage_one_each() {
        let budget = Budget::new(RetryBudget::standard());
        // One request alone: three failure retries in a row.
        let mut alone = Spending::default();
        for _ in 0..3 {
            assert_eq!(budget.spend(RetryCause::Failure, &mut alone), Some(10));
        }
        budget.succeeded(alone.tokens());
        assert_eq!(budget.snapshot().0, 500);
        // A 429 retry first does not cost a request its first failure retry.
        let mut throttled = Spending::default();
        assert_eq!(budget.spend(RetryCause::Throttled, &mut throttled), Some(5));
        let mut other = Spending::default();
        assert_eq!(budget.spend(RetryCause::Failure, &mut other), Some(10));
        assert_eq!(budget.spend(RetryCause::Failure, &mut throttled), Some(10));
        // Two requests failing together: neither gets a second failure retry.
        assert_eq!(budget.spend(RetryCause::Failure, &mut throttled), None);
        assert_eq!(budget.spend(RetryCause::Failure, &mut other), None);
        // Throttling retries are paced by the limiter, not limited to one.
        assert_eq!(budget.spend(RetryCause::Throttled, &mut other), Some(5));
        // Until successes refill the bucket, a new failure gets one retry too.
        let mut later = Spending::default();
        assert_eq!(budget.spend(RetryCause::Failure, &mut later), Some(10));
        assert_eq!(budget.spend(RetryCause::Failure, &mut later), None);
        for _ in 0..50 {
            budget.succeeded(0);
        }
        let mut healthy = Spending::default();
        for _ in 0..3 {
            assert_eq!(budget.spend(RetryCause::Failure, &mut healthy), Some(10));
        }
    }

    #[test]
    fn an_empty_bucket_refuses_and_successes_refill_it() {
        let budget = Budget::new(RetryBudget::standard().capacity(25));
        let one = |cause| budget.spend(cause, &mut Spending::default());
        assert_eq!(one(RetryCause::Failure), Some(10));
        assert_eq!(one(RetryCause::Failure), Some(10));
        assert_eq!(one(RetryCause::Failure), None);
        assert_eq!(one(RetryCause::Throttled), Some(5));
        assert_eq!(one(RetryCause::Throttled), None);
        for _ in 0..10 {
            budget.succeeded(0);
        }
        assert_eq!(budget.snapshot(), (10, 3, 2));
        assert_eq!(
            budget.spend(RetryCause::Failure, &mut Spending::default()),
            Some(10)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_halves_the_cap_once_pauses_everyone_and_calm_grows_it_back() {
        let limiter = Limiter::new(8);
        let held: Vec<_> = futures_util::future::join_all((0..8).map(|_| limiter.acquire())).await;
        assert_eq!(limiter.snapshot(), (8, 8, 0));
        limiter.throttled(Duration::from_secs(2));
        limiter.throttled(Duration::from_secs(2)); // the same burst: no second halving
        assert_eq!(limiter.snapshot().0, 4);
        drop(held);
        let started = tokio::time::Instant::now();
        let permits: Vec<_> =
            futures_util::future::join_all((0..4).map(|_| limiter.acquire())).await;
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(2),
            "everyone waited for the pause"
        );
        assert_eq!(limiter.snapshot(), (4, 4, 2));
        drop(permits);
        for _ in 0..4 {
            limiter.calm();
        }
        assert_eq!(limiter.snapshot().0, 5);
        // Back up to where the 429 came (8) only slowly: 7 → 8 takes 8 × 7 calm answers.
        for _ in 0..(5 + 6) {
            limiter.calm();
        }
        assert_eq!(limiter.snapshot().0, 7);
        for _ in 0..(7 * PROBE_PATIENCE - 1) {
            limiter.calm();
        }
        assert_eq!(limiter.snapshot().0, 7);
        limiter.calm();
        assert_eq!(limiter.snapshot().0, 8);
        let five: Vec<_> = futures_util::future::join_all((0..5).map(|_| limiter.acquire())).await;
        assert_eq!(limiter.snapshot().1, 5);
        drop(five);
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_step_back_to_the_last_429_is_slow() {
        let limiter = Limiter::new(64);
        // 429s at 64, 32, 16 and 8, each in a pause of its own: the cap is 4, the last 429
        // came at 8.
        for _ in 0..4 {
            limiter.throttled(Duration::from_millis(100));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(limiter.snapshot().0, 4);
        let mut answers = 0;
        while limiter.snapshot().0 < 64 {
            limiter.calm();
            answers += 1;
        }
        // 4 + 5 + 6 answers to reach 7, 7 × 8 for the step to 8, then 8 + 9 + … + 63:
        // about 2,000, where probing every step above 8 took about 16,000.
        let ordinary: u32 = (4..64).filter(|cap| *cap != 7).sum();
        assert_eq!(answers, ordinary + 7 * PROBE_PATIENCE);
        assert_eq!(answers, 2059);
    }

    #[test]
    fn an_outage_over_refills_the_budget() {
        let budget = Budget::new(RetryBudget::standard().capacity(20));
        assert!(budget
            .spend(RetryCause::Failure, &mut Spending::default())
            .is_some());
        assert!(budget
            .spend(RetryCause::Failure, &mut Spending::default())
            .is_some());
        assert!(budget
            .spend(RetryCause::Failure, &mut Spending::default())
            .is_none());
        budget.refill();
        assert_eq!(budget.snapshot().0, 20);
    }
}
