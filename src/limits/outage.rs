//! The outage gate, shared by every clone and stream of a client: when failures cluster,
//! the client stops starting attempts (first attempts included) and lets one probe through
//! at growing intervals; the first answer that is not a failure opens the gate again.
//!
//! A failure here is what an outage looks like from the client: a 5xx answer, a timeout or
//! a broken connection. Any other answer (2xx, 4xx, and 429, which is throttling, not an
//! outage) shows that the API is there. The gate closes when five failures come without
//! such an answer between them (more than one request's worth of the default policy's four
//! attempts, so one unlucky request alone never closes it), or when the retry budget
//! refuses a failure's retry. While it is closed, a request waits for it within its call
//! deadline; the first request to arrive after the next probe time is sent (the probe),
//! and the next probe time moves out: 0.5 s, then doubling up to 2 s, each wait jittered
//! between half and all of it. Probes are spaced by time, not one at a time, so a probe
//! whose answer nobody reads (a caller away) cannot hold the others back.

use std::{
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};

/// Failures in a row (with no other answer between them) that make an outage.
pub(crate) const FAILURES_TOGETHER: u32 = 5;
/// The longest first wait before a probe.
const FIRST_PROBE: Duration = Duration::from_millis(500);
/// The longest wait between two probes.
const LONGEST_PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// How a request was let through the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The gate was open.
    Open,
    /// The gate was closed and this request is the probe: its failure is the outage's,
    /// not counted against the request's own retries.
    Probe,
}

/// The gate; see the module's documentation.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    state: Mutex<OutageState>,
    /// Woken when the gate opens.
    reopened: Notify,
}

#[derive(Debug, Default)]
struct OutageState {
    /// Failures since the last answer that was not one.
    streak: u32,
    /// Set while the gate is closed.
    closed: Option<Closed>,
    /// Outages so far.
    outages: u64,
    /// Probes sent so far.
    probes: u64,
}

#[derive(Debug)]
struct Closed {
    /// The next probe may start at this instant.
    next_probe: Instant,
    /// The longest wait before the probe after that one.
    interval: Duration,
}

/// What [`crate::ClientStats`] shows of the gate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OutageSnapshot {
    pub(crate) closed: bool,
    pub(crate) outages: u64,
    pub(crate) probes: u64,
}

/// Between half and all of `interval` ("equal jitter"), so that many clients that met
/// the same outage do not probe in step.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.5 + 0.5 * fastrand::f64())
}

impl Outage {
    fn state(&self) -> MutexGuard<'_, OutageState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the gate lets this request through: at once while it is open; while it
    /// is closed, until this request may be the next probe or the gate opens. `on_hold` is
    /// called once, before the first wait.
    pub(crate) async fn admit(&self, on_hold: impl FnOnce()) -> Admission {
        let mut on_hold = Some(on_hold);
        loop {
            let reopened = self.reopened.notified();
            tokio::pin!(reopened);
            // Registered before the state is read, so an opening in between is not missed.
            reopened.as_mut().enable();
            let next_probe = {
                let mut state = self.state();
                let state = &mut *state;
                let Some(closed) = &mut state.closed else {
                    return Admission::Open;
                };
                let now = Instant::now();
                if now >= closed.next_probe {
                    closed.next_probe = now + jittered(closed.interval);
                    closed.interval = (closed.interval * 2).min(LONGEST_PROBE_INTERVAL);
                    state.probes += 1;
                    tracing::debug!("outage: probing");
                    return Admission::Probe;
                }
                closed.next_probe
            };
            if let Some(on_hold) = on_hold.take() {
                on_hold();
            }
            // Either the gate opened or the probe time came: look again.
            let _ = tokio::time::timeout_at(next_probe, reopened).await;
        }
    }

