//! The Python boundary of tokenseal: the only module that touches PyO3. Every function
//! here converts Python values to the core's types, calls the core, and converts back;
//! the clock and the random IVs are taken here, at the edge, as the JavaScript boundary
//! does. Every failure is raised as `tokenseal.TokenSealError` whose `code` is the
//! core's stable code and whose message is its fixed text (never an input). Arguments
//! that may hold a secret are taken as any object and read here, so that even a value
//! Python cannot encode (a lone surrogate) becomes a `TokenSealError`, never an
//! exception that carries the value.

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use tokenseal::jwe::{self, Nonce};
use tokenseal::keys::generate_key;
use tokenseal::providers::client::{self, EndpointOptions};
use tokenseal::providers::google::GOOGLE;
use tokenseal::providers::token_endpoint::{self, Client};
use tokenseal::providers::{ClientAuth, Connection};
use tokenseal::{Error, KeyRing, RefreshToken};

create_exception!(
    tokenseal,
    TokenSealError,
    PyException,
    "Raised by every tokenseal function; `code` is the stable code (e.g. \"ERR_DECRYPT\")."
);

/// A `TokenSealError` carrying the core error's code and fixed message.
fn raise(py: Python<'_>, error: impl Into<Error>) -> PyErr {
    let error: Error = error.into();
    let err = TokenSealError::new_err(error.message());
    // Setting an attribute on a fresh exception instance cannot fail in practice; if it
    // did, the exception would still be raised, without its code.
    let _ = err.value(py).setattr("code", error.code());
    err
}

/// Seconds since the Unix epoch (0 before it).
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A Python `str` as Rust text; anything else (or a `str` with lone surrogates) is
/// `error`, raised without the value.
fn text(py: Python<'_>, value: &Bound<'_, PyAny>, error: Error) -> PyResult<String> {
    value.extract::<String>().map_err(|_| raise(py, error))
}

fn key_ring(py: Python<'_>, key_set_json: &Bound<'_, PyAny>) -> PyResult<KeyRing> {
    let json = zeroize::Zeroizing::new(text(py, key_set_json, Error::KeySetNotJson)?);
    KeyRing::from_jwk_set(&json).map_err(|e| raise(py, e))
}

