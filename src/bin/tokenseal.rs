//! `tokenseal`: key generation, inspection of sealed values, and the migration of
//! plaintext refresh tokens left by the old "Store Google Refresh Token" rule.
//!
//! Every decision (what a key set is, what a sealed value says, what to write for a
//! user) comes from the library; this binary reads arguments, talks HTTP and prints.

use std::collections::{BTreeMap, HashSet};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokenseal::action::management_base;
use tokenseal::json::{Json, Object};
use tokenseal::keys::generate_key;
use tokenseal::login::{plan_migration, Migration};
use tokenseal::{jwe, Error, KeyRing, Nonce, User};
use zeroize::Zeroizing;

const ROTATION: &str = "\
Key rotation, in three steps (nothing is ever re-encrypted in bulk):
  1. Add: `tokenseal keygen --add-to keys.json` appends a new key AFTER the current
     primary. Deploy the new set everywhere sealed values are opened (the Action's
     TOKENSEAL_KEYS secret, your backends). The old key still seals.
  2. Promote: move the new key first in the set and deploy again. New values are
     sealed with it, and each user's value is re-sealed under it at their next login.
  3. Retire: once no stored value names the old kid (check with `tokenseal inspect`),
     remove the old key. A value still sealed under it then reports ERR_KEY_UNKNOWN;
     it is kept, and replaced at the user's next consented login.";

/// tokenseal: sealed Google refresh tokens for Auth0.
#[derive(Parser)]
#[command(name = "tokenseal", version, about, after_long_help = ROTATION)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a JWK Set with one fresh 256-bit key, ready for the `TOKENSEAL_KEYS` secret.
    #[command(after_long_help = ROTATION)]
    Keygen {
        /// Append the new key, as a non-primary key, to the JWK Set in this file.
        #[arg(long, value_name = "FILE")]
        add_to: Option<PathBuf>,
    },
    /// Print the public header of a sealed value (kid, sub, alg, enc, iat); never the token.
    Inspect {
        /// The sealed value (a compact JWE), or - to read it from standard input.
        sealed: String,
    },
    /// Seal every plaintext `app_metadata.refresh_token` in the tenant and remove it.
    Migrate(MigrateArgs),
}

#[derive(Args)]
struct MigrateArgs {
    /// The tenant domain (example.us.auth0.com), or a base URL for local runs.
    #[arg(long, env = "AUTH0_DOMAIN")]
    domain: String,
    /// A machine-to-machine client allowed read:users and update:users.
    #[arg(long, env = "AUTH0_CLIENT_ID")]
    client_id: String,
    /// Its secret.
    #[arg(long, env = "AUTH0_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// The JWK Set (the first key seals).
    #[arg(long, env = "TOKENSEAL_KEYS", hide_env_values = true)]
    keys: String,
    /// Report what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Users per search page (Auth0 allows at most 100).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    per_page: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen { add_to } => keygen(add_to.as_deref()),
        Command::Inspect { sealed } => inspect(&sealed),
        Command::Migrate(args) => migrate(&args),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("tokenseal: {failure}");
            failure.exit_code()
        }
    }
}

/// Why a command stopped. Messages never hold a token, key or secret.
#[derive(Debug)]
enum Failure {
    /// A typed error of the library.
    Core(Error),
    /// Bad usage or configuration: exit code 2.
    Usage(String),
    /// I/O or HTTP trouble: exit code 1.
    Io(String),
}

