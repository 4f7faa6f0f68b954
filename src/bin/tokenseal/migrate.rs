//! `tokenseal migrate`: seals every plaintext `app_metadata.refresh_token` in the tenant
//! and removes it, completely and verifiably.
//!
//! 1. Enumerate: the users the search lists with plaintext when that is at most
//!    [`SEARCH_LIMIT`] (all pages read before anything changes), else a bulk user export
//!    (Auth0: "Do not use the List or Search Users endpoint to export users"), which
//!    reaches every user whatever the tenant's size. `--source` forces one.
//! 2. Migrate each user, several at a time as the tenant's rate limit allows: read it
//!    fresh, let the library decide ([`plan_migration`], the rules of a login), write only
//!    what changes. A problem with one user is a skip with a code, never the end of the
//!    run; only refused credentials or scopes stop it.
//! 3. Verify: list the users that still hold plaintext (the search, waiting for its
//!    index to catch up with the writes; past the search's cap an export) and fail when
//!    any of them was not reported as skipped.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use tokenseal::json::{Json, Object};
use tokenseal::legacy::LegacyPassword;
use tokenseal::login::{plan_migration, LegacyDecryptor, Migration};
use tokenseal::{Error, KeyRing, Nonce, User};

use crate::management::{lock, now_ms, Management, Refused, SEARCH_CAP};

/// Largest count of users with plaintext for which `--source auto` uses the search:
/// below Auth0's cap with room for the index's lag.
pub const SEARCH_LIMIT: u64 = SEARCH_CAP - 100;
/// Pause between two counts while the search index catches up with the run's writes.
const SETTLE_POLL: Duration = Duration::from_secs(2);

/// Where the users with plaintext come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// The search for at most 900 users, the export job above that.
    Auto,
    /// The user search (reaches at most 1,000 users).
    Search,
    /// The bulk user export job.
    Export,
}

/// How a run goes.
pub struct Options {
    pub dry_run: bool,
    pub source: Source,
    pub concurrency: u32,
    /// The report file, opened (and so checked) before the first request.
    pub report: Option<BufWriter<File>>,
    pub settle: Duration,
    pub legacy_password: Option<LegacyPassword>,
}

/// What happened to one user; its name is the report file's `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The plaintext was sealed (and deleted in the same write).
    Sealed,
    /// A valid sealed value was there already: only the plaintext was deleted.
    Cleaned,
    /// No plaintext when read fresh (migrated meanwhile, or deleted).
    AlreadyDone,
    /// Left as it is, with the reason.
    Skipped(&'static str),
}

impl Outcome {
    const fn name(self) -> &'static str {
        match self {
            Self::Sealed => "sealed",
            Self::Cleaned => "cleaned",
            Self::AlreadyDone => "already_done",
            Self::Skipped(_) => "skipped",
        }
    }
}

/// The counts of one run.
#[derive(Default)]
pub struct Tally {
    pub found: u64,
    pub sealed: u64,
    pub cleaned: u64,
    pub already_done: u64,
    pub skipped: BTreeMap<&'static str, u64>,
    /// Users that still hold plaintext after the run (not in a dry run).
    pub remaining: Option<u64>,
    /// Of those, the ones this run did not report as skipped.
    pub unreported: Option<u64>,
    pub source: &'static str,
    pub elapsed: Duration,
    /// The refusal that stopped the run before the end, if one did.
    pub stopped: Option<Refused>,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Sealed => self.sealed += 1,
            Outcome::Cleaned => self.cleaned += 1,
            Outcome::AlreadyDone => self.already_done += 1,
            Outcome::Skipped(code) => *self.skipped.entry(code).or_default() += 1,
        }
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Runs the migration and returns its tally; `stopped` says when a refusal ended it early.
pub fn run(
    api: &Management,
    keys: &KeyRing,
    options: &mut Options,
    progress: &ProgressBar,
) -> Tally {
    let started = Instant::now();
    let mut tally = Tally::default();
    let stop = |mut tally: Tally, refused: Refused| {
        tally.stopped = Some(refused);
        tally.elapsed = started.elapsed();
        tally
    };
    let (ids, source) = match enumerate(api, options.source) {
        Ok(found) => found,
        Err(refused) => return stop(tally, refused),
    };
    tally.source = source;
    tally.found = ids.len() as u64;
    progress.set_length(tally.found);

    let mut report = options.report.take();
    let options = &*options;
    let (counted, skipped_ids, fatal) =
        migrate_all(api, keys, &ids, options, &mut report, progress);
    tally.sealed = counted.sealed;
    tally.cleaned = counted.cleaned;
    tally.already_done = counted.already_done;
    tally.skipped = counted.skipped;
    if let Some(refused) = fatal {
        return stop(tally, refused);
    }
    if !options.dry_run {
        match verify(api, &skipped_ids, options.settle) {
            Ok((remaining, unreported)) => {
                tally.remaining = Some(remaining);
                tally.unreported = Some(unreported);
            }
            Err(refused) => return stop(tally, refused),
        }
    }
    tally.elapsed = started.elapsed();
    tally
}

