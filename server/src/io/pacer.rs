//! Pacing of an I/O thread's loop: how long it rests after a pass, so that one wake-up serves
//! a batch of samples at light load and none waits under heavy load.

use std::time::{Duration, Instant};

/// How often an I/O thread looks at deadlines and the shutdown flag when nothing happens.
pub const TICK: Duration = Duration::from_millis(250);

/// At light load an I/O thread handles what is ready at most this often, so that a wake-up
/// (of this thread, then of the aggregator, then of this thread for the acks) serves a batch of
/// samples rather than one. Agents sample once in seconds, so 50 ms more before an ack or a
/// welcome costs them nothing; at 10,000 agents a second the server took 12–16% of a core with
/// 50 ms here and 13–15% with 20 ms (`vitals-loadgen --agents 10000 --rate 1` and the server's
/// `/proc/PID/stat` over 30 s, six runs each). [`Pacer`] rests less under heavy load.
pub const COALESCE: Duration = Duration::from_millis(50);

/// Events a pass should find, when they come fast enough to gather this many within
/// [`COALESCE`].
pub const PASS_EVENTS: f64 = 256.0;

/// Paces an I/O loop: after each pass it rests for as long as [`PASS_EVENTS`] take to arrive
/// at the rate seen lately, at most [`COALESCE`] and less the pass's own time.
///
/// A fixed rest would bound agents that wait for acks (a window of unacknowledged samples, a
/// ring replayed after an outage) to a window every two passes, and so a peak of samples by
/// the sleep rather than by the CPU: 50 ms halved the flat-out bench's rate. At a high rate the
/// rest is short, and as it shortens the agents' acks come sooner and the rate rises further.
#[derive(Debug, Default)]
pub struct Pacer {
    /// Events a second, smoothed over the last few passes.
    rate: f64,
    /// When the previous pass started.
    previous: Option<Instant>,
}

impl Pacer {
    /// How long to rest after a pass that started at `started`, handled `events`, and ended at
    /// `now`.
    pub fn rest(&mut self, started: Instant, events: usize, now: Instant) -> Duration {
        if let Some(previous) = self.previous {
            let span = started.saturating_duration_since(previous).as_secs_f64();
            if span > 0.0 {
                self.rate = 0.75 * self.rate + 0.25 * (events as f64 / span);
            }
        }
        self.previous = Some(started);
        // The rate decays towards zero while no agent sends, and `PASS_EVENTS / rate` grows
        // past any `Duration` (`from_secs_f64` panics there): bound it as a float first.
        let gather = PASS_EVENTS / self.rate;
        let gather = if gather < COALESCE.as_secs_f64() {
            Duration::from_secs_f64(gather)
        } else {
            COALESCE
        };
        gather.saturating_sub(now.saturating_duration_since(started))
    }

    /// Sleeps for the [`rest`](Pacer::rest) after a pass that started at `started`, handled
    /// `events`, and has just ended.
    pub fn pause(&mut self, started: Instant, events: usize) {
        std::thread::sleep(self.rest(started, events, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `passes` passes of `pass` each through a pacer, each finding `events(rest)` events
    /// given the rest before it; returns the rests.
    fn pace(passes: usize, pass: Duration, events: impl Fn(Duration) -> usize) -> Vec<Duration> {
        let mut pacer = Pacer::default();
        let mut now = Instant::now();
        let mut rest = Duration::ZERO;
        let mut rests = Vec::new();
        for _ in 0..passes {
            let started = now;
            now += pass;
            rest = pacer.rest(started, events(rest), now);
            rests.push(rest);
            now += rest;
        }
        rests
    }

    #[test]
    fn a_pacer_idle_for_minutes_after_a_load_keeps_resting_the_whole_coalesce() {
        // Found in a server whose agents all went away: the rate decays by a quarter a pass,
        // and after about 34 s (150 passes) `PASS_EVENTS / rate` overflowed a `Duration`.
        let mut pacer = Pacer::default();
        let mut now = Instant::now();
        let pass = Duration::from_millis(1);
        for _ in 0..100 {
            let started = now;
            now += pass;
            now += pacer.rest(started, 500, now);
        }
        // An idle I/O thread's pass is its whole epoll wait, TICK: an hour of those.
        for _ in 0..(3600 * 4) {
            let started = now;
            now += TICK;
            let rest = pacer.rest(started, 0, now);
            assert_eq!(
                rest,
                Duration::ZERO,
                "a pass longer than COALESCE rests no more"
            );
        }
        // Then an agent connects and wakes it: a short pass rests as at light load.
        let started = now;
        now += pass;
        assert_eq!(pacer.rest(started, 1, now), COALESCE - pass);
    }

    #[test]
    fn a_pacer_survives_any_rate_from_one_event_in_a_nanosecond_to_none() {
        let mut pacer = Pacer::default();
        let start = Instant::now();
        for (events, span) in [
            (usize::MAX, Duration::from_nanos(1)),
            (0, Duration::from_nanos(1)),
            (1, Duration::from_secs(86_400 * 365)),
            (0, Duration::from_secs(86_400 * 365 * 100)),
        ] {
            let now = start + span;
            let rest = pacer.rest(start, events, now);
            assert!(rest <= COALESCE, "{rest:?}");
        }
    }

    #[test]
    fn a_light_load_rests_the_whole_coalesce() {
        // 1,000 agents a second on one thread: 50 events in 50 ms.
        let rests = pace(50, Duration::from_millis(1), |rest| {
            (rest.as_secs_f64() * 1000.0).round() as usize
        });
        assert!(
            rests
                .iter()
                .all(|r| *r == COALESCE - Duration::from_millis(1)),
            "{rests:?}"
        );
    }

    #[test]
    fn a_steady_stream_rests_until_a_batch_has_gathered() {
        // 20,000 samples a second: 256 of them take 12.8 ms to arrive.
        let rests = pace(100, Duration::from_millis(1), |rest| {
            ((rest + Duration::from_millis(1)).as_secs_f64() * 20_000.0).round() as usize
        });
        let last = rests.last().unwrap().as_secs_f64() * 1000.0;
        assert!((11.0..12.6).contains(&last), "{last} ms");
    }

    #[test]
    fn agents_waiting_for_acks_are_not_held_to_a_window_a_rest() {
        // Agents that send a window as soon as it is acknowledged: a pass finds the same 800
        // samples however long the rest before it was. A fixed rest would make it 800 a rest.
        let rests = pace(20, Duration::from_millis(1), |_| 800);
        assert_eq!(rests[0], COALESCE - Duration::from_millis(1));
        assert!(rests[12..].iter().all(|r| r.is_zero()), "{rests:?}");
        let rested: Duration = rests.iter().sum();
        assert!(rested < Duration::from_millis(250), "{rested:?}");
    }
}
