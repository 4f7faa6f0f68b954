//! `tokenseal`: key generation, inspection of sealed values, and the migration of
//! plaintext refresh tokens left by the old "Store Google Refresh Token" rule.
//!
//! Every decision (what a key set is, what a sealed value says, what to write for a
//! user) comes from the library; this binary reads arguments, talks HTTP and prints.

mod management;
mod migrate;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokenseal::action::management_base;
use tokenseal::json::{Json, Object};
use tokenseal::keys::generate_key;
use tokenseal::legacy::LegacyPassword;
use tokenseal::{jwe, Error, KeyRing};
use zeroize::Zeroizing;

use crate::management::Management;
use crate::migrate::{Options, Source, Tally};

const ROTATION: &str = "\
Key rotation, in three steps (nothing is ever re-encrypted in bulk):
  1. Add: `tokenseal keygen --add-to keys.json` appends a new key AFTER the current
     primary. Deploy the new set everywhere sealed values are opened (the Action's
     TOKENSEAL_KEYS secret, your backends). The old key still seals.
  2. Promote: move the new key first in the set and deploy again. New values are
     sealed with it, and each user's value is re-sealed under it at their next login.
  3. Retire: once no stored value names the old kid, as kid or cap_kid (check with
     `tokenseal inspect`), remove the old key. A value still sealed under it then
     reports ERR_KEY_UNKNOWN; it is kept, and replaced by the next token a login reads
     or brings.";

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
    /// A machine-to-machine client allowed read:users and update:users_app_metadata.
    #[arg(long, env = "AUTH0_CLIENT_ID")]
    client_id: String,
    /// Its secret.
    #[arg(long, env = "AUTH0_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// The JWK Set (the first key seals).
    #[arg(long, env = "TOKENSEAL_KEYS", hide_env_values = true)]
    keys: String,
    /// Report what would change (every user, counted as the real run would); write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Where the users with plaintext come from: the search (at most 1,000 users), the
    /// bulk user export job, or auto (the search up to 900 users, else the export).
    #[arg(long, value_enum, default_value_t = Source::Auto)]
    source: Source,
    /// Most Management API calls in flight; the run adapts below it to the tenant's
    /// rate limit.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    concurrency: u32,
    /// Write one JSON line per user ({"user_id", "outcome", "code"}) to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Longest wait, in seconds, for the search index to show the run's writes before
    /// the final count.
    #[arg(long, default_value_t = 30)]
    settle_seconds: u64,
}

/// Environment variable holding the old rule's createCipher password (never a flag:
/// command lines are visible to other users of the machine).
const LEGACY_PASSWORD_ENV: &str = "TOKENSEAL_LEGACY_PASSWORD";

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

/// Exit codes of `migrate`: everything done; done with skipped users (all reported);
/// bad usage or configuration, before any request; stopped before the end (credentials
/// or scopes refused, the tenant unreachable); plaintext the run did not report remains.
const EXIT_SKIPPED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_STOPPED: u8 = 3;
const EXIT_UNVERIFIED: u8 = 4;

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
            Self::Usage(_) => ExitCode::from(EXIT_USAGE),
            Self::Core(e)
                if e.key_index().is_some()
                    || matches!(e, Error::KeySetNotJson | Error::KeySetEmpty) =>
            {
                ExitCode::from(EXIT_USAGE)
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

/// Every core error, and each operation's narrower one, is a core failure.
impl<E: Into<Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Self::Core(e.into())
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
    if let Some(src) = header.src {
        out.insert("src", Json::from(src.as_str()));
    }
    if let Some(capture) = &header.capture {
        out.insert("cap_kid", Json::from(capture.kid.as_str()));
    }
    println!("{}", Json::Object(out).to_text());
    Ok(ExitCode::SUCCESS)
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
    let mut options = migrate_options(args)?;
    let connected = Management::connect(
        &base,
        &args.client_id,
        &args.client_secret,
        args.concurrency,
    );
    let api = match connected {
        Ok(api) => api,
        Err(refused) => {
            eprintln!(
                "tokenseal: stopped before any user: the token request failed: {} (status {})",
                refused.error, refused.status
            );
            return Ok(ExitCode::from(EXIT_STOPPED));
        }
    };
    let progress = progress_bar();
    let tally = migrate::run(&api, &keys, &mut options, &progress);
    progress.finish_and_clear();
    print_summary(&tally, &api, args.dry_run);
    if let Some(refused) = tally.stopped {
        eprintln!(
            "tokenseal: stopped: {} (status {}); users not reached are untouched, run again to finish",
            refused.error, refused.status
        );
        return Ok(ExitCode::from(EXIT_STOPPED));
    }
    let unreported = tally.unreported.unwrap_or(0);
    if unreported > 0 {
        eprintln!(
            "tokenseal: {unreported} users still hold plaintext that this run did not report as skipped \
             (the search index may still lag, or they were out of reach): run again"
        );
        return Ok(ExitCode::from(EXIT_UNVERIFIED));
    }
    Ok(if tally.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SKIPPED)
    })
}

/// The options of a run, the report file opened (so an unwritable path is a usage error
/// before any request) and the legacy password read from the environment only.
fn migrate_options(args: &MigrateArgs) -> Result<Options, Failure> {
    let legacy_password = std::env::var(LEGACY_PASSWORD_ENV)
        .ok()
        .filter(|p| !p.is_empty())
        .map(|p| LegacyPassword::new(&Zeroizing::new(p)));
    let report = match &args.report {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| {
                Failure::Usage(format!(
                    "{}: cannot write the report {}: {e}",
                    Error::ConfigInvalid.code(),
                    path.display()
                ))
            })?,
        )),
        None => None,
    };
    Ok(Options {
        dry_run: args.dry_run,
        source: args.source,
        concurrency: args.concurrency,
        report,
        settle: Duration::from_secs(args.settle_seconds),
        legacy_password,
    })
}

fn print_summary(tally: &Tally, api: &Management, dry_run: bool) {
    let verb = if dry_run { "would be " } else { "" };
    let seconds = tally.elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        tally.found as f64 / seconds
    } else {
        0.0
    };
    let remaining = tally
        .remaining
        .map_or_else(|| "not counted".to_owned(), |n| n.to_string());
    println!(
        "tokenseal migrate{}: {} users with plaintext (from the {}); {} {verb}sealed, {} {verb}cleaned (already sealed), {} already done, {} skipped; {} remaining; {} requests, {} rate limited, {} new tokens; {:.1} s ({:.1} users/s)",
        if dry_run { " --dry-run" } else { "" },
        tally.found,
        if tally.source.is_empty() {
            "source not reached"
        } else {
            tally.source
        },
        tally.sealed,
        tally.cleaned,
        tally.already_done,
        tally.skipped_total(),
        remaining,
        api.counters.requests.load(Ordering::Relaxed),
        api.counters.rate_limited.load(Ordering::Relaxed),
        api.counters.reauthentications.load(Ordering::Relaxed),
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
