//! The Python boundary of tokenseal: the only module that touches PyO3. Every function
//! here converts Python values to the core's types, calls the core, and converts back;
//! the clock and the random IVs are taken here, at the edge, as the JavaScript boundary
//! does. Every failure is raised as `tokenseal.TokenSealError` whose `code` is the
//! core's stable code and whose message is its fixed text (never an input).

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use tokenseal::jwe::{self, Nonce};
use tokenseal::keys::generate_key;
use tokenseal::providers::google::GOOGLE;
use tokenseal::providers::token_endpoint;
use tokenseal::{Error, Json, KeyRing, RefreshToken};

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

fn key_ring(py: Python<'_>, key_set_json: &str) -> PyResult<KeyRing> {
    KeyRing::from_jwk_set(key_set_json).map_err(|e| raise(py, e))
}

fn refresh_token(py: Python<'_>, token: &str) -> PyResult<RefreshToken> {
    RefreshToken::new(token).map_err(|e| raise(py, e))
}

/// Seals `token` (a refresh token) for `user_id` under the primary key of the JWK Set
/// `key_set_json`: a compact JWE (`dir`, `A256GCM`) bound to the user.
///
/// Raises `TokenSealError` with `ERR_TOKEN_INVALID`, `ERR_USER_ID_INVALID`, a key-set
/// code or `ERR_RANDOM`.
#[pyfunction]
fn seal(py: Python<'_>, token: &str, key_set_json: &str, user_id: &str) -> PyResult<String> {
    let token = refresh_token(py, token)?;
    let keys = key_ring(py, key_set_json)?;
    let iv = Nonce::random().map_err(|e| raise(py, e))?;
    jwe::seal(&token, &keys, user_id, now(), iv).map_err(|e| raise(py, e))
}

/// Seals a refresh token the provider rotated as the successor of `previous` (the sealed
/// value the refresh started from), keeping its capture record, so that a later login
/// holding Auth0's older copy keeps this newer value.
///
/// Raises `TokenSealError` with the codes of `open_sealed` for `previous`, or those of
/// `seal`.
#[pyfunction]
fn seal_rotated(
    py: Python<'_>,
    token: &str,
    previous: &str,
    key_set_json: &str,
    user_id: &str,
) -> PyResult<String> {
    let token = refresh_token(py, token)?;
    let keys = key_ring(py, key_set_json)?;
    let iv = Nonce::random().map_err(|e| raise(py, e))?;
    jwe::seal_rotated(&token, previous, &keys, user_id, now(), iv).map_err(|e| raise(py, e))
}

/// Opens a sealed value bound to `user_id` and returns the refresh token. `sealed` is the
/// JWE itself, or a dict: the user's `app_metadata` or the whole user, whose
/// `sealed_refresh_tokens["google-oauth2"]` is opened.
///
/// Raises `TokenSealError` with `ERR_SEALED_MISSING`, `ERR_SEALED_MALFORMED`,
/// `ERR_HEADER_INVALID`, `ERR_VERSION_UNSUPPORTED`, `ERR_ALG_UNSUPPORTED`,
/// `ERR_SUBJECT_MISMATCH`, `ERR_KEY_UNKNOWN`, `ERR_DECRYPT`, `ERR_TOKEN_INVALID` or a
/// key-set code.
#[pyfunction]
fn open_sealed(
    py: Python<'_>,
    sealed: &Bound<'_, PyAny>,
    key_set_json: &str,
    user_id: &str,
) -> PyResult<String> {
    let jwe_text = if sealed.cast::<PyString>().is_ok() {
        sealed.extract::<String>()?
    } else if sealed.cast::<PyDict>().is_ok() {
        let text: String = py
            .import("json")?
            .call_method1("dumps", (sealed,))?
            .extract()?;
        let value = Json::parse(&text).map_err(|_| raise(py, Error::SealedMalformed))?;
        tokenseal::login::stored_sealed_value(&value, &GOOGLE)
            .ok_or_else(|| raise(py, Error::SealedMissing))?
            .to_owned()
    } else {
        return Err(raise(py, Error::SealedMalformed));
    };
    let keys = key_ring(py, key_set_json)?;
    jwe::open(&jwe_text, &keys, user_id)
        .map(|token| token.expose_secret().to_owned())
        .map_err(|e| raise(py, e))
}

/// The public header of a sealed value, without a key: a dict with `typ`, `alg`, `enc`,
/// `kid`, `sub`, and `iat`, `src`, `cap_kid` when recorded.
///
/// Raises `TokenSealError` with `ERR_SEALED_MALFORMED`, `ERR_HEADER_INVALID`,
/// `ERR_VERSION_UNSUPPORTED` or `ERR_ALG_UNSUPPORTED`.
#[pyfunction]
fn inspect<'py>(py: Python<'py>, sealed: &str) -> PyResult<Bound<'py, PyDict>> {
    let header = jwe::inspect(sealed).map_err(|e| raise(py, e))?;
    let dict = PyDict::new(py);
    dict.set_item("typ", &header.typ)?;
    dict.set_item("alg", &header.alg)?;
    dict.set_item("enc", &header.enc)?;
    dict.set_item("kid", &header.kid)?;
    dict.set_item("sub", &header.sub)?;
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
    refresh_token: &str,
    client_id: &str,
    client_secret: &str,
) -> PyResult<String> {
    let token = self::refresh_token(py, refresh_token)?;
    Ok(
        token_endpoint::refresh_request_body(&token, client_id, client_secret)
            .as_str()
            .to_owned(),
    )
}

/// Reads Google's answer to a refresh (`status` 0: no answer) at `now` (seconds since
/// the epoch): a dict with `access_token`, `expires_at`, `scope`, `refresh_token` (only
/// when Google rotated it), `id_token`, `refresh_token_expires_at`.
///
/// Raises `TokenSealError` with `ERR_RECONSENT_REQUIRED`, `ERR_CLIENT_REJECTED`,
/// `ERR_ADMIN_POLICY`, `ERR_PROVIDER_REJECTED`, `ERR_PROVIDER_UNAVAILABLE` or
/// `ERR_PROVIDER_RESPONSE`.
#[pyfunction]
fn parse_refresh_response<'py>(
    py: Python<'py>,
    status: u16,
    body: &str,
    now: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let grant = token_endpoint::parse_refresh_response(&GOOGLE, status, body, now)
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
    m.add_function(wrap_pyfunction!(parse_refresh_response, m)?)?;
    m.add_function(wrap_pyfunction!(missing_scopes, m)?)?;
    // Every stable code, once (tokenseal::CODES): as a tuple, and each as a constant.
    m.add("CODES", PyList::new(py, tokenseal::CODES)?.to_tuple())?;
    for code in tokenseal::CODES {
        m.add(*code, *code)?;
    }
    // The constants a Python backend needs, from the core's provider table.
    m.add("SEALED_KEY", tokenseal::login::SEALED_KEY)?;
    m.add("GOOGLE_PROVIDER", GOOGLE.key)?;
    m.add("GOOGLE_TOKEN_ENDPOINT", GOOGLE.token_endpoint)?;
    Ok(())
}
