//! Pacing a long run of Management API calls (`tokenseal migrate`) so that its
//! throughput approaches the tenant's rate limit without living on 429s.
//!
//! Auth0 limits the Management API with a token bucket ("Burst limit: Equal to bucket
//! size", "Sustained rate limit: Refill rate"; rate-limit policy) and reports it on every
//! answer: `X-RateLimit-Limit` (the bucket size), `X-RateLimit-Remaining` (tokens left)
//! and `X-RateLimit-Reset` ("UNIX timestamp, in seconds, of the expected time when
//! additional requests will be added to the bucket"). Network latency, not the limit,
//! bounds one connection, so the run keeps several calls in flight; this decides how many
//! and when the next may start:
//!
//! - additive increase: one more call in flight after each run of `concurrency` answers
//!   that left the bucket at least twice that full, up to the maximum;
//! - the refill rate is estimated from the answers (tokens left now, less tokens left
//!   before, plus the calls answered in between, over the time between), while the
//!   bucket is not full;
//! - a bucket about to run dry (fewer tokens left than calls in flight) holds new calls
//!   for as long as the estimated rate takes to bring that many back (until the reset
//!   time while there is no estimate yet): the reset time is given in whole seconds,
//!   and a bucket smaller than a second of refill would lose tokens over it;
//! - multiplicative decrease on a 429: half the calls in flight, and none before the
//!   reset time (or `Retry-After`).
//!
//! Pure: the caller passes the time and the headers, and waits as told.

/// The rate-limit headers of one answer, as text (absent ones `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders<'a> {
    /// `X-RateLimit-Limit`: the bucket size.
    pub limit: Option<&'a str>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<&'a str>,
    /// `X-RateLimit-Reset`: Unix seconds.
    pub reset: Option<&'a str>,
    /// `Retry-After`: seconds.
    pub retry_after: Option<&'a str>,
}

/// How many calls may be in flight, and when the next may start.
#[derive(Debug, Clone, PartialEq)]
pub struct Pacer {
    concurrency: u32,
    max_concurrency: u32,
    not_before_ms: u64,
    good_answers: u32,
    /// The last answer that said how many tokens were left: (time, tokens).
    last_remaining: Option<(u64, u64)>,
    /// Answers since then: each spent a token.
    answered_since: u64,
    /// Estimated refill, in tokens per second (an exponential moving average).
    refill_per_second: Option<f64>,
    /// The time of the last answer, in milliseconds.
    clock_ms: u64,
}

impl Eq for Pacer {}

/// Calls in flight when a run starts: enough to hide latency, few enough that a small
/// bucket (2 per second on free tenants) is not emptied at once.
const START_CONCURRENCY: u32 = 2;
/// Shortest hold after a 429 whose reset time has passed already, in milliseconds.
const MIN_HOLD_MS: u64 = 50;
/// Longest hold, whatever a header says: a reset time far away (a wrong clock, a hostile
/// answer) must not stall the run; past it a call tries again and is judged.
const MAX_HOLD_MS: u64 = 60_000;

impl Pacer {
    /// A pacer allowing at most `max_concurrency` calls in flight (at least 1).
    #[must_use]
    pub fn new(max_concurrency: u32) -> Self {
        let max_concurrency = max_concurrency.max(1);
        Self {
            concurrency: START_CONCURRENCY.min(max_concurrency),
            max_concurrency,
            not_before_ms: 0,
            good_answers: 0,
            last_remaining: None,
            answered_since: 0,
            refill_per_second: None,
            clock_ms: 0,
        }
    }

    /// Calls that may be in flight now.
    #[must_use]
    pub const fn concurrency(&self) -> u32 {
        self.concurrency
    }

    /// No call should start before this time (milliseconds since the epoch).
    #[must_use]
    pub const fn not_before_ms(&self) -> u64 {
        self.not_before_ms
    }

    /// Takes in one answer: its status (0 for none) and rate-limit headers, at `now_ms`.
    pub fn observe(&mut self, status: u16, headers: &RateHeaders<'_>, now_ms: u64) {
        self.clock_ms = now_ms;
        let number = |value: Option<&str>| value.and_then(|v| v.trim().parse::<u64>().ok());
        let reset_ms = number(headers.reset).map(|s| s.saturating_mul(1000));
        let remaining = number(headers.remaining);
        self.estimate_refill(remaining, number(headers.limit), now_ms);
        if status == 429 {
            self.concurrency = (self.concurrency / 2).max(1);
            self.good_answers = 0;
            let until = match number(headers.retry_after) {
                Some(seconds) => now_ms.saturating_add(seconds.saturating_mul(1000)),
                None => reset_ms.unwrap_or(0),
            };
            self.hold_until(until.max(now_ms + MIN_HOLD_MS));
            return;
        }
        match remaining {
            Some(left) if left < u64::from(self.concurrency) => {
                self.good_answers = 0;
                let missing = u64::from(self.concurrency) - left;
                let hold = match self.refill_per_second {
                    // Milliseconds for `missing` tokens, at least one.
                    Some(rate) if rate > 0.0 => {
                        Some(now_ms + ((missing as f64 * 1000.0 / rate).ceil() as u64).max(1))
                    }
                    _ => reset_ms,
                };
                if let Some(at) = hold.map(|at| reset_ms.map_or(at, |reset| at.min(reset))) {
                    self.hold_until(at);
                }
            }
            Some(left) if left < 2 * u64::from(self.concurrency) => self.good_answers = 0,
            _ => {
                self.good_answers += 1;
                if self.good_answers >= self.concurrency {
                    self.good_answers = 0;
                    self.concurrency = (self.concurrency + 1).min(self.max_concurrency);
                }
            }
        }
    }