fn refresh_token(py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<RefreshToken> {
    let token = zeroize::Zeroizing::new(text(py, token, Error::TokenInvalid)?);
    RefreshToken::new(&token).map_err(|e| raise(py, e))
}

fn user_id(py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<String> {
    text(py, user_id, Error::UserIdInvalid)
}

/// Seals `token` (a refresh token) for `user_id` and `provider` (a key, default
/// `"google-oauth2"`) under the primary key of the JWK Set `key_set_json`: a compact
/// JWE (`dir`, `A256GCM`) bound to the user and, for every provider but Google, to the
/// provider (`idp`).
///
/// Raises `TokenSealError` with `ERR_TOKEN_INVALID`, `ERR_USER_ID_INVALID`,
/// `ERR_CONFIG_INVALID` for a `provider` that is not a key, a key-set code or
/// `ERR_RANDOM`.
#[pyfunction]
#[pyo3(signature = (token, key_set_json, user_id, provider = GOOGLE.auth0_provider))]
fn seal(
    py: Python<'_>,
    token: &Bound<'_, PyAny>,
    key_set_json: &Bound<'_, PyAny>,
    user_id: &Bound<'_, PyAny>,
    provider: &str,
) -> PyResult<String> {
    let token = refresh_token(py, token)?;
    let connection = connection(py, provider)?;
    let keys = key_ring(py, key_set_json)?;
    let user_id = self::user_id(py, user_id)?;
    let iv = Nonce::random().map_err(|e| raise(py, e))?;
    let provenance = jwe::Provenance::default();
    jwe::seal_with(
        &token,
        &keys,
        &user_id,
        connection.idp(),
        now(),
        iv,
        &provenance,
    )
    .map_err(|e| raise(py, e))
}

/// Seals a refresh token the provider rotated as the successor of `previous` (the sealed
/// value the refresh started from), keeping its capture record, so that a later login
/// holding Auth0's older copy keeps this newer value.
///
/// Raises `TokenSealError` with the codes of `open_sealed` for `previous`, or those of
/// `seal`.
#[pyfunction]
#[pyo3(signature = (token, previous, key_set_json, user_id, provider = GOOGLE.auth0_provider))]
fn seal_rotated(
    py: Python<'_>,
    token: &Bound<'_, PyAny>,
    previous: &Bound<'_, PyAny>,
    key_set_json: &Bound<'_, PyAny>,
    user_id: &Bound<'_, PyAny>,
    provider: &str,
) -> PyResult<String> {
    let token = refresh_token(py, token)?;
    let previous = text(py, previous, Error::SealedMalformed)?;
    let connection = connection(py, provider)?;
    let keys = key_ring(py, key_set_json)?;
    let user_id = self::user_id(py, user_id)?;
    let iv = Nonce::random().map_err(|e| raise(py, e))?;
    jwe::seal_rotated(
        &token,
        &previous,
        &keys,
        &user_id,
        connection.idp(),
        now(),
        iv,
    )
    .map_err(|e| raise(py, e))
}

/// Opens a sealed value bound to `user_id` and returns the refresh token. `sealed` is the
/// JWE itself, or a dict: the user's `app_metadata` or the whole user, whose
/// `sealed_refresh_tokens[provider]` is opened (default `"google-oauth2"`).
///
/// Raises `TokenSealError` with `ERR_CONFIG_INVALID` for a `provider` that is not a
/// key, `ERR_SEALED_MISSING`, `ERR_SEALED_MALFORMED`,
/// `ERR_HEADER_INVALID`, `ERR_VERSION_UNSUPPORTED`, `ERR_ALG_UNSUPPORTED`,
/// `ERR_SUBJECT_MISMATCH`, `ERR_KEY_UNKNOWN`, `ERR_DECRYPT`, `ERR_TOKEN_INVALID` or a
/// key-set code.
#[pyfunction]
#[pyo3(signature = (sealed, key_set_json, user_id, provider = GOOGLE.auth0_provider))]
fn open_sealed(
    py: Python<'_>,
    sealed: &Bound<'_, PyAny>,
    key_set_json: &Bound<'_, PyAny>,
    user_id: &Bound<'_, PyAny>,
    provider: &str,
) -> PyResult<String> {
    let connection = connection(py, provider)?;
    let jwe_text = match sealed.cast::<PyDict>() {
        Ok(dict) => stored_value(py, dict, connection.key())?,
        Err(_) => text(py, sealed, Error::SealedMalformed)?,
    };
    let keys = key_ring(py, key_set_json)?;
    let user_id = self::user_id(py, user_id)?;
    jwe::open_for(&jwe_text, &keys, &user_id, connection.idp())
        .map(|token| token.expose_secret().to_owned())
        .map_err(|e| raise(py, e))
}

/// The configured provider `key`.
fn connection(py: Python<'_>, key: &str) -> PyResult<Connection> {
    Connection::parse(key).map_err(|e| raise(py, e))
}

/// `sealed_refresh_tokens[key]` of `app_metadata`, or of the `app_metadata` of a whole
/// user, looked up member by member (the rest of the dict is never read, so values
/// Python cannot serialise elsewhere in it do not matter).
fn stored_value(py: Python<'_>, dict: &Bound<'_, PyDict>, key: &str) -> PyResult<String> {
    let app_metadata = match dict.get_item("app_metadata")? {
        Some(inner) => inner
            .cast_into::<PyDict>()
            .map_err(|_| raise(py, Error::SealedMissing))?,
        None => dict.clone(),
    };
    let map = app_metadata
        .get_item(tokenseal::login::SEALED_KEY)?
        .ok_or_else(|| raise(py, Error::SealedMissing))?;
    let map = map
        .cast_into::<PyDict>()
        .map_err(|_| raise(py, Error::SealedMissing))?;
    let value = map
        .get_item(key)?
        .ok_or_else(|| raise(py, Error::SealedMissing))?;
    text(py, &value, Error::SealedMalformed)
}

/// The public header of a sealed value, without a key: a dict with `typ`, `alg`, `enc`,
/// `kid`, `sub`, and `idp`, `iat`, `src`, `cap_kid` when recorded.
///
/// Raises `TokenSealError` with `ERR_SEALED_MALFORMED`, `ERR_HEADER_INVALID`,
/// `ERR_VERSION_UNSUPPORTED` or `ERR_ALG_UNSUPPORTED`.
#[pyfunction]
fn inspect<'py>(py: Python<'py>, sealed: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let sealed = text(py, sealed, Error::SealedMalformed)?;
    let header = jwe::inspect(&sealed).map_err(|e| raise(py, e))?;
    let dict = PyDict::new(py);
    dict.set_item("typ", &header.typ)?;
    dict.set_item("alg", &header.alg)?;
    dict.set_item("enc", &header.enc)?;
    dict.set_item("kid", &header.kid)?;
    dict.set_item("sub", &header.sub)?;
    dict.set_item("idp", header.idp.as_deref())?;
    dict.set_item("iat", header.iat)?;
    dict.set_item("src", header.src.map(jwe::Source::as_str))?;
    dict.set_item("cap_kid", header.capture.as_ref().map(|c| c.kid.as_str()))?;
    Ok(dict)
}

/// A new JWK Set (JSON text) with one fresh 256-bit key, for `TOKENSEAL_KEYS`.
///
/// Raises `TokenSealError` with `ERR_RANDOM` when no randomness is available.
#[pyfunction]
fn generate_key_set(py: Python<'_>) -> PyResult<String> {
    let key = generate_key().map_err(|e| raise(py, e))?;
    let ring = KeyRing::from_keys(vec![key]).map_err(|e| raise(py, e))?;
    Ok(ring.to_jwk_set_json().as_str().to_owned())
}

/// The form body of a refresh at a token endpoint (RFC 6749 §6, `client_secret_post`).
///
/// Raises `TokenSealError` with `ERR_TOKEN_INVALID`.
#[pyfunction]
fn refresh_request_body(
    py: Python<'_>,
    refresh_token: &Bound<'_, PyAny>,
    client_id: &Bound<'_, PyAny>,
    client_secret: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let token = self::refresh_token(py, refresh_token)?;
    let client_id = text(py, client_id, Error::InputInvalid)?;
    let client_secret = zeroize::Zeroizing::new(text(py, client_secret, Error::InputInvalid)?);
    Ok(
        token_endpoint::refresh_request_body(&token, &client_id, &client_secret)
            .as_str()
            .to_owned(),
    )
}

/// The `Authorization` header value of a `client_secret_basic` client (RFC 6749
/// §2.3.1: `Basic` and the base64 of the form-encoded id and secret).
///
/// Raises `TokenSealError` with `ERR_INPUT_INVALID` for an id or secret that is not text.
#[pyfunction]
fn basic_authorization(
    py: Python<'_>,
    client_id: &Bound<'_, PyAny>,
    client_secret: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let client = Client {
        client_id: text(py, client_id, Error::InputInvalid)?,
        client_secret: zeroize::Zeroizing::new(text(py, client_secret, Error::InputInvalid)?),
        auth: ClientAuth::Basic,
        scope: None,
    };
    client
        .authorization()
        .map(|header| header.as_str().to_owned())
        .ok_or_else(|| raise(py, Error::InputInvalid))
}

/// Checks what of the options (as `resolve_endpoints` takes them) needs no discovery
/// document, and returns the address of the issuer's document to fetch (OpenID Connect
/// Discovery 1.0 §4), or None when no `issuer` is given.
///
/// Raises `TokenSealError` with `ERR_CONFIG_INVALID` (a key, endpoint, method or issuer
/// tokenseal does not accept) or `ERR_CONFIG_INCOMPLETE` (the scope the provider's
/// refresh needs).
#[pyfunction]
#[pyo3(signature = (provider, token_endpoint = None, revoke_endpoint = None, issuer = None, scope = None, token_endpoint_auth_method = None))]
fn discovery_url(
    py: Python<'_>,
    provider: &str,
    token_endpoint: Option<String>,
    revoke_endpoint: Option<String>,
    issuer: Option<String>,
    scope: Option<String>,
    token_endpoint_auth_method: Option<String>,
) -> PyResult<Option<String>> {
    let (connection, options) = endpoint_inputs(
        py,
        provider,
        [token_endpoint, revoke_endpoint, issuer, scope],
        token_endpoint_auth_method,
    )?;
    client::check(&connection, &options).map_err(|e| raise(py, e))
}

/// The provider and its endpoint options as `discovery_url` and `resolve_endpoints` take
/// them as keywords: `[token_endpoint, revoke_endpoint, issuer, scope]` and the method.
fn endpoint_inputs(
    py: Python<'_>,
    provider: &str,
    [token_endpoint, revoke_endpoint, issuer, scope]: [Option<String>; 4],
    token_endpoint_auth_method: Option<String>,
) -> PyResult<(Connection, EndpointOptions)> {
    let options = EndpointOptions {
        token_endpoint,
        revoke_endpoint,
        issuer,
        scope,
        auth: token_endpoint_auth_method,
    };
    Ok((connection(py, provider)?, options))
}

/// Where and how `provider`'s refreshes go: a dict with `token_endpoint`,
/// `revoke_endpoint`, `token_endpoint_auth_method`, `scope`, from the options
/// (`token_endpoint`, `revoke_endpoint`, `issuer`, `scope`,
/// `token_endpoint_auth_method`), the provider's entry and, with an issuer, the answer
/// to a GET of `discovery_url(issuer)` as `(status, body)` (status 0: no answer).
///
/// Raises `TokenSealError` with `ERR_CONFIG_INVALID`, `ERR_CONFIG_INCOMPLETE`,
/// `ERR_PROVIDER_UNAVAILABLE` or `ERR_DISCOVERY_INVALID`.
#[pyfunction]
#[pyo3(signature = (provider, token_endpoint = None, revoke_endpoint = None, issuer = None, scope = None, token_endpoint_auth_method = None, discovery = None))]
#[allow(clippy::too_many_arguments)] // the options, as keyword arguments
fn resolve_endpoints<'py>(
    py: Python<'py>,
    provider: &str,
    token_endpoint: Option<String>,
    revoke_endpoint: Option<String>,
    issuer: Option<String>,
    scope: Option<String>,
    token_endpoint_auth_method: Option<String>,
    discovery: Option<(u16, String)>,
) -> PyResult<Bound<'py, PyDict>> {
    let (connection, options) = endpoint_inputs(
        py,
        provider,
        [token_endpoint, revoke_endpoint, issuer, scope],
        token_endpoint_auth_method,
    )?;
    let endpoints = client::resolve(
        &connection,
        &options,
        discovery
            .as_ref()
            .map(|(status, body)| (*status, body.as_str())),
    )
    .map_err(|e| raise(py, e))?;
    let dict = PyDict::new(py);
    dict.set_item("token_endpoint", endpoints.token_endpoint)?;
    dict.set_item("revoke_endpoint", endpoints.revoke_endpoint)?;
    dict.set_item("token_endpoint_auth_method", endpoints.auth.as_str())?;
    dict.set_item("scope", endpoints.scope)?;
    Ok(dict)
}

