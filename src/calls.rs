//! How a Management API response is judged: retry it, wait, fetch a new token, or give
//! up with a code. One judgement for every caller; what differs is the [`RetryPolicy`]:
//! a login has seconds ([`LOGIN`]), `tokenseal migrate` has a run of hours ([`MIGRATE`]).
//! The caller performs the calls; every decision about them is made here.

use crate::error::Error;

/// Longest time an adapter may spend on Management API calls in one login: the Action's
/// reads with their retries, the Rule's one write. Auth0 gives a trigger 20 s in all
/// (customize/actions/limitations), and a rule chain the same; the rest is left for
/// other Actions and rules.
pub const CALL_BUDGET_MS: u64 = 10_000;
/// Timeout of one HTTP call of the Action.
pub const CALL_TIMEOUT_MS: u64 = 4_000;
/// Shortest time worth giving a call: with less budget left, the Action does not start
/// one. Each call's timeout is the smaller of [`CALL_TIMEOUT_MS`] and the budget left,
/// so the whole read ends within [`CALL_BUDGET_MS`].
pub const MIN_CALL_MS: u64 = 500;

/// How persistent a caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of a call answered 429 (rate limited).
    pub rate_limited_retries: u32,
    /// Retries of a call that got no answer or a 5xx.
    pub unavailable_retries: u32,
    /// Longest wait before a retry, whatever the server asks; a longer wait fails.
    pub max_wait_ms: u64,
    /// Time a call needs after its wait; a retry that would end past the budget fails.
    pub min_call_ms: u64,
}

/// A login: one retry, waits of at most 3 s, within [`CALL_BUDGET_MS`].
pub const LOGIN: RetryPolicy = RetryPolicy {
    rate_limited_retries: 1,
    unavailable_retries: 1,
    max_wait_ms: 3_000,
    min_call_ms: MIN_CALL_MS,
};

/// `tokenseal migrate`: rate limits are the normal state of a long run, so a 429 is
/// waited out many times (the run's pacing keeps them rare); an outage is retried a
/// few times, then the user is skipped and a rerun picks it up.
pub const MIGRATE: RetryPolicy = RetryPolicy {
    rate_limited_retries: 20,
    unavailable_retries: 3,
    max_wait_ms: 60_000,
    min_call_ms: 0,
};

/// One Management API response (or its absence), as the caller saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallResult<'a> {
    /// HTTP status; `0` when no response came (network error or timeout).
    pub status: u16,
    /// True when the call was abandoned at its timeout.
    pub timed_out: bool,
    /// The `Retry-After` header, if any (seconds, RFC 9110 §10.2.3).
    pub retry_after: Option<&'a str>,
    /// The `X-RateLimit-Reset` header, if any: the Unix time, in seconds, "when
    /// additional requests will be added to the bucket" (Auth0 rate-limit policy).
    pub rate_limit_reset: Option<&'a str>,
    /// Now, in milliseconds since the epoch (to turn the reset time into a wait).
    pub now_ms: u64,
    /// 0 for the first attempt of this call, then 1, 2, ...
    pub attempt: u32,
    /// Milliseconds left of the caller's budget (`u64::MAX` for none).
    pub remaining_ms: u64,
    /// True when the request used a token that could be stale: one obtained before this
    /// call (cached), not one fetched for it after a refusal.
    pub cached_token: bool,
}

/// What to do after a Management API response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The call succeeded: use the body.
    Done,
    /// Wait this many milliseconds, then make the call once more.
    RetryAfter(u64),
    /// The token was refused: drop it, get a new one, and make the call again.
    Reauthenticate,
    /// Give up on the call with this error.
    Fail(Error),
}

