//! A Rust backend turning a sealed refresh token into a fresh access token of any
//! provider tokenseal knows.
//!
//! ```sh
//! TOKENSEAL_KEYS='{"keys":[...]}' CLIENT_ID=... CLIENT_SECRET=... \
//!   cargo run --features cli --example refresh -- '<sealed JWE>' 'google-oauth2|1234'
//! ```
//!
//! `TOKENSEAL_PROVIDER` names the provider's key (default `google-oauth2`; `waad`,
//! `bitbucket`, or a custom connection's name). `CLIENT_ID`, `CLIENT_SECRET` and
//! `TOKEN_ENDPOINT` are also read as `GOOGLE_CLIENT_ID`, ... (their names before other
//! providers). `TOKEN_ENDPOINT`, `SCOPE` and
//! `TOKEN_ENDPOINT_AUTH_METHOD` are the backend options of the same names
//! ([`tokenseal::providers::client::resolve`]); `TOKEN_ENDPOINT` also points a test at
//! loopback. The library does the work: [`tokenseal::jwe::open`] checks the binding and
//! the key, [`tokenseal::providers::token_endpoint::refresh_request`] builds the request
//! (form body, and the Basic header where the client authenticates so) and
//! [`tokenseal::providers::token_endpoint::parse_refresh_response`] types the answer
//! through the provider's entry, including `ERR_RECONSENT_REQUIRED` for `invalid_grant`.
//! The HTTP client is this example's own dependency (feature `cli`), never the library's.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokenseal::providers::client::{resolve, EndpointOptions};
use tokenseal::providers::token_endpoint::{
    parse_refresh_response, refresh_request, rotated_refresh_token, Client,
};
use tokenseal::providers::Connection;
use tokenseal::{jwe, Error, KeyRing};
use zeroize::Zeroizing;

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
    let optional = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    // The client's settings also answer to their names before providers (GOOGLE_...).
    let client_setting =
        |name: &str| optional(name).or_else(|| optional(&format!("GOOGLE_{name}")));
    let env = |name: &str| optional(name).ok_or_else(|| format!("{name} is not set"));
    let client_env = |name: &str| client_setting(name).ok_or_else(|| format!("{name} is not set"));
    let keys = KeyRing::from_jwk_set(&env("TOKENSEAL_KEYS")?).map_err(|e| e.to_string())?;
    let connection = Connection::parse(
        &optional("TOKENSEAL_PROVIDER").unwrap_or_else(|| "google-oauth2".into()),
    )
    .map_err(|e| e.to_string())?;
    let options = EndpointOptions {
        token_endpoint: client_setting("TOKEN_ENDPOINT"),
        scope: optional("SCOPE"),
        auth: optional("TOKEN_ENDPOINT_AUTH_METHOD"),
        ..EndpointOptions::default()
    };
    let endpoints = resolve(&connection, &options, None).map_err(|e| e.to_string())?;
    let client = Client {
        client_id: client_env("CLIENT_ID")?,
        client_secret: Zeroizing::new(client_env("CLIENT_SECRET")?),
        auth: endpoints.auth,
        scope: endpoints.scope,
    };
    let refresh_token =
        jwe::open_for(&sealed, &keys, &user_id, connection.idp()).map_err(|e| e.to_string())?;
    let request = refresh_request(&refresh_token, &client);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        // A redirect could carry the client secret or a bearer token to another
        // origin: the 3xx itself is the answer, judged like any other status.
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut post = agent
        .post(&endpoints.token_endpoint)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(authorization) = &request.authorization {
        post = post.header("authorization", authorization.as_str());
    }
    let mut response = post
        .send(request.body.as_str())
        .map_err(|e| format!("{}: {e}", Error::ProviderUnavailable.code()))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let grant = parse_refresh_response(connection.provider(), status, &text, now).map_err(|e| {
        // A provider that rotates has consumed the token it was sent: a rotation in an
        // answer that is otherwise refused must still be kept.
        if rotated_refresh_token(status, &text).is_some() {
            format!("{e}; the answer still rotated the refresh token: seal it with tokenseal::jwe::seal_rotated and store it")
        } else {
            e.to_string()
        }
    })?;

    let token = grant.access_token.expose_secret();
    println!(
        "access token {}…({} chars), expires in {} s, scope {}{}",
        token.get(..6).unwrap_or(""),
        token.len(),
        grant.expires_at.saturating_sub(now),
        grant.scope.as_deref().unwrap_or("(not stated)"),
        if grant.refresh_token.is_some() {
            "; the provider rotated the refresh token: seal it with tokenseal::jwe::seal_rotated and store it"
        } else {
            ""
        }
    );
    Ok(())
}