/// True when `url` may receive a client secret or a refresh token: https, or http to a
/// loopback host (the rule the Node backend and the Action apply too).
#[pyfunction]
fn endpoint_allowed(url: &str) -> bool {
    tokenseal::action::secret_url_allowed(url)
}

/// Reads `provider`'s answer to a refresh (`status` 0: no answer) at `now` (seconds
/// since the epoch), its refusals read through the provider's entry (default
/// `"google-oauth2"`): a dict with `access_token`, `expires_at`, `scope`,
/// `refresh_token` (only when the provider rotated it), `id_token`,
/// `refresh_token_expires_at`.
///
/// Raises `TokenSealError` with `ERR_CONFIG_INVALID` for a `provider` that is not a
/// key, `ERR_RECONSENT_REQUIRED`, `ERR_CLIENT_REJECTED`,
/// `ERR_ADMIN_POLICY`, `ERR_PROVIDER_REJECTED`, `ERR_PROVIDER_UNAVAILABLE` or
/// `ERR_PROVIDER_RESPONSE`.
#[pyfunction]
#[pyo3(signature = (status, body, now, provider = GOOGLE.auth0_provider))]
fn parse_refresh_response<'py>(
    py: Python<'py>,
    status: u16,
    body: &str,
    now: u64,
    provider: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let provider = connection(py, provider)?.provider();
    let grant = token_endpoint::parse_refresh_response(provider, status, body, now)
        .map_err(|e| raise(py, e))?;
    let dict = PyDict::new(py);
    dict.set_item("access_token", grant.access_token.expose_secret())?;
    dict.set_item("expires_at", grant.expires_at)?;
    dict.set_item("scope", grant.scope.as_deref())?;
    dict.set_item(
        "refresh_token",
        grant
            .refresh_token
            .as_ref()
            .map(RefreshToken::expose_secret),
    )?;
    dict.set_item("id_token", grant.id_token.as_deref())?;
    dict.set_item("refresh_token_expires_at", grant.refresh_token_expires_at)?;
    Ok(dict)
}