/// Judges a response under `policy`: retries for 429 and for no answer or 5xx, waiting
/// what `Retry-After` asks, else until `X-RateLimit-Reset`, else a default, when the
/// policy and the budget allow; a re-authentication when a token obtained earlier is
/// refused (it may have expired, even during a wait between attempts, or been revoked),
/// never for a token fetched for this call (a 403 is a missing scope, which a new token
/// would not have either); everything else fails with a code that names the cause.
#[must_use]
pub fn judge_response(call: &CallResult<'_>, policy: &RetryPolicy) -> Verdict {
    match call.status {
        200..=299 => return Verdict::Done,
        401 if call.cached_token && call.remaining_ms >= 2 * policy.min_call_ms => {
            return Verdict::Reauthenticate
        }
        401 => return Verdict::Fail(Error::ManagementUnauthorized),
        403 => return Verdict::Fail(Error::ManagementForbidden),
        _ => {}
    }
    let (retries, error, default_wait) = match call.status {
        0 if call.timed_out => (0, Error::ManagementTimeout, 0),
        0 => (
            policy.unavailable_retries,
            Error::ManagementUnavailable,
            250,
        ),
        429 => (
            policy.rate_limited_retries,
            Error::ManagementRateLimited,
            1_000,
        ),
        500..=599 => (
            policy.unavailable_retries,
            Error::ManagementUnavailable,
            250,
        ),
        _ => (0, Error::ManagementFailed, 0),
    };
    if call.attempt >= retries {
        return Verdict::Fail(error);
    }
    let seconds = |value: Option<&str>| value.and_then(|v| v.trim().parse::<u64>().ok());
    let wait = match (seconds(call.retry_after), seconds(call.rate_limit_reset)) {
        (Some(after), _) => after.saturating_mul(1000),
        (None, Some(reset)) if call.status == 429 => reset
            .saturating_mul(1000)
            .saturating_sub(call.now_ms)
            .max(50),
        _ => default_wait,
    };
    if wait <= policy.max_wait_ms && wait.saturating_add(policy.min_call_ms) <= call.remaining_ms {
        Verdict::RetryAfter(wait)
    } else {
        Verdict::Fail(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(status: u16) -> CallResult<'static> {
        CallResult {
            status,
            timed_out: false,
            retry_after: None,
            rate_limit_reset: None,
            now_ms: 1_000_000,
            attempt: 0,
            remaining_ms: CALL_BUDGET_MS,
            cached_token: false,
        }
    }

    fn login(call: &CallResult<'_>) -> Verdict {
        judge_response(call, &LOGIN)
    }

    #[test]
    fn responses_are_judged() {
        assert_eq!(login(&call(200)), Verdict::Done);
        assert_eq!(login(&call(429)), Verdict::RetryAfter(1000));
        assert_eq!(
            login(&CallResult {
                retry_after: Some("2"),
                ..call(429)
            }),
            Verdict::RetryAfter(2000)
        );
        assert_eq!(login(&call(503)), Verdict::RetryAfter(250));
        assert_eq!(login(&call(0)), Verdict::RetryAfter(250));
        // One retry only.
        assert_eq!(
            login(&CallResult {
                attempt: 1,
                ..call(503)
            }),
            Verdict::Fail(Error::ManagementUnavailable)
        );
        assert_eq!(
            login(&CallResult {
                attempt: 1,
                ..call(429)
            }),
            Verdict::Fail(Error::ManagementRateLimited)
        );
        // A wait longer than allowed, or than the budget, fails at once.
        assert_eq!(
            login(&CallResult {
                retry_after: Some("30"),
                ..call(429)
            }),
            Verdict::Fail(Error::ManagementRateLimited)
        );
        assert_eq!(
            login(&CallResult {
                remaining_ms: 1_400,
                ..call(429)
            }),
            Verdict::Fail(Error::ManagementRateLimited),
            "a 1 s wait plus a 0.5 s call needs 1.5 s"
        );
        assert_eq!(
            login(&CallResult {
                remaining_ms: 1_600,
                ..call(429)
            }),
            Verdict::RetryAfter(1000)
        );
        assert_eq!(
            login(&CallResult {
                timed_out: true,
                ..call(0)
            }),
            Verdict::Fail(Error::ManagementTimeout)
        );
        assert_eq!(
            login(&call(401)),
            Verdict::Fail(Error::ManagementUnauthorized)
        );
        assert_eq!(
            login(&CallResult {
                cached_token: true,
                ..call(401)
            }),
            Verdict::Reauthenticate
        );
        assert_eq!(
            login(&CallResult {
                cached_token: false,
                attempt: 1,
                ..call(401)
            }),
            Verdict::Fail(Error::ManagementUnauthorized),
            "the token fetched after a refusal is refused too"
        );
        assert_eq!(
            login(&CallResult {
                cached_token: true,
                attempt: 1,
                ..call(401)
            }),
            Verdict::Reauthenticate,
            "a cached token that expired during a retry's wait"
        );
        assert_eq!(login(&call(404)), Verdict::Fail(Error::ManagementFailed));
        assert_eq!(
            login(&CallResult {
                retry_after: Some("soon"),
                ..call(429)
            }),
            Verdict::RetryAfter(1000)
        );
    }

    #[test]
    fn a_429_without_retry_after_waits_for_the_bucket() {
        // Auth0 documents X-RateLimit-Reset, not Retry-After, on its 429s.
        let reset = CallResult {
            rate_limit_reset: Some("1001"),
            now_ms: 1_000_400,
            ..call(429)
        };
        assert_eq!(login(&reset), Verdict::RetryAfter(600));
        let past = CallResult {
            rate_limit_reset: Some("999"),
            ..reset
        };
        assert_eq!(
            login(&past),
            Verdict::RetryAfter(50),
            "a short pause at least"
        );
        let later = CallResult {
            rate_limit_reset: Some("1010"),
            ..reset
        };
        assert_eq!(login(&later), Verdict::Fail(Error::ManagementRateLimited));
        assert_eq!(
            judge_response(&later, &MIGRATE),
            Verdict::RetryAfter(9_600),
            "a run waits"
        );
    }

    #[test]
    fn a_run_retries_more_than_a_login() {
        let unbounded = |status, attempt| CallResult {
            attempt,
            remaining_ms: u64::MAX,
            ..call(status)
        };
        assert_eq!(
            judge_response(&unbounded(429, 19), &MIGRATE),
            Verdict::RetryAfter(1000)
        );
        assert_eq!(
            judge_response(&unbounded(429, 20), &MIGRATE),
            Verdict::Fail(Error::ManagementRateLimited)
        );
        assert_eq!(
            judge_response(&unbounded(503, 2), &MIGRATE),
            Verdict::RetryAfter(250)
        );
        assert_eq!(
            judge_response(&unbounded(503, 3), &MIGRATE),
            Verdict::Fail(Error::ManagementUnavailable)
        );
        // An expired token mid-run: one new token per call.
        let expired = CallResult {
            cached_token: true,
            ..unbounded(401, 0)
        };
        assert_eq!(judge_response(&expired, &MIGRATE), Verdict::Reauthenticate);
    }

    #[test]
    fn refused_tokens() {
        let cached = |status, remaining_ms| CallResult {
            cached_token: true,
            remaining_ms,
            ..call(status)
        };
        assert_eq!(login(&cached(401, CALL_BUDGET_MS)), Verdict::Reauthenticate);
        assert_eq!(
            login(&cached(403, CALL_BUDGET_MS)),
            Verdict::Fail(Error::ManagementForbidden)
        );
        assert_eq!(login(&call(403)), Verdict::Fail(Error::ManagementForbidden));
        assert_eq!(
            login(&cached(401, 900)),
            Verdict::Fail(Error::ManagementUnauthorized),
            "no budget left for two more calls"
        );
    }
}
