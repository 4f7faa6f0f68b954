//! The Management API as `tokenseal migrate` uses it, from many threads at once.
//!
//! Every decision comes from the library: how a response is judged
//! (`calls::judge_response` under `calls::MIGRATE`: waits, retries, one new token when the
//! current one is refused, for example after it expired mid-run), how calls are paced
//! against the tenant's token bucket (`pacing::Pacer`), how values are percent-encoded
//! (`form`). This file sends requests and waits as told.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokenseal::calls::{judge_response, CallResult, Verdict, MIGRATE};
use tokenseal::form;
use tokenseal::json::{Json, Object};
use tokenseal::pacing::{Pacer, RateHeaders};
use tokenseal::Error;
use zeroize::Zeroizing;

/// The search query of users holding the old rule's plaintext (user search v3,
/// `_exists_`: manage-users/user-search/user-search-query-syntax).
pub const PLAINTEXT_QUERY: &str = "_exists_:app_metadata.refresh_token";
/// Auth0's user search returns at most this many users for a query, however it is
/// paged (manage-users/user-search/view-search-results-by-page).
pub const SEARCH_CAP: u64 = 1000;
/// Users per search page: the most `GET /api/v2/users` accepts.
const PER_PAGE: u64 = 100;
/// How often the export job is asked whether it is done.
const EXPORT_POLL: Duration = Duration::from_millis(500);
/// How long an export job may take before the run gives up on it.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(3600);

/// Counts a run reports.
#[derive(Default)]
pub struct Counters {
    /// Requests sent to the Management API.
    pub requests: AtomicU64,
    /// Answers that were 429.
    pub rate_limited: AtomicU64,
    /// New tokens fetched after the first (expired or refused ones).
    pub reauthentications: AtomicU64,
}

/// A call that did not succeed: its code, and the status when there was an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub error: Error,
    pub status: u16,
}

impl Refused {
    /// True when no other user could fare better: the credentials or their scopes are
    /// refused, so the run stops rather than skip every user.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.error,
            Error::ManagementUnauthorized | Error::ManagementForbidden
        )
    }
}

struct Token {
    value: Zeroizing<String>,
    generation: u64,
}

struct Slots {
    pacer: Pacer,
    in_flight: u32,
}

/// The client: one HTTP agent (no redirects followed), the current token, the pacer.
pub struct Management {
    agent: ureq::Agent,
    base: String,
    client_id: String,
    client_secret: Zeroizing<String>,
    token: Mutex<Token>,
    slots: Mutex<Slots>,
    slot_freed: Condvar,
    pub counters: Counters,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Management {
    /// Connects: builds the agent and fetches a first token.
    ///
    /// # Errors
    /// The token request's code (`ERR_MGMT_UNAUTHORIZED` for refused credentials).
    pub fn connect(
        base: &str,
        client_id: &str,
        client_secret: &str,
        max_concurrency: u32,
    ) -> Result<Self, Refused> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            // A redirect could carry the client secret or a bearer token to another
            // origin: the 3xx itself is the answer, judged like any other status.
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let api = Self {
            agent,
            base: base.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: Zeroizing::new(client_secret.to_owned()),
            token: Mutex::new(Token {
                value: Zeroizing::new(String::new()),
                generation: 0,
            }),
            slots: Mutex::new(Slots {
                pacer: Pacer::new(max_concurrency),
                in_flight: 0,
            }),
            slot_freed: Condvar::new(),
            counters: Counters::default(),
        };
        api.reauthenticate(0)?;
        Ok(api)
    }

    /// Fetches a new token unless another thread already replaced generation `seen`.
    fn reauthenticate(&self, seen: u64) -> Result<(), Refused> {
        let mut token = lock(&self.token);
        if token.generation != seen {
            return Ok(());
        }
        let mut body = Object::new();
        body.insert("grant_type", Json::from("client_credentials"));
        body.insert("client_id", Json::from(self.client_id.as_str()));
        body.insert("client_secret", Json::from(self.client_secret.as_str()));
        body.insert("audience", Json::from([&self.base, "/api/v2/"].concat()));
        let body = Zeroizing::new(Json::Object(body).to_text());
        let url = [&self.base, "/oauth/token"].concat();
        let reply = self.judged(|| (self.send("POST", &url, None, Some(&body)), 0), false)?;
        let value = Json::parse(&reply)
            .ok()
            .and_then(|j| {
                j.get("access_token")
                    .and_then(Json::as_str)
                    .map(str::to_owned)
            })
            .ok_or(Refused {
                error: Error::ManagementResponse,
                status: 200,
            })?;
        if token.generation > 0 {
            self.counters
                .reauthentications
                .fetch_add(1, Ordering::Relaxed);
        }
        token.value = Zeroizing::new(value);
        token.generation += 1;
        Ok(())
    }