    /// Updates the refill estimate from one answer's `remaining` (and the bucket size,
    /// to skip answers from a full bucket, whose refill was capped).
    fn estimate_refill(&mut self, remaining: Option<u64>, limit: Option<u64>, now_ms: u64) {
        let Some(left) = remaining else {
            self.answered_since += 1;
            return;
        };
        if let Some((then, left_then)) = self.last_remaining {
            let full = |tokens: u64| limit.is_some_and(|limit| tokens >= limit);
            let elapsed = now_ms.saturating_sub(then);
            if elapsed >= 10 && !full(left) && !full(left_then) {
                let refilled = (left + self.answered_since + 1).saturating_sub(left_then);
                let sample = refilled as f64 * 1000.0 / elapsed as f64;
                self.refill_per_second = Some(
                    self.refill_per_second
                        .map_or(sample, |rate| 0.8 * rate + 0.2 * sample),
                );
            }
            if elapsed < 10 {
                // Too close to measure: count the answer towards the next sample.
                self.answered_since += 1;
                return;
            }
        }
        self.last_remaining = Some((now_ms, left));
        self.answered_since = 0;
    }

    fn hold_until(&mut self, at_ms: u64) {
        self.not_before_ms = self
            .not_before_ms
            .max(at_ms)
            .min(self.clock_ms + MAX_HOLD_MS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(remaining: &'a str, reset: &'a str) -> RateHeaders<'a> {
        RateHeaders {
            limit: None,
            remaining: Some(remaining),
            reset: Some(reset),
            retry_after: None,
        }
    }

    #[test]
    fn grows_while_the_bucket_is_full() {
        let mut p = Pacer::new(8);
        assert_eq!(p.concurrency(), 2);
        for _ in 0..200 {
            p.observe(200, &headers("40", "1001"), 1_000_000);
        }
        assert_eq!(p.concurrency(), 8, "up to the maximum");
        assert_eq!(p.not_before_ms(), 0, "never held");
        let mut p = Pacer::new(8);
        for _ in 0..200 {
            p.observe(200, &RateHeaders::default(), 1_000_000);
        }
        assert_eq!(p.concurrency(), 8, "no headers: grows too");
    }

    /// A pacer grown to 8 calls in flight, with no refill estimate yet.
    fn grown() -> Pacer {
        let mut p = Pacer::new(8);
        for _ in 0..50 {
            p.observe(200, &RateHeaders::default(), 1_000_000);
        }
        assert_eq!(p.concurrency(), 8);
        p
    }

    #[test]
    fn holds_until_the_reset_when_the_bucket_runs_dry() {
        let mut p = grown();
        let c = p.concurrency();
        p.observe(200, &headers("1", "1001"), 1_000_200);
        assert_eq!(p.not_before_ms(), 1_001_000);
        assert_eq!(p.concurrency(), c, "a low bucket holds, it does not shrink");
    }

    #[test]
    fn a_dry_bucket_holds_only_as_long_as_the_refill_needs() {
        // 400 tokens a second into a bucket of 100: drained, then watched refilling.
        let mut p = grown();
        let limit = |remaining| RateHeaders {
            limit: Some("100"),
            ..headers(remaining, "1001")
        };
        p.observe(200, &limit("50"), 1_000_000);
        // 100 ms later: 9 answers in between, 40 tokens refilled, 1 spent by this one.
        for _ in 0..9 {
            p.observe(200, &RateHeaders::default(), 1_000_050);
        }
        p.observe(200, &limit("80"), 1_000_100);
        let rate = p.refill_per_second.expect("estimated");
        assert!((rate - 400.0).abs() < 1.0, "{rate}");
        p.observe(200, &limit("2"), 1_000_200);
        let hold = p.not_before_ms() - 1_000_200;
        assert!(
            hold > 0 && hold <= 20,
            "a few tokens' worth, not a second: {hold} ms"
        );
    }

    #[test]
    fn a_429_halves_and_holds() {
        let mut p = Pacer::new(8);
        for _ in 0..200 {
            p.observe(200, &headers("40", "1001"), 1_000_000);
        }
        p.observe(429, &headers("0", "1002"), 1_000_500);
        assert_eq!(p.concurrency(), 4);
        assert_eq!(p.not_before_ms(), 1_002_000);
        p.observe(
            429,
            &RateHeaders {
                retry_after: Some("3"),
                ..RateHeaders::default()
            },
            1_000_600,
        );
        assert_eq!(p.concurrency(), 2);
        assert_eq!(p.not_before_ms(), 1_003_600, "Retry-After when given");
        p.observe(429, &headers("0", "900"), 1_004_000);
        assert_eq!(p.concurrency(), 1, "never below one");
        assert_eq!(
            p.not_before_ms(),
            1_004_050,
            "a reset in the past: a short hold"
        );
        p.observe(429, &headers("0", "99999999999"), 1_005_000);
        assert_eq!(
            p.not_before_ms(),
            1_065_000,
            "a reset far away: held a minute at most"
        );
    }
}