/// Migrates every user of `ids` on up to `options.concurrency` threads, writing a report
/// line for each. Returns the counts, the skipped users' ids (sorted), and the refusal
/// that stopped the threads, if one did.
fn migrate_all(
    api: &Management,
    keys: &KeyRing,
    ids: &[String],
    options: &Options,
    report: &mut Option<BufWriter<File>>,
    progress: &ProgressBar,
) -> (Tally, Vec<String>, Option<Refused>) {
    let next = AtomicUsize::new(0);
    let halt = AtomicBool::new(false);
    let fatal = Mutex::new(None);
    let results = Mutex::new((Tally::default(), Vec::new(), report));
    std::thread::scope(|scope| {
        for _ in 0..options.concurrency.max(1) {
            scope.spawn(|| {
                while !halt.load(Ordering::Relaxed) {
                    let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    match migrate_user(api, keys, id, options) {
                        Ok(outcome) => {
                            let mut results = lock(&results);
                            results.0.add(outcome);
                            if let Outcome::Skipped(_) = outcome {
                                results.1.push(id.clone());
                            }
                            if let Some(report) = results.2.as_mut() {
                                // A full disk loses report lines, never tokens; the
                                // counts still say what happened.
                                let _ = writeln!(report, "{}", report_line(id, outcome));
                            }
                            progress.inc(1);
                        }
                        Err(refused) => {
                            *lock(&fatal) = Some(refused);
                            halt.store(true, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let (counted, mut skipped_ids, report) = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(report) = report.as_mut() {
        let _ = report.flush();
    }
    skipped_ids.sort_unstable();
    let fatal = fatal
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (counted, skipped_ids, fatal)
}

/// The users with plaintext, and the name of the source that listed them.
fn enumerate(api: &Management, source: Source) -> Result<(Vec<String>, &'static str), Refused> {
    let source = match source {
        Source::Auto if api.count_plaintext()? <= SEARCH_LIMIT => Source::Search,
        Source::Auto => Source::Export,
        chosen => chosen,
    };
    Ok(match source {
        Source::Search => (api.search_plaintext()?, "search"),
        _ => (api.export_plaintext()?, "export"),
    })
}

/// Migrates one user. `Err` only for a refusal that stops the run.
fn migrate_user(
    api: &Management,
    keys: &KeyRing,
    id: &str,
    options: &Options,
) -> Result<Outcome, Refused> {
    let skip_or_stop = |refused: Refused| {
        if refused.is_fatal() {
            Err(refused)
        } else {
            Ok(Outcome::Skipped(refused.error.code()))
        }
    };
    let body = match api.get_user(id) {
        Ok(Some(body)) => body,
        Ok(None) => return Ok(Outcome::AlreadyDone), // deleted since it was listed
        Err(refused) => return skip_or_stop(refused),
    };
    let user = match User::from_json(&body) {
        Ok(user) if user.user_id == id => user,
        Ok(_) => return Ok(Outcome::Skipped(Error::ManagementResponse.code())),
        Err(error) => return Ok(Outcome::Skipped(error.code())),
    };
    let decrypt = options
        .legacy_password
        .as_ref()
        .map(|password| move |hex: &str| password.decrypt(hex));
    let decrypt_ref = decrypt.as_ref().map(|f| f as &LegacyDecryptor<'_>);
    let now = now_ms() / 1000;
    let plan = match plan_migration(&user, keys, now, Nonce::random, decrypt_ref) {
        Ok(plan) => plan,
        Err(error) => return Ok(Outcome::Skipped(error.code())),
    };
    match plan {
        Migration::NothingToDo => Ok(Outcome::AlreadyDone),
        Migration::Skip(code) => Ok(Outcome::Skipped(code)),
        Migration::Patch {
            app_metadata,
            sealed,
        } => {
            let outcome = if sealed {
                Outcome::Sealed
            } else {
                Outcome::Cleaned
            };
            if options.dry_run {
                return Ok(outcome);
            }
            match api.patch_app_metadata(id, app_metadata) {
                Ok(()) => Ok(outcome),
                Err(refused) => skip_or_stop(refused),
            }
        }
    }
}

/// Lists the users that still hold plaintext and returns how many there are and how many
/// of them this run did not skip (`skipped`, sorted). Up to [`SEARCH_LIMIT`] the search
/// lists them, again and again until no unreported user is left or `settle` has passed
/// (the index lags behind the run's writes); past it, the search could not list them all
/// (nor count them, if its totals stop at the cap), so an export does, which reads the
/// users as they are.
fn verify(api: &Management, skipped: &[String], settle: Duration) -> Result<(u64, u64), Refused> {
    let started = Instant::now();
    loop {
        let searched = api.count_plaintext()? <= SEARCH_LIMIT;
        let remaining = if searched {
            api.search_plaintext()?
        } else {
            api.export_plaintext()?
        };
        let unreported = remaining
            .iter()
            .filter(|id| skipped.binary_search(id).is_err())
            .count() as u64;
        // Only the search lags: an export reads the users as they are, so one is final.
        if unreported == 0 || !searched || started.elapsed() >= settle {
            return Ok((remaining.len() as u64, unreported));
        }
        sleep(SETTLE_POLL.min(settle));
    }
}

/// One line of the report file: `{"user_id":"…","outcome":"…","code":"ERR_…"}`. Never a
/// token, key or sealed value.
fn report_line(id: &str, outcome: Outcome) -> String {
    let mut line = Object::new();
    line.insert("user_id", Json::from(id));
    line.insert("outcome", Json::from(outcome.name()));
    if let Outcome::Skipped(code) = outcome {
        line.insert("code", Json::from(code));
    }
    Json::Object(line).to_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_name_the_user_and_the_outcome_only() {
        assert_eq!(
            report_line("auth0|a\"b", Outcome::Skipped("ERR_DECRYPT")),
            r#"{"user_id":"auth0|a\"b","outcome":"skipped","code":"ERR_DECRYPT"}"#
        );
        assert_eq!(
            report_line("google-oauth2|1", Outcome::Sealed),
            r#"{"user_id":"google-oauth2|1","outcome":"sealed"}"#
        );
    }
}