/// What clearing `provider`'s sealed value writes to `app_metadata`, both as JSON text
/// (private: the package's `plan_clear` converts): `{ member: value }`, `null` deleting a member;
/// `{}` when nothing is stored. See `tokenseal::login::plan_clear`.
///
/// Raises `TokenSealError` with `ERR_USER_INVALID` for text that is not a JSON object (or
/// whose `sealed_refresh_tokens` is not one), `ERR_CONFIG_INVALID` for a `provider` that
/// is not a key.
#[pyfunction]
#[pyo3(name = "_plan_clear_json", signature = (app_metadata_json, provider = GOOGLE.auth0_provider))]
fn plan_clear_json(py: Python<'_>, app_metadata_json: &str, provider: &str) -> PyResult<String> {
    let connection = connection(py, provider)?;
    let metadata = match tokenseal::json::Json::parse(app_metadata_json) {
        Ok(tokenseal::json::Json::Object(metadata)) => metadata,
        Ok(tokenseal::json::Json::Null) => tokenseal::json::Object::new(),
        _ => return Err(raise(py, Error::UserInvalid)),
    };
    let writes = tokenseal::login::plan_clear(&metadata, &connection).map_err(|e| raise(py, e))?;
    let mut members = tokenseal::json::Object::new();
    for write in writes {
        members.insert(write.key, write.value);
    }
    Ok(tokenseal::json::Json::Object(members).to_text())
}