    /// True while the gate is closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.state().closed.is_some()
    }

    /// An answer that is not a failure: the API is there, and the gate opens. Returns true
    /// when this ended an outage.
    pub(crate) fn answered(&self) -> bool {
        let mut state = self.state();
        state.streak = 0;
        if state.closed.take().is_none() {
            return false;
        }
        drop(state);
        tracing::info!("outage over: the API answered; requests resume");
        self.reopened.notify_waiters();
        true
    }

    /// A 5xx answer, a timeout or a broken connection; [`FAILURES_TOGETHER`] of them in a
    /// row close the gate.
    pub(crate) fn failed(&self) {
        let mut state = self.state();
        state.streak = state.streak.saturating_add(1);
        if state.streak >= FAILURES_TOGETHER {
            Self::close_locked(&mut state);
        }
    }

    /// Failures cluster (the retry budget refused a failure's retry): closes the gate.
    pub(crate) fn close(&self) {
        Self::close_locked(&mut self.state());
    }

    fn close_locked(state: &mut OutageState) {
        if state.closed.is_some() {
            return;
        }
        state.closed = Some(Closed {
            next_probe: Instant::now() + jittered(FIRST_PROBE),
            interval: FIRST_PROBE * 2,
        });
        state.outages += 1;
        tracing::warn!(
            "outage: failures cluster; requests wait while one probe at a time checks the API"
        );
    }

    pub(crate) fn snapshot(&self) -> OutageSnapshot {
        let state = self.state();
        OutageSnapshot {
            closed: state.closed.is_some(),
            outages: state.outages,
            probes: state.probes,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_open_gate_lets_everyone_through_at_once() {
        let outage = Outage::default();
        for _ in 0..FAILURES_TOGETHER - 1 {
            outage.failed();
        }
        outage.answered();
        outage.failed(); // the streak started again
        let started = Instant::now();
        assert_eq!(outage.admit(|| panic!("not held")).await, Admission::Open);
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert!(!outage.is_closed());
    }

    #[tokio::test(start_paused = true)]
    async fn clustered_failures_close_the_gate_and_probes_come_at_growing_intervals() {
        let outage = Outage::default();
        for _ in 0..FAILURES_TOGETHER {
            outage.failed();
        }
        assert!(outage.is_closed());
        let started = Instant::now();
        let mut probes = Vec::new();
        for _ in 0..5 {
            let held = AtomicUsize::new(0);
            let admission = outage
                .admit(|| {
                    held.fetch_add(1, Ordering::Relaxed);
                })
                .await;
            assert_eq!(admission, Admission::Probe);
            assert_eq!(
                held.load(Ordering::Relaxed),
                1,
                "held once, then let through"
            );
            probes.push(started.elapsed());
            outage.failed(); // the probe failed too
        }
        // Each wait is between half and all of 0.5 s, 1 s, 2 s, 2 s, 2 s.
        let gaps: Vec<Duration> = probes
            .iter()
            .scan(Duration::ZERO, |last, at| {
                let gap = *at - *last;
                *last = *at;
                Some(gap)
            })
            .collect();
        for (gap, longest) in gaps.iter().zip([500, 1000, 2000, 2000, 2000]) {
            let longest = Duration::from_millis(longest);
            assert!(
                *gap >= longest / 2 && *gap <= longest,
                "{gaps:?} against {longest:?}"
            );
        }
        assert_eq!(outage.snapshot().probes, 5);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_opens_the_gate_for_every_waiter() {
        let outage = Arc::new(Outage::default());
        outage.close();
        outage.close(); // one outage, however many reasons
        assert_eq!(outage.snapshot().outages, 1);
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let outage = outage.clone();
                tokio::spawn(async move { outage.admit(|| {}).await })
            })
            .collect();
        // The first probe is the only request let through while the gate is closed.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(outage.snapshot().probes, 1);
        assert!(outage.answered(), "this answer ended the outage");
        let mut admissions = Vec::new();
        for waiter in waiters {
            admissions.push(waiter.await.unwrap());
        }
        let probes = admissions
            .iter()
            .filter(|a| **a == Admission::Probe)
            .count();
        assert_eq!((probes, admissions.len()), (1, 8));
        assert!(!outage.is_closed());
        assert!(!outage.answered(), "nothing left to end");
    }
}
