//! A Rust backend turning a sealed refresh token into a fresh Google access token.
//!
//! ```sh
//! TOKENSEAL_KEYS='{"keys":[...]}' GOOGLE_CLIENT_ID=... GOOGLE_CLIENT_SECRET=... \
//!   cargo run --features cli --example refresh -- '<sealed JWE>' 'google-oauth2|1234'
//! ```
//!
//! `GOOGLE_TOKEN_ENDPOINT` overrides Google's endpoint (for tests on loopback). The
//! library does the work: [`tokenseal::jwe::open`] checks the binding and the key,
//! [`tokenseal::providers::token_endpoint::refresh_request_body`] builds the request
//! and [`tokenseal::providers::token_endpoint::parse_refresh_response`] types the
//! answer through Google's entry of the provider table, including
//! `ERR_RECONSENT_REQUIRED` when Google answers `invalid_grant`. The HTTP client is
//! this example's own dependency (feature `cli`), never the library's.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokenseal::providers::google::GOOGLE;
use tokenseal::providers::token_endpoint::{parse_refresh_response, refresh_request_body};
use tokenseal::{jwe, Error, KeyRing};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("refresh: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (Some(sealed), Some(user_id)) = (args.next(), args.next()) else {
        return Err("usage: refresh <sealed JWE> <Auth0 user_id>".into());
    };
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let keys = KeyRing::from_jwk_set(&env("TOKENSEAL_KEYS")?).map_err(|e| e.to_string())?;
    let refresh_token = jwe::open(&sealed, &keys, &user_id).map_err(|e| e.to_string())?;
    let body = refresh_request_body(
        &refresh_token,
        &env("GOOGLE_CLIENT_ID")?,
        &env("GOOGLE_CLIENT_SECRET")?,
    );
    let endpoint =
        std::env::var("GOOGLE_TOKEN_ENDPOINT").unwrap_or_else(|_| GOOGLE.token_endpoint.into());

    let agent: ureq::Agent = ureq::Agent::config_builder()
        // A redirect could carry the client secret or a bearer token to another
        // origin: the 3xx itself is the answer, judged like any other status.
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut response = agent
        .post(&endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .send(body.as_str())
        .map_err(|e| format!("{}: {e}", Error::ProviderUnavailable.code()))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let grant = parse_refresh_response(&GOOGLE, status, &text, now).map_err(|e| e.to_string())?;

    let token = grant.access_token.expose_secret();
    println!(
        "access token {}…({} chars), expires in {} s, scope {}{}",
        token.get(..6).unwrap_or(""),
        token.len(),
        grant.expires_at.saturating_sub(now),
        grant.scope.as_deref().unwrap_or("(not stated)"),
        if grant.refresh_token.is_some() {
            "; Google rotated the refresh token: seal it with tokenseal::jwe::seal and store it"
        } else {
            ""
        }
    );
    Ok(())
}