impl Failure {
    fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            Self::Core(e)
                if e.key_index().is_some()
                    || matches!(e, Error::KeySetNotJson | Error::KeySetEmpty) =>
            {
                ExitCode::from(2)
            }
            _ => ExitCode::from(1),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Core(e) => write!(f, "{e}"),
            Self::Usage(m) | Self::Io(m) => f.write_str(m),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

fn keygen(add_to: Option<&Path>) -> Result<ExitCode, Failure> {
    let key = generate_key()?;
    let Some(path) = add_to else {
        let ring = KeyRing::from_keys(vec![key])?;
        println!("{}", ring.to_jwk_set_json().as_str());
        return Ok(ExitCode::SUCCESS);
    };
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| Failure::Io(format!("cannot read {}: {e}", path.display())))?,
    );
    KeyRing::from_jwk_set(&text)?; // the file must be a valid ring before it is changed
    let mut set = Json::parse(&text).map_err(|_| Error::KeySetNotJson)?;
    let new_jwk = Json::parse(&key.to_jwk_json()).map_err(|_| Error::KeySetNotJson)?;
    match set.get_mut("keys") {
        Some(Json::Array(keys)) => keys.push(new_jwk),
        _ => return Err(Error::KeySetNotJson.into()),
    }
    let updated = Zeroizing::new(set.to_text());
    let ring = KeyRing::from_jwk_set(&updated)?; // e.g. a kid collision
    write_private(path, &updated)?;
    eprintln!(
        "tokenseal: added key {} to {} as key {} of {} (non-primary; {} still seals).\n\
         Next: deploy the set everywhere values are opened, then move the new key first (see --help).",
        key.kid(),
        path.display(),
        ring.kids().count(),
        ring.kids().count(),
        ring.primary().kid()
    );
    Ok(ExitCode::SUCCESS)
}

/// Replaces `path` with `text` through a temporary file and a rename, readable by its
/// owner only: the file holds keys.
fn write_private(path: &Path, text: &str) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::Io(format!("cannot write {}: {e}", path.display()));
    let tmp = path.with_extension("tmp-tokenseal");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

fn inspect(sealed: &str) -> Result<ExitCode, Failure> {
    let mut input = String::new();
    let sealed = if sealed == "-" {
        std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| Failure::Io(format!("cannot read standard input: {e}")))?;
        input.trim()
    } else {
        sealed.trim()
    };
    let header = jwe::inspect(sealed)?;
    let mut out = Object::new();
    out.insert("kid", Json::from(header.kid.as_str()));
    out.insert("sub", Json::from(header.sub.as_str()));
    out.insert("alg", Json::from(header.alg.as_str()));
    out.insert("enc", Json::from(header.enc.as_str()));
    out.insert("iat", Json::from(header.iat));
    out.insert("typ", Json::from(header.typ.as_str()));
    println!("{}", Json::Object(out).to_text());
    Ok(ExitCode::SUCCESS)
}

/// Counts of one migration run.
#[derive(Default)]
struct Tally {
    found: u64,
    sealed: u64,
    plaintext_removed: u64,
    already_done: u64,
    skipped: BTreeMap<&'static str, u64>,
    rate_limit_waits: u64,
}