/// The refresh token a successful (2xx) token endpoint answer carries, or None, whatever
/// else the answer holds: a provider that rotates has consumed the token it was sent, so
/// the new one must be kept even when the rest of the answer is unusable.
#[pyfunction]
fn rotated_refresh_token(status: u16, body: &str) -> Option<String> {
    token_endpoint::rotated_refresh_token(status, body).map(|t| t.expose_secret().to_owned())
}

/// The scopes of `required` that `scope` (a token answer's space-separated `scope`, or
/// None) does not grant, compared as a set; empty when all are granted.
#[pyfunction]
#[pyo3(signature = (scope, required))]
fn missing_scopes(scope: Option<&str>, required: Vec<String>) -> Vec<String> {
    let required: Vec<&str> = required.iter().map(String::as_str).collect();
    token_endpoint::missing_scopes(scope, &required)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The extension module `tokenseal._tokenseal`; `tokenseal/__init__.py` re-exports it.
#[pymodule]
fn _tokenseal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("TokenSealError", py.get_type::<TokenSealError>())?;
    m.add_function(wrap_pyfunction!(seal, m)?)?;
    m.add_function(wrap_pyfunction!(seal_rotated, m)?)?;
    m.add_function(wrap_pyfunction!(open_sealed, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(generate_key_set, m)?)?;
    m.add_function(wrap_pyfunction!(refresh_request_body, m)?)?;
    m.add_function(wrap_pyfunction!(basic_authorization, m)?)?;
    m.add_function(wrap_pyfunction!(discovery_url, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_endpoints, m)?)?;
    m.add_function(wrap_pyfunction!(parse_refresh_response, m)?)?;
    m.add_function(wrap_pyfunction!(rotated_refresh_token, m)?)?;
    m.add_function(wrap_pyfunction!(plan_clear_json, m)?)?;
    m.add_function(wrap_pyfunction!(missing_scopes, m)?)?;
    m.add_function(wrap_pyfunction!(endpoint_allowed, m)?)?;
    // Every stable code, once (tokenseal::CODES): as a tuple, and each as a constant.
    m.add("CODES", PyList::new(py, tokenseal::CODES)?.to_tuple())?;
    for code in tokenseal::CODES {
        m.add(*code, *code)?;
    }
    // The constants a Python backend needs, from the core's provider table.
    m.add("SEALED_KEY", tokenseal::login::SEALED_KEY)?;
    m.add("GOOGLE_PROVIDER", GOOGLE.auth0_provider)?;
    m.add("GOOGLE_TOKEN_ENDPOINT", GOOGLE.token_endpoint)?;
    Ok(())
}