    /// One Management API call with the current token, judged and retried; a refused
    /// token is replaced once (by whichever thread sees the refusal first).
    fn call(&self, method: &str, url: &str, body: Option<&str>) -> Result<String, Refused> {
        self.judged(
            || {
                let (auth, generation) = {
                    let token = lock(&self.token);
                    let auth = Zeroizing::new(format!("Bearer {}", token.value.as_str()));
                    (auth, token.generation)
                };
                (self.send(method, url, Some(&auth), body), generation)
            },
            true,
        )
    }

    /// Makes `request` as the library's verdicts say; `request` also returns the token
    /// generation it used, so that a refusal replaces that token and no newer one.
    fn judged(
        &self,
        mut request: impl FnMut() -> (Answer, u64),
        cached_token: bool,
    ) -> Result<String, Refused> {
        let mut attempt = 0;
        // The token generation this call fetched itself after a refusal: a refusal of
        // that one is final.
        let mut fetched: Option<u64> = None;
        loop {
            let (answer, generation) = request();
            let verdict = judge_response(
                &CallResult {
                    status: answer.status,
                    timed_out: answer.timed_out,
                    retry_after: answer.retry_after.as_deref(),
                    rate_limit_reset: answer.rate_limit_reset.as_deref(),
                    now_ms: now_ms(),
                    attempt,
                    remaining_ms: u64::MAX,
                    cached_token: cached_token && fetched != Some(generation),
                },
                &MIGRATE,
            );
            match verdict {
                Verdict::Done => return Ok(answer.body),
                Verdict::RetryAfter(ms) => sleep(Duration::from_millis(ms)),
                Verdict::Reauthenticate => {
                    self.reauthenticate(generation)?;
                    fetched = Some(lock(&self.token).generation);
                }
                Verdict::Fail(error) => {
                    return Err(Refused {
                        error,
                        status: answer.status,
                    })
                }
            }
            attempt += 1;
        }
    }

