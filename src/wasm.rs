//! The WebAssembly boundary: the only module that touches `wasm_bindgen` and `JsValue`.
//!
//! Objects coming in (users, login input) cross as JSON text: `JSON.stringify` on the
//! JavaScript side, then serde_json, whose 128-level nesting limit turns hostile deep
//! input into a typed error. Walking a JavaScript object graph directly has no such
//! limit and would exhaust the wasm stack, which traps and leaves the instance unusable
//! for every later login of the same Action instance. Objects going out are built with
//! `serde-wasm-bindgen` in JSON-compatible mode (plain objects, numbers).
//!
//! Every failure is thrown as a JavaScript `Error` whose `.code` is the stable
//! [`Error::code`] and whose message is the fixed [`Error::message`].

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::jwe::{self, Nonce};
use crate::keys::{generate_key, KeyRing};
use crate::login::{self, LoginInput};
use crate::token::RefreshToken;
use crate::user::User;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** An Auth0 user: a Rule's `user`, an Action's `event.user`, or a Management API read. */
export interface Auth0User {
  user_id: string;
  identities?: Array<{ provider: string; connection?: string; user_id?: string | number; [field: string]: unknown }>;
  app_metadata?: Record<string, unknown> | null;
  [field: string]: unknown;
}
/** Everything a login knows. */
export interface LoginInput {
  user: Auth0User;
  freshUser?: Auth0User | null;
  connectionStrategy?: string | null;
  loginsCount?: number | null;
  authorizeQuery?: Record<string, unknown> | null;
  read?: "never" | "auto" | "always";
  claimNamespace?: string | null;
}
export type OfflineAccess = "stored" | "missing";
/** Every effect of a login. */
export interface LoginPlan {
  readUser: boolean;
  outcome: "not_google" | "sealed" | "replaced" | "rotated" | "migrated" | "unchanged" | "missing";
  metadataWrites: Array<{ key: "sealed_refresh_tokens" | "refresh_token"; value: unknown }>;
  appMetadata: Record<string, unknown> | null;
  offlineAccess: OfflineAccess | null;
  claims: Array<{ name: string; value: OfflineAccess }>;
  notices: string[];
  sanitizedUser: Auth0User;
}
/** The public header of a sealed value. */
export interface SealedHeader { typ: string; alg: "dir"; enc: "A256GCM"; kid: string; sub: string; iat?: number }
/** Errors thrown by tokenseal carry a stable code. */
export interface TokenSealError extends Error { code: string }
"#;

/// Seals `token` for the user `userId` under the primary key of the JWK Set.
///
/// # Errors
/// Throws `ERR_TOKEN_INVALID`, `ERR_USER_ID_INVALID`, a key-set code, or `ERR_RANDOM`.
#[wasm_bindgen(js_name = seal)]
pub fn seal(token: &str, key_set_json: &str, user_id: &str) -> Result<String, JsValue> {
    let token = RefreshToken::new(token).map_err(to_js)?;
    let keys = KeyRing::from_jwk_set(key_set_json).map_err(to_js)?;
    let iv = Nonce::random().map_err(to_js)?;
    jwe::seal(&token, &keys, user_id, now(), iv).map_err(to_js)
}

/// Opens a sealed value bound to `userId` and returns the refresh token.
///
/// # Errors
/// Throws a key-set code, `ERR_SEALED_MALFORMED`, `ERR_HEADER_INVALID`,
/// `ERR_VERSION_UNSUPPORTED`, `ERR_ALG_UNSUPPORTED`, `ERR_SUBJECT_MISMATCH`,
/// `ERR_KEY_UNKNOWN`, `ERR_DECRYPT` or `ERR_TOKEN_INVALID`.
#[wasm_bindgen(js_name = open)]
pub fn open(sealed: &str, key_set_json: &str, user_id: &str) -> Result<String, JsValue> {
    let keys = KeyRing::from_jwk_set(key_set_json).map_err(to_js)?;
    jwe::open(sealed, &keys, user_id)
        .map(|token| token.expose_secret().to_owned())
        .map_err(to_js)
}

