//! Reconnect delays: start at `min`, double after each failure up to `max`, with
//! "equal jitter" (half fixed, half random) from an injected random source, so many
//! clients do not retry in step. Reset after a connection that opened. Pure.

use std::time::Duration;

/// How long a connection must have stayed open to start the backoff over.
pub const STABLE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    /// Failures in a row since the last reset.
    failures: u32,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            failures: 0,
        }
    }

    /// The delay before the next attempt, before jitter: `min * 2^failures`, capped.
    pub fn base(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        self.min.saturating_mul(factor).min(self.max)
    }

    /// The delay before the next attempt, with jitter: uniform in `[base/2, base]`.
    /// `unit` is a random number in `[0, 1)`. Counts one more failure.
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        let base = self.base();
        self.failures = self.failures.saturating_add(1);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let half = base / 2;
        half + (base - half).mul_f64(unit)
    }

    /// A connection opened: start over from `min`.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// A connection that opened ended after `lasted`. One that stayed up at least
    /// [`STABLE`] starts the backoff over (true: the next attempt is attempt 1),
    /// however long the delay had grown; one that ended sooner counts as a failure,
    /// so a server that accepts and drops at once is not hammered and `--max-retries`
    /// can trip. Issue 17: a 5.3 s connection was followed by a 12 s wait, because the
    /// bar was the grown delay rather than a fixed time.
    pub fn connection_ended(&mut self, lasted: Duration) -> bool {
        if lasted >= STABLE {
            self.reset();
            true
        } else {
            false
        }
    }

    #[cfg(test)]
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn issue17_a_connection_that_stayed_up_starts_over_whatever_the_delay() {
        let mut b = Backoff::new(ms(1000), ms(60_000));
        for _ in 0..4 {
            b.next_delay(0.5);
        }
        assert_eq!(b.base(), ms(16_000));
        // Up 1.9 s: a failure still, the delay keeps growing.
        assert!(!b.connection_ended(ms(1900)));
        assert_eq!(b.failures(), 4);
        // Up 5.3 s, less than the 16 s the delay had grown to: start over.
        assert!(b.connection_ended(ms(5300)));
        assert_eq!(b.failures(), 0);
        assert_eq!(b.base(), ms(1000));
    }

    #[test]
    fn doubles_from_min_up_to_max() {
        let mut b = Backoff::new(ms(250), ms(2000));
        let bases: Vec<_> = (0..6)
            .map(|_| {
                let base = b.base();
                b.next_delay(0.999_999);
                base
            })
            .collect();
        assert_eq!(
            bases,
            [ms(250), ms(500), ms(1000), ms(2000), ms(2000), ms(2000)]
        );
    }

    #[test]
    fn jitter_stays_within_half_to_full_base() {
        for unit in [0.0, 0.25, 0.5, 0.99, 1.0, f64::NAN, -3.0, 7.0] {
            let mut b = Backoff::new(ms(1000), ms(30_000));
            let d = b.next_delay(unit);
            assert!(d >= ms(500) && d <= ms(1000), "{unit}: {d:?}");
        }
        let mut b = Backoff::new(ms(1000), ms(30_000));
        assert_eq!(b.next_delay(0.0), ms(500));
        assert_eq!(b.next_delay(0.0), ms(1000));
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(ms(100), ms(10_000));
        for _ in 0..5 {
            b.next_delay(0.5);
        }
        assert_eq!(b.failures(), 5);
        b.reset();
        assert_eq!(b.base(), ms(100));
    }

    #[test]
    fn no_overflow_after_many_failures() {
        let mut b = Backoff::new(ms(250), ms(30_000));
        for _ in 0..1000 {
            assert!(b.next_delay(0.7) <= ms(30_000));
        }
    }

    #[test]
    fn max_below_min_is_min() {
        let b = Backoff::new(ms(500), ms(10));
        assert_eq!(b.base(), ms(500));
    }
}