fn migrate(args: &MigrateArgs) -> Result<ExitCode, Failure> {
    // Everything is checked before the first request, so a bad configuration writes
    // nothing.
    let keys = KeyRing::from_jwk_set(&args.keys)?;
    let base = management_base(&args.domain).ok_or_else(|| {
        Failure::Usage(format!(
            "{}: AUTH0_DOMAIN must be a tenant domain or an https URL",
            Error::ConfigInvalid.code()
        ))
    })?;
    let started = Instant::now();
    let mut api = ManagementApi::connect(&base, &args.client_id, &args.client_secret)?;
    let mut tally = Tally::default();
    let progress = progress_bar();

    // Auth0's user search returns at most 1,000 results per query (page * per_page <
    // 1000). Users leave the result set as their plaintext is removed, so the query is
    // simply run again from the first page until a pass brings nothing new. Every user
    // is read fresh before it is changed (the search index lags behind writes), and
    // each is handled at most once per run.
    let mut handled: HashSet<String> = HashSet::new();
    let mut patched: HashSet<String> = HashSet::new();
    let mut stale_passes = 0;
    loop {
        let (ids, total) = api.search_pass(args.per_page, &mut tally)?;
        if let Some(total) = total {
            progress.set_length(handled.len() as u64 + total);
        }
        let lagging = ids.iter().any(|id| patched.contains(id));
        let new: Vec<String> = ids.into_iter().filter(|id| !handled.contains(id)).collect();
        if new.is_empty() {
            // Nothing new. Users patched by this run that are still listed mean the
            // search index lags behind the writes: give it a few seconds to catch up.
            if !lagging || stale_passes >= 3 {
                break;
            }
            stale_passes += 1;
            sleep(Duration::from_secs(2));
            continue;
        }
        stale_passes = 0;
        for id in new {
            tally.found += 1;
            if migrate_user(&mut api, &keys, &id, args.dry_run, &mut tally)? {
                patched.insert(id.clone());
            }
            handled.insert(id);
            progress.inc(1);
        }
        if args.dry_run {
            break; // nothing changes, so a second pass would list the same users
        }
    }
    progress.finish_and_clear();
    report(&tally, args.dry_run, started.elapsed());
    Ok(if tally.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Migrates one user; true when it was written to.
fn migrate_user(
    api: &mut ManagementApi,
    keys: &KeyRing,
    id: &str,
    dry_run: bool,
    tally: &mut Tally,
) -> Result<bool, Failure> {
    let body = api.get_user(id, tally)?;
    let user = User::from_json(&body)?;
    if user.user_id != id {
        return Err(Failure::Io(format!(
            "{}: the user read is not the user asked for",
            Error::ManagementResponse.code()
        )));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match plan_migration(&user, keys, now, Nonce::random()?)? {
        Migration::NothingToDo => tally.already_done += 1,
        Migration::Skip(code) => *tally.skipped.entry(code).or_default() += 1,
        Migration::Patch {
            app_metadata,
            sealed,
        } => {
            if sealed {
                tally.sealed += 1;
            } else {
                tally.plaintext_removed += 1;
            }
            if !dry_run {
                let mut patch = Object::new();
                patch.insert("app_metadata", Json::Object(app_metadata));
                api.patch_user(id, &Json::Object(patch).to_text(), tally)?;
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn report(tally: &Tally, dry_run: bool, elapsed: Duration) {
    let verb = if dry_run { "would be " } else { "" };
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        tally.found as f64 / seconds
    } else {
        0.0
    };
    println!(
        "tokenseal migrate{}: {} users with plaintext; {} {verb}sealed, {} {verb}cleaned (already sealed), {} already done, {} skipped; {} rate-limit waits; {:.1} s ({:.0} users/s)",
        if dry_run { " --dry-run" } else { "" },
        tally.found,
        tally.sealed,
        tally.plaintext_removed,
        tally.already_done,
        tally.skipped.values().sum::<u64>(),
        tally.rate_limit_waits,
        seconds,
        rate
    );
    for (code, count) in &tally.skipped {
        println!("  skipped {count}: {code}");
    }
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} users [{bar:40}] {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// The Management API calls of `migrate`, with Auth0's rate limits honoured.
struct ManagementApi {
    agent: ureq::Agent,
    base: String,
    token: Zeroizing<String>,
}

/// A response reduced to what the command needs.
struct Reply {
    status: u16,
    retry_after: Option<String>,
    rate_limit_reset: Option<String>,
    body: String,
}

impl ManagementApi {
    fn connect(base: &str, client_id: &str, client_secret: &str) -> Result<Self, Failure> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            // A redirect could carry the client secret or a bearer token to another
            // origin: the 3xx itself is the answer, judged like any other status.
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut api = Self {
            agent,
            base: base.to_owned(),
            token: Zeroizing::new(String::new()),
        };
        let mut body = Object::new();
        body.insert("grant_type", Json::from("client_credentials"));
        body.insert("client_id", Json::from(client_id));
        body.insert("client_secret", Json::from(client_secret));
        body.insert("audience", Json::from([base, "/api/v2/"].concat()));
        let body = Zeroizing::new(Json::Object(body).to_text());
        let url = [base, "/oauth/token"].concat();
        let reply = api.send(|agent| {
            agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.as_str())
        })?;
        if reply.status != 200 {
            return Err(Failure::Io(format!(
                "{}: token request answered {}",
                Error::ManagementUnauthorized.code(),
                reply.status
            )));
        }
        let token = Json::parse(&reply.body)
            .ok()
            .and_then(|j| {
                j.get("access_token")
                    .and_then(Json::as_str)
                    .map(str::to_owned)
            })
            .ok_or_else(|| Failure::Io(Error::ManagementResponse.code().to_owned()))?;
        api.token = Zeroizing::new(token);
        Ok(api)
    }

    /// One pass of the search: up to 1,000 user ids with plaintext, and the total count.
    fn search_pass(
        &mut self,
        per_page: u32,
        tally: &mut Tally,
    ) -> Result<(Vec<String>, Option<u64>), Failure> {
        let mut ids = Vec::new();
        let mut total = None;
        let mut page = 0;
        while (page + 1) * per_page <= 1000 {
            let url = format!(
                "{}/api/v2/users?q={}&search_engine=v3&per_page={per_page}&page={page}&include_totals=true&fields=user_id&include_fields=true",
                self.base,
                form_encode("_exists_:app_metadata.refresh_token")
            );
            let reply = self.authorized(tally, |agent, auth| {
                agent.get(&url).header("authorization", auth).call()
            })?;
            if reply.status != 200 {
                return Err(Failure::Io(format!(
                    "{}: user search answered {}",
                    Error::ManagementFailed.code(),
                    reply.status
                )));
            }
            let json = Json::parse(&reply.body)
                .map_err(|_| Failure::Io(Error::ManagementResponse.code().to_owned()))?;
            total = total.or_else(|| json.get("total").and_then(Json::as_u64));
            let users = json
                .get("users")
                .and_then(Json::as_array)
                .unwrap_or_default();
            ids.extend(
                users
                    .iter()
                    .filter_map(|u| u.get("user_id").and_then(Json::as_str).map(str::to_owned)),
            );
            if users.len() < per_page as usize {
                break;
            }
            page += 1;
        }
        Ok((ids, total))
    }

    fn get_user(&mut self, id: &str, tally: &mut Tally) -> Result<String, Failure> {
        let url = format!("{}/api/v2/users/{}", self.base, form_encode(id));
        let reply = self.authorized(tally, |agent, auth| {
            agent.get(&url).header("authorization", auth).call()
        })?;
        match reply.status {
            200 => Ok(reply.body),
            status => Err(Failure::Io(format!(
                "{}: reading a user answered {status}",
                Error::ManagementFailed.code()
            ))),
        }
    }

    fn patch_user(&mut self, id: &str, body: &str, tally: &mut Tally) -> Result<(), Failure> {
        let url = format!("{}/api/v2/users/{}", self.base, form_encode(id));
        let reply = self.authorized(tally, |agent, auth| {
            agent
                .patch(&url)
                .header("authorization", auth)
                .header("content-type", "application/json")
                .send(body)
        })?;
        match reply.status {
            200..=299 => Ok(()),
            status => Err(Failure::Io(format!(
                "{}: updating a user answered {status}",
                Error::ManagementFailed.code()
            ))),
        }
    }

    /// Sends with the bearer token; waits out 429s and retries 5xx a few times.
    fn authorized(
        &mut self,
        tally: &mut Tally,
        request: impl Fn(&ureq::Agent, &str) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Reply, Failure> {
        let auth = Zeroizing::new(format!("Bearer {}", self.token.as_str()));
        for attempt in 0..10 {
            let reply = self.send(|agent| request(agent, &auth))?;
            let wait = match reply.status {
                429 => {
                    tally.rate_limit_waits += 1;
                    rate_limit_wait(
                        reply.retry_after.as_deref(),
                        reply.rate_limit_reset.as_deref(),
                    )
                }
                500..=599 if attempt < 3 => Duration::from_millis(500 << attempt),
                _ => return Ok(reply),
            };
            sleep(wait);
        }
        Err(Failure::Io(format!(
            "{}: still rate limited after 10 attempts",
            Error::ManagementRateLimited.code()
        )))
    }

    fn send(
        &self,
        request: impl FnOnce(&ureq::Agent) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Reply, Failure> {
        let mut response = request(&self.agent)
            .map_err(|e| Failure::Io(format!("{}: {e}", Error::ManagementUnavailable.code())))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (retry_after, rate_limit_reset) = (header("retry-after"), header("x-ratelimit-reset"));
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| Failure::Io(format!("{}: {e}", Error::ManagementResponse.code())))?;
        Ok(Reply {
            status: response.status().as_u16(),
            retry_after,
            rate_limit_reset,
            body,
        })
    }
}

/// How long to wait after a 429: `Retry-After` seconds (RFC 9110 §10.2.3), else until
/// Auth0's `X-RateLimit-Reset` (a Unix time), else one second; at most a minute.
fn rate_limit_wait(retry_after: Option<&str>, reset: Option<&str>) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let seconds = retry_after
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or_else(|| {
            reset
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|at| at.saturating_sub(now))
        })
        .unwrap_or(1);
    Duration::from_secs(seconds.min(60))
}

/// Percent-encodes a URL query value or path segment (everything but unreserved bytes).
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