/// Reads the public header of a sealed value (no key needed, nothing secret returned).
///
/// # Errors
/// Throws `ERR_SEALED_MALFORMED`, `ERR_HEADER_INVALID`, `ERR_VERSION_UNSUPPORTED` or
/// `ERR_ALG_UNSUPPORTED`.
#[wasm_bindgen(js_name = inspect, unchecked_return_type = "SealedHeader")]
pub fn inspect(sealed: &str) -> Result<JsValue, JsValue> {
    to_js_value(&jwe::inspect(sealed).map_err(to_js)?)
}

/// Returns a copy of `user` with every token and sealed value removed.
///
/// # Errors
/// Throws `ERR_USER_INVALID` when `user` is not a plain object, is cyclic, or is nested
/// deeper than 128 levels.
#[wasm_bindgen(js_name = sanitize, unchecked_return_type = "Auth0User")]
pub fn sanitize(
    #[wasm_bindgen(unchecked_param_type = "Auth0User")] user: JsValue,
) -> Result<JsValue, JsValue> {
    let json = stringify(&user, Error::UserInvalid)?;
    let value: serde_json::Value =
        serde_json::from_str(&json).map_err(|_| to_js(Error::UserInvalid))?;
    to_js_value(&crate::sanitize::sanitize(&value).map_err(to_js)?)
}

/// The login decision: every effect the Action or Rule must carry out.
///
/// # Errors
/// Throws `ERR_INPUT_INVALID` or `ERR_USER_INVALID` for input of the wrong shape, a
/// key-set code for a bad key set, `ERR_USER_ID_INVALID`, or `ERR_RANDOM`.
#[wasm_bindgen(js_name = planLogin, unchecked_return_type = "LoginPlan")]
pub fn plan_login(
    #[wasm_bindgen(unchecked_param_type = "LoginInput")] input: JsValue,
    key_set_json: &str,
) -> Result<JsValue, JsValue> {
    let json = stringify(&input, Error::InputInvalid)?;
    let value: serde_json::Value =
        serde_json::from_str(&json).map_err(|_| to_js(Error::InputInvalid))?;
    let input = LoginInput::from_value(value).map_err(to_js)?;
    let keys = KeyRing::from_jwk_set(key_set_json).map_err(to_js)?;
    let iv = Nonce::random().map_err(to_js)?;
    to_js_value(&login::plan_login(&input, &keys, now(), iv).map_err(to_js)?)
}

/// A new JWK Set with one fresh 256-bit key and a random `kid`, for the
/// `TOKENSEAL_KEYS` secret.
///
/// # Errors
/// Throws `ERR_RANDOM` when no randomness is available.
#[wasm_bindgen(js_name = generateKeySet)]
pub fn generate_key_set() -> Result<String, JsValue> {
    let key = generate_key().map_err(to_js)?;
    let ring = KeyRing::from_keys(vec![key]).map_err(to_js)?;
    Ok(ring.to_jwk_set_json().as_str().to_owned())
}

/// Re-reads user JSON the way [`plan_login`] does and reports the typed error, if any.
/// Lets a shim check a Management API answer before planning with it.
///
/// # Errors
/// Throws `ERR_USER_INVALID`.
#[wasm_bindgen(js_name = checkUser)]
pub fn check_user(
    #[wasm_bindgen(unchecked_param_type = "Auth0User")] user: JsValue,
) -> Result<(), JsValue> {
    let json = stringify(&user, Error::UserInvalid)?;
    User::from_json(&json).map(|_| ()).map_err(to_js)
}

fn now() -> u64 {
    // Date.now() is milliseconds since the epoch as an f64; whole seconds fit in u64.
    (js_sys::Date::now() / 1000.0) as u64
}

fn stringify(value: &JsValue, error: Error) -> Result<String, JsValue> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| to_js(error))
}

fn to_js_value<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| to_js(Error::InputInvalid))
}

fn to_js(error: Error) -> JsValue {
    let js_error = js_sys::Error::new(error.message());
    js_error.set_name("TokenSealError");
    // Reflect.set on a fresh Error object cannot fail: it is extensible and `code` is
    // not a read-only property.
    let _ = js_sys::Reflect::set(
        &js_error,
        &JsValue::from_str("code"),
        &JsValue::from_str(error.code()),
    );
    js_error.into()
}