    /// Sends one request when the pacer allows, and tells it the answer.
    fn send(&self, method: &str, url: &str, auth: Option<&str>, body: Option<&str>) -> Answer {
        self.take_slot();
        let answer = self.send_now(method, url, auth, body);
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        if answer.status == 429 {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        let mut slots = lock(&self.slots);
        slots.in_flight -= 1;
        slots.pacer.observe(
            answer.status,
            &RateHeaders {
                limit: answer.rate_limit_limit.as_deref(),
                remaining: answer.rate_limit_remaining.as_deref(),
                reset: answer.rate_limit_reset.as_deref(),
                retry_after: answer.retry_after.as_deref(),
            },
            now_ms(),
        );
        drop(slots);
        self.slot_freed.notify_all();
        answer
    }

    /// Waits until fewer calls than the pacer allows are in flight and its hold is over.
    fn take_slot(&self) {
        let mut slots = lock(&self.slots);
        loop {
            let now = now_ms();
            let hold = slots.pacer.not_before_ms().saturating_sub(now);
            if hold == 0 && slots.in_flight < slots.pacer.concurrency() {
                slots.in_flight += 1;
                return;
            }
            let wait = if hold > 0 {
                Duration::from_millis(hold)
            } else {
                Duration::from_millis(100)
            };
            slots = self
                .slot_freed
                .wait_timeout(slots, wait)
                .map_or_else(|poisoned| poisoned.into_inner().0, |(guard, _)| guard);
        }
    }

    fn send_now(&self, method: &str, url: &str, auth: Option<&str>, body: Option<&str>) -> Answer {
        let result = match (method, body) {
            ("GET", _) => {
                let request = self.agent.get(url);
                match auth {
                    Some(auth) => request.header("authorization", auth).call(),
                    None => request.call(),
                }
            }
            (method, body) => {
                let request = if method == "PATCH" {
                    self.agent.patch(url)
                } else {
                    self.agent.post(url)
                };
                let request = request.header("content-type", "application/json");
                let request = match auth {
                    Some(auth) => request.header("authorization", auth),
                    None => request,
                };
                request.send(body.unwrap_or("{}"))
            }
        };
        match result {
            Ok(mut response) => {
                let header = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let mut answer = Answer {
                    status: response.status().as_u16(),
                    timed_out: false,
                    retry_after: header("retry-after"),
                    rate_limit_reset: header("x-ratelimit-reset"),
                    rate_limit_remaining: header("x-ratelimit-remaining"),
                    rate_limit_limit: header("x-ratelimit-limit"),
                    body: String::new(),
                };
                match response.body_mut().read_to_string() {
                    Ok(body) => answer.body = body,
                    Err(_) => answer.status = 0,
                }
                answer
            }
            Err(error) => Answer {
                status: 0,
                timed_out: matches!(error, ureq::Error::Timeout(_)),
                ..Answer::default()
            },
        }
    }

    /// One page of a user search (user search v3): the user ids, and the total when
    /// asked for.
    ///
    /// # Errors
    /// The call's code.
    pub fn search(
        &self,
        query: &str,
        page: u64,
        per_page: u64,
        include_totals: bool,
    ) -> Result<(Vec<String>, Option<u64>), Refused> {
        let mut q = String::new();
        form::form_value(query, &mut q);
        let url = format!(
            "{}/api/v2/users?q={q}&search_engine=v3&per_page={per_page}&page={page}&include_totals={include_totals}&fields=user_id&include_fields=true",
            self.base
        );
        let body = self.call("GET", &url, None)?;
        let json = Json::parse(&body).map_err(|_| response_error())?;
        let (users, total) = match &json {
            Json::Array(users) => (users.as_slice(), None),
            object => (
                object
                    .get("users")
                    .and_then(Json::as_array)
                    .ok_or_else(response_error)?,
                object.get("total").and_then(Json::as_u64),
            ),
        };
        let ids = users
            .iter()
            .filter_map(|u| u.get("user_id").and_then(Json::as_str).map(str::to_owned))
            .collect();
        Ok((ids, total))
    }

    /// How many users the search index lists with plaintext now.
    ///
    /// # Errors
    /// The call's code.
    pub fn count_plaintext(&self) -> Result<u64, Refused> {
        self.search(PLAINTEXT_QUERY, 0, 1, true)?
            .1
            .ok_or_else(response_error)
    }

    /// Every user the search lists with plaintext, when the search can list them all
    /// (at most [`SEARCH_CAP`]): all pages are read before any user is changed, so no
    /// user needs to drop out of the results for another to be reached.
    ///
    /// # Errors
    /// The calls' codes.
    pub fn search_plaintext(&self) -> Result<Vec<String>, Refused> {
        let mut ids = Vec::new();
        let mut page = 0;
        while (page + 1) * PER_PAGE <= SEARCH_CAP {
            let (found, _) = self.search(PLAINTEXT_QUERY, page, PER_PAGE, false)?;
            let last = found.len() < usize::try_from(PER_PAGE).unwrap_or(usize::MAX);
            ids.extend(found);
            if last {
                break;
            }
            page += 1;
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Every user with plaintext, from a bulk user export (`POST
    /// /api/v2/jobs/users-exports` with fields `user_id` and `app_metadata`, JSON format:
    /// manage-users/user-migration/bulk-user-exports): the job is polled until it is
    /// completed, and its file (gzipped NDJSON, one user per line) is read from the
    /// job's `location` without the bearer token (a pre-signed URL).
    ///
    /// # Errors
    /// The calls' codes; `ERR_MGMT_RESPONSE` for a job that failed, did not finish in an
    /// hour, or a file that is not what the export documents.
    pub fn export_plaintext(&self) -> Result<Vec<String>, Refused> {
        let request = r#"{"format":"json","fields":[{"name":"user_id"},{"name":"app_metadata"}]}"#;
        let job = self.call(
            "POST",
            &format!("{}/api/v2/jobs/users-exports", self.base),
            Some(request),
        )?;
        let id = Json::parse(&job)
            .ok()
            .and_then(|j| j.get("id").and_then(Json::as_str).map(str::to_owned))
            .ok_or_else(response_error)?;
        let url = format!("{}/api/v2/jobs/{}", self.base, form::path_segment(&id));
        let started = std::time::Instant::now();
        let location = loop {
            let job = Json::parse(&self.call("GET", &url, None)?).map_err(|_| response_error())?;
            match job.get("status").and_then(Json::as_str) {
                Some("completed") => {
                    break job
                        .get("location")
                        .and_then(Json::as_str)
                        .map(str::to_owned)
                        .ok_or_else(response_error)?
                }
                Some("failed") => return Err(response_error()),
                _ if started.elapsed() > EXPORT_TIMEOUT => return Err(response_error()),
                _ => sleep(EXPORT_POLL),
            }
        };
        // The file is not the Management API: no token, no pacing.
        let bytes = self.fetch_file(&location)?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .map_err(|_| response_error())?;
        let mut ids = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match Json::parse(line) {
                Ok(user) => {
                    let holds_plaintext = user
                        .get("app_metadata")
                        .and_then(|m| m.get(tokenseal::login::LEGACY_KEY))
                        .is_some_and(|v| !v.is_null());
                    if let (true, Some(id)) =
                        (holds_plaintext, user.get("user_id").and_then(Json::as_str))
                    {
                        ids.push(id.to_owned());
                    }
                }
                // A line this parser refuses (a lone UTF-16 surrogate somewhere in the
                // user's metadata, say) is not the end of the run: if it may hold
                // plaintext, the user is read and judged on its own, and reported.
                Err(_) if line.contains("\"refresh_token\"") => ids.extend(user_id_of(line)),
                Err(_) => {}
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// The export file: gzip bytes, up to 4 GiB.
    fn fetch_file(&self, url: &str) -> Result<Vec<u8>, Refused> {
        let unavailable = |status| Refused {
            error: Error::ManagementUnavailable,
            status,
        };
        let mut response = self.agent.get(url).call().map_err(|_| unavailable(0))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(Refused {
                error: Error::ManagementFailed,
                status,
            });
        }
        response
            .body_mut()
            .with_config()
            .limit(4 * 1024 * 1024 * 1024)
            .read_to_vec()
            .map_err(|_| unavailable(status))
    }

    /// `GET /api/v2/users/{id}`: the user's `user_id` and `app_metadata` as stored now
    /// (nothing else of the user: a field migrate does not read can be neither costly nor
    /// in the way), or `None` when the user no longer exists.
    ///
    /// # Errors
    /// The call's code.
    pub fn get_user(&self, id: &str) -> Result<Option<String>, Refused> {
        let url = format!(
            "{}/api/v2/users/{}?fields=user_id%2Capp_metadata&include_fields=true",
            self.base,
            form::path_segment(id)
        );
        match self.call("GET", &url, None) {
            Ok(body) => Ok(Some(body)),
            Err(Refused { status: 404, .. }) => Ok(None),
            Err(refused) => Err(refused),
        }
    }

    /// `PATCH /api/v2/users/{id}` with `{"app_metadata": ...}`: a top-level merge, `null`
    /// deleting a member (manage-users/user-accounts/metadata/manage-metadata-api).
    ///
    /// # Errors
    /// The call's code.
    pub fn patch_app_metadata(&self, id: &str, app_metadata: Object) -> Result<(), Refused> {
        let url = format!("{}/api/v2/users/{}", self.base, form::path_segment(id));
        let mut body = Object::new();
        body.insert("app_metadata", Json::Object(app_metadata));
        self.call("PATCH", &url, Some(&Json::Object(body).to_text()))
            .map(|_| ())
    }
}

/// One answer, reduced to what the judgement and the pacing need.
#[derive(Default)]
struct Answer {
    status: u16,
    timed_out: bool,
    retry_after: Option<String>,
    rate_limit_reset: Option<String>,
    rate_limit_remaining: Option<String>,
    rate_limit_limit: Option<String>,
    body: String,
}

/// The `user_id` of an export line that does not parse as a whole: the value of a
/// `"user_id"` member (whitespace allowed around its colon), when that is a plain string
/// (no escapes). A line whose id cannot be found this way is left to the final check,
/// which lists the users that still hold plaintext and fails on any not reported.
fn user_id_of(line: &str) -> Option<String> {
    let mut rest = line;
    while let Some((_, after)) = rest.split_once("\"user_id\"") {
        rest = after;
        let value = after.trim_start().strip_prefix(':')?.trim_start();
        let Some(value) = value.strip_prefix('"') else {
            continue;
        };
        let (id, _) = value.split_once('"')?;
        if !id.is_empty() && !id.contains('\\') {
            return Some(id.to_owned());
        }
    }
    None
}

fn response_error() -> Refused {
    Refused {
        error: Error::ManagementResponse,
        status: 200,
    }
}

/// Locks a mutex; a poisoned one (a thread panicked) is still usable for counters,
/// tokens and tallies, whose values are always consistent between statements.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::user_id_of;

    #[test]
    fn the_user_id_of_a_line_that_does_not_parse() {
        assert_eq!(
            user_id_of(r#"{"user_id":"auth0|a","app_metadata":{"x":"\ud800"}}"#).as_deref(),
            Some("auth0|a")
        );
        assert_eq!(
            user_id_of(r#"{"app_metadata":{"refresh_token":"1//x"}, "user_id" : "auth0|b"}"#)
                .as_deref(),
            Some("auth0|b"),
            "whitespace around the colon, and after app_metadata"
        );
        assert_eq!(
            user_id_of(r#"{"user_id":"a\"b"}"#),
            None,
            "escapes: not guessed"
        );
        assert_eq!(user_id_of(r#"{"app_metadata":{}}"#), None);
    }
}
