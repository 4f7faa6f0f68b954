//! The WebAssembly boundary: the only module that touches `wasm_bindgen` and `JsValue`.
//!
//! Feature `wasm` exports what both adapters call (`planLogin`, `loginFields`,
//! `actionConfig`). Each adapter's module, inlined into its `dist/` file, links only what
//! that adapter calls: `wasm-action` adds the Action's Management API client decisions
//! and `api.cache` entries (`judgeResponse`, `tokenScopeNotice`, `tokenCacheTtlMs`,
//! `sealCacheEntry`, `openCacheEntry`); `wasm-rule` adds the removals of `planLogin`
//! (feature `removals`). Feature `wasm-full` adds the rest for `pkg/` (sealing and
//! opening, inspection, the sanitizer, the token endpoints, key generation).
//!
//! JSON documents (users, login input, plans) cross as JSON text: `JSON.stringify` and
//! [`Json::parse`] on the way in, [`Json::to_text`] and `JSON.parse` on the way out.
//! The parser's nesting limit turns hostile deep input into a typed error; walking a
//! JavaScript object graph directly has no such limit and would exhaust the wasm
//! stack, which traps and leaves the instance unusable for every later login of the
//! same Action instance. Text also keeps numbers exact without float code in the
//! module. Typed results (the sealed header) are built with `serde-wasm-bindgen`.
//!
//! Every failure is thrown as a JavaScript `Error` whose `.code` is the stable
//! [`Error::code`] and whose message is the fixed [`Error::message`] (feature
//! `wasm-full`, `pkg/`) or the code again (without `wasm-full`: the modules inlined into
//! `dist/`, whose adapters only ever log codes).

use std::cell::RefCell;
use std::rc::Rc;

#[cfg(feature = "wasm-full")]
use serde::ser::{Serialize, SerializeMap, Serializer};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use crate::action;
use crate::calls;
use crate::error::Error;
use crate::json::{Json, Object};
#[cfg(feature = "wasm-action")]
use crate::jwe;
use crate::jwe::Nonce;
#[cfg(feature = "wasm-full")]
use crate::keys::generate_key;
use crate::keys::KeyRing;
use crate::login::{self, ClaimValue, LoginInput, LoginPlan, ReadPolicy};
#[cfg(feature = "wasm-full")]
use crate::providers::{self, client, token_endpoint, Connection, Provider};
#[cfg(feature = "wasm-full")]
use crate::token::RefreshToken;
use crate::user;
#[cfg(feature = "wasm-full")]
use base64ct::{Base64UrlUnpadded, Encoding};

/// `ErrorCode`, the closed union of every `error.code` (defined once in `crate::error`).
#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR_CODES: &'static str = crate::error::ERROR_CODE_TS;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** An Auth0 user: a Rule's `user`, an Action's `event.user`, or a Management API read. */
export interface Auth0User {
  user_id: string;
  identities?: Array<{ provider: string; connection?: string; user_id?: string | number; [field: string]: unknown }>;
  app_metadata?: Record<string, unknown> | null;
  [field: string]: unknown;
}
/** The member names of a user (no values): what planLogin needs to say what to remove. */
export interface UserShape {
  root: string[];
  identities: Array<string[] | null> | null | "other";
  appMetadata: string[] | null | "other";
}
/** Everything a login knows. `user` and `freshUser` carry only the fields of loginFields(). */
export interface LoginInput {
  user: Auth0User;
  freshUser?: Auth0User | null;
  shape?: UserShape | null;
  connectionStrategy?: string | null;
  /** event.connection.name / context.connection: tells custom OAuth 2.0 connections apart. */
  connectionName?: string | null;
  /** The configured providers' keys, in order (ActionConfig.providers); null: Google alone. */
  providers?: string[] | null;
  loginsCount?: number | null;
  authorizeQuery?: Record<string, unknown> | null;
  transactionPrompt?: string[] | null;
  protocol?: string | null;
  federatedAt?: number | null;
  read?: "never" | "auto" | "always";
  claimNamespace?: string | null;
  recheckSeconds?: number | null;
}
/** The fields planLogin reads; a shim passes only these. */
export interface LoginFields { user: string[]; identity: string[]; appMetadata: string[]; query: string[] }
export type OfflineAccess = "stored" | "missing";
/** What to remove from a user before it is handed on (null: keep that member as it is). */
export interface Removals { root: string[]; identities: Array<string[] | null> | null; appMetadata: string[] | null }
/** "not_google": the user has no identity of any configured provider (the name dates from when Google was the only one). */
export type Outcome = "not_google" | "sealed" | "replaced" | "rotated" | "migrated" | "unchanged" | "missing";
/** Every effect of a login. `outcome` and `offlineAccess` are the first configured provider's the user has an identity of. */
export interface LoginPlan {
  readUser: boolean;
  outcome: Outcome;
  providers: Array<{ key: string; outcome: Outcome; offlineAccess: OfflineAccess }>;
  metadataWrites: Array<{ key: "sealed_refresh_tokens" | "refresh_token" | "tokenseal"; value: unknown }>;
  offlineAccess: OfflineAccess | null;
  claims: Array<{ name: string; value: OfflineAccess | Record<string, OfflineAccess> }>;
  notices: ErrorCode[];
  removals: Removals | null;
}
/** The public header of a sealed value. */
export interface SealedHeader { typ: string; alg: "dir"; enc: "A256GCM"; kid: string; sub: string; iat?: number; idp?: string; src?: "login" | "rotation"; cap?: string; cap_kid?: string }
/** The Action's settings, from event.secrets. */
export interface ActionConfig {
  read: "auto" | "always";
  /** TOKENSEAL_PROVIDERS's valid keys, in order; null when unset (Google alone). */
  providers: string[] | null;
  claimNamespace: string | null;
  denyOnError: boolean;
  recheckSeconds: number;
  management: { tokenUrl: string; audience: string; usersUrl: string; cacheKey: string; clientId: string; clientSecret: string; timeoutMs: number; minCallMs: number } | null;
  /** Longest time the adapter spends on Management API calls in one login, in ms: the
   * Action's reads (with their retries), the Rule's one write. */
  callBudgetMs: number;
  notices: ErrorCode[];
}
/** One Management API response as the Action saw it; status 0 means no response. */
export interface CallResult { status: number; timedOut?: boolean; retryAfter?: string | null; rateLimitReset?: string | null; attempt: number; remainingMs: number; cachedToken?: boolean }
export type Verdict = { action: "done" } | { action: "retry"; waitMs: number } | { action: "reauthenticate" } | { action: "fail"; code: ErrorCode };
/** One identity provider of the core's table (`providerTable()`). */
export interface ProviderInfo {
  name: string;
  /** Its identities' `provider` and its connection's strategy. */
  auth0Provider: string;
  /** True for custom OAuth 2.0 connections: stored under the connection name, not auth0Provider. */
  keyedByConnection: boolean;
  /** Its own status claim, appended to the configured namespace (Google's), or null. */
  claimName: string | null;
  /** True when every login through it can bring a new refresh token. */
  newTokenEveryLogin: boolean;
  /** The /authorize parameters that ask for consent and a new refresh token (besides `connection` and `connection_scope`). */
  reconsentParams: Record<string, string>;
  /** Scopes asked for at consent as `connection_scope`, before the app's own (custom connections: offline_access). */
  consentScopes: string[];
  /** Null when each deployment names it (tokenEndpoint or issuer). */
  tokenEndpoint: string | null;
  revokeEndpoint: string | null;
  tokenEndpointAuthMethod: "client_secret_post" | "client_secret_basic";
  refreshNeedsScope: boolean;
  rotates: boolean;
}
/** Where and how one provider's refreshes go for this deployment (`resolveEndpoints`). */
export interface Endpoints {
  key: string;
  tokenEndpoint: string;
  revokeEndpoint: string | null;
  tokenEndpointAuthMethod: "client_secret_post" | "client_secret_basic";
  scope: string | null;
}
/** A provider's OAuth client as refreshStates() takes it. */
export interface ProviderClient { provider: string; clientId: string; clientSecret: string; tokenEndpointAuthMethod?: "client_secret_post" | "client_secret_basic" | null; scope?: string | null }
/** One POST to a token or revocation endpoint: the form body, and the Authorization header for client_secret_basic. */
export interface TokenRequest { body: string; authorization: string | null }
/** The constants the backends share with the core. */
export interface ProviderTable {
  /** The app_metadata member holding sealed values: "sealed_refresh_tokens". */
  sealedKey: string;
  /** Refresh this many seconds before an access token expires. */
  defaultSkewSeconds: number;
  /** Most users a backend process keeps refresh state and access tokens for, per provider. */
  defaultMaxUsers: number;
  /** Every provider, by its auth0Provider. */
  providers: Record<string, ProviderInfo>;
}
/** A successful refresh at a provider's token endpoint. */
export interface AccessGrant { accessToken: string; expiresAt: number; scope: string | null; refreshToken: string | null; idToken: string | null; refreshTokenExpiresAt: number | null }
/** Errors thrown by tokenseal carry a stable code. */
export interface TokenSealError extends Error { code: ErrorCode }
"#;

/// Seals `token` for the user `userId` and the provider `provider` (a key, default
/// `"google-oauth2"`) under the primary key of the JWK Set, with no provenance.
///
/// # Errors
/// Throws `ERR_TOKEN_INVALID`, `ERR_USER_ID_INVALID`, `ERR_CONFIG_INVALID` for a
/// `provider` that is not a key, a key-set code, or `ERR_RANDOM`.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = seal)]
pub fn seal(
    #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
    #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")] key_set_json: JsValue,
    #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    provider: Option<String>,
) -> Result<String, JsValue> {
    let token = RefreshToken::new(&text(&token, Error::TokenInvalid)?).map_err(to_js)?;
    let user_id = text(&user_id, Error::UserIdInvalid)?;
    let connection = connection(provider)?;
    with_keys(&key_set_json, |keys| {
        let provenance = jwe::Provenance::default();
        let iv = Nonce::random()?;
        jwe::seal_with(
            &token,
            keys,
            &user_id,
            connection.idp(),
            now(),
            iv,
            &provenance,
        )
    })
}

/// Seals `token`, a refresh token the provider rotated, as the successor of `previous`
/// (the sealed value the refresh started from): `src` `"rotation"`, capture record
/// carried over, so a login whose identity still holds Auth0's older copy keeps it.
///
/// `provider` is the key both values are bound to (default `"google-oauth2"`).
///
/// # Errors
/// Throws `ERR_TOKEN_INVALID`, the errors of `open` for `previous`, a key-set code, or
/// `ERR_RANDOM`.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = sealRotated)]
pub fn seal_rotated(
    #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] previous: JsValue,
    #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")] key_set_json: JsValue,
    #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    provider: Option<String>,
) -> Result<String, JsValue> {
    let token = RefreshToken::new(&text(&token, Error::TokenInvalid)?).map_err(to_js)?;
    let previous = text(&previous, Error::SealedMalformed)?;
    let user_id = text(&user_id, Error::UserIdInvalid)?;
    let connection = connection(provider)?;
    with_keys(&key_set_json, |keys| {
        let iv = Nonce::random()?;
        jwe::seal_rotated(
            &token,
            &previous,
            keys,
            &user_id,
            connection.idp(),
            now(),
            iv,
        )
    })
}

/// Seals `secret` (the Action's Management API token) for `api.cache`, which every
/// Action of the trigger can read, bound to `context` (its cache key), under a key
/// derived from the ring's primary key.
///
/// # Errors
/// Throws `ERR_TOKEN_INVALID`, `ERR_USER_ID_INVALID` (for the context), a key-set code,
/// or `ERR_RANDOM`.
#[cfg(feature = "wasm-action")]
#[wasm_bindgen(js_name = sealCacheEntry)]
pub fn seal_cache_entry(
    #[wasm_bindgen(unchecked_param_type = "string")] secret: JsValue,
    #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")] key_set_json: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] context: JsValue,
) -> Result<String, JsValue> {
    let secret = Zeroizing::new(text(&secret, Error::TokenInvalid)?);
    let context = text(&context, Error::UserIdInvalid)?;
    with_keys(&key_set_json, |keys| {
        jwe::seal_cache_entry(&secret, keys, &context, now(), Nonce::random()?)
    })
}

/// Opens an entry of `sealCacheEntry` bound to `context`; throws for one that does not
/// open (another key ring, a retired key, tampering), which the caller drops.
///
/// # Errors
/// Throws the codes of `open`.
#[cfg(feature = "wasm-action")]
#[wasm_bindgen(js_name = openCacheEntry)]
pub fn open_cache_entry(
    #[wasm_bindgen(unchecked_param_type = "string")] entry: JsValue,
    #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")] key_set_json: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] context: JsValue,
) -> Result<String, JsValue> {
    let entry = text(&entry, Error::SealedMalformed)?;
    let context = text(&context, Error::UserIdInvalid)?;
    with_keys(&key_set_json, |keys| {
        jwe::open_cache_entry(&entry, keys, &context)
            .map(|secret| secret.as_str().to_owned())
            .map_err(Error::from)
    })
}

/// The fields `planLogin` reads, for a shim to pass only those: `{ user, identity,
/// appMetadata, query }`, each a list of member names.
#[wasm_bindgen(js_name = loginFields, unchecked_return_type = "LoginFields")]
pub fn login_fields() -> Result<JsValue, JsValue> {
    let names = |names: &[&str]| Json::Array(names.iter().map(|&n| Json::from(n)).collect());
    let mut o = Object::new();
    o.insert("user", names(&user::LOGIN_FIELDS));
    o.insert("identity", names(&user::IDENTITY_FIELDS));
    o.insert("appMetadata", names(&login::APP_METADATA_FIELDS));
    o.insert("query", names(&login::QUERY_FIELDS));
    to_js_json(&Json::Object(o))
}

/// Opens a sealed value bound to `userId` and returns the refresh token. `sealed` is the
/// JWE itself, the user's `app_metadata` object holding it, or the whole user; it must be
/// bound to `provider` (a key, default `"google-oauth2"`), whose member an object's
/// value is read from.
///
/// # Errors
/// Throws `ERR_CONFIG_INVALID` for a `provider` that is not a key,
/// `ERR_SEALED_MISSING` when an object holds no sealed value, a key-set
/// code, `ERR_SEALED_MALFORMED`, `ERR_HEADER_INVALID`,
/// `ERR_VERSION_UNSUPPORTED`, `ERR_ALG_UNSUPPORTED`, `ERR_SUBJECT_MISMATCH`,
/// `ERR_PROVIDER_MISMATCH`, `ERR_KEY_UNKNOWN`, `ERR_DECRYPT` or `ERR_TOKEN_INVALID`.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = open)]
pub fn open(
    #[wasm_bindgen(unchecked_param_type = "string | Record<string, unknown>")] sealed: JsValue,
    #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")] key_set_json: JsValue,
    #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    provider: Option<String>,
) -> Result<String, JsValue> {
    let connection = connection(provider)?;
    let sealed = match sealed.as_string() {
        Some(jwe) => jwe,
        None if sealed.is_object() => {
            let app_metadata = from_js(&sealed, Error::SealedMalformed)?;
            login::stored_sealed_value(&app_metadata, connection.key())
                .ok_or_else(|| to_js(Error::SealedMissing))?
                .to_owned()
        }
        None => return Err(to_js(Error::SealedMalformed)),
    };
    let user_id = text(&user_id, Error::UserIdInvalid)?;
    with_keys(&key_set_json, |keys| {
        jwe::open_for(&sealed, keys, &user_id, connection.idp())
            .map(|token| token.expose_secret().to_owned())
            .map_err(Error::from)
    })
}

/// Reads the public header of a sealed value (no key needed, nothing secret returned).
///
/// # Errors
/// Throws `ERR_SEALED_MALFORMED`, `ERR_HEADER_INVALID`, `ERR_VERSION_UNSUPPORTED` or
/// `ERR_ALG_UNSUPPORTED`.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = inspect, unchecked_return_type = "SealedHeader")]
pub fn inspect(
    #[wasm_bindgen(unchecked_param_type = "string")] sealed: JsValue,
) -> Result<JsValue, JsValue> {
    let sealed = text(&sealed, Error::SealedMalformed)?;
    let header = jwe::inspect(&sealed).map_err(to_js)?;
    to_js_value(&HeaderView {
        typ: &header.typ,
        alg: &header.alg,
        enc: &header.enc,
        kid: &header.kid,
        sub: &header.sub,
        idp: header.idp.as_deref(),
        src: header.src.map(jwe::Source::as_str),
        cap: header
            .capture
            .as_ref()
            .map(|c| Base64UrlUnpadded::encode_string(&c.fingerprint)),
        cap_kid: header.capture.as_ref().map(|c| c.kid.as_str()),
        // A JavaScript number. Exact up to 2^53 seconds (285 million years); past that
        // the nearest double. Serializing the u64 itself would make serde-wasm-bindgen
        // refuse such a value, so a header that opens could not be inspected.
        iat: header.iat.map(|iat| iat as f64),
    })
}

#[cfg(feature = "wasm-full")]
/// [`jwe::SealedHeader`] as JavaScript sees it (`SealedHeader` in the TypeScript types).
struct HeaderView<'a> {
    typ: &'a str,
    alg: &'a str,
    enc: &'a str,
    kid: &'a str,
    sub: &'a str,
    idp: Option<&'a str>,
    iat: Option<f64>,
    src: Option<&'static str>,
    cap: Option<String>,
    cap_kid: Option<&'a str>,
}

#[cfg(feature = "wasm-full")]
impl Serialize for HeaderView<'_> {
    /// Serialized as a map, which `json_compatible()` makes a plain object: as a struct,
    /// serde-wasm-bindgen would intern the member names in a `HashMap` cache whose code
    /// costs 2.4 KB of the module, to save a few string conversions per call.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("typ", self.typ)?;
        map.serialize_entry("alg", self.alg)?;
        map.serialize_entry("enc", self.enc)?;
        map.serialize_entry("kid", self.kid)?;
        map.serialize_entry("sub", self.sub)?;
        if let Some(iat) = self.iat {
            map.serialize_entry("iat", &iat)?;
        }
        if let Some(idp) = self.idp {
            map.serialize_entry("idp", idp)?;
        }
        if let Some(src) = self.src {
            map.serialize_entry("src", src)?;
        }
        if let (Some(cap), Some(cap_kid)) = (&self.cap, self.cap_kid) {
            map.serialize_entry("cap", cap)?;
            map.serialize_entry("cap_kid", cap_kid)?;
        }
        map.end()
    }
}

/// Returns a copy of `user` with every token and sealed value removed.
///
/// # Errors
/// Throws `ERR_USER_INVALID` when `user` is not a plain object, is cyclic, or is nested
/// deeper than 128 levels.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = sanitize, unchecked_return_type = "Auth0User")]
pub fn sanitize(
    #[wasm_bindgen(unchecked_param_type = "Auth0User")] user: JsValue,
) -> Result<JsValue, JsValue> {
    let user = from_js(&user, Error::UserInvalid)?;
    to_js_json(&crate::sanitize::sanitize(&user).map_err(to_js)?)
}

/// The login decision: every effect the Action or Rule must carry out.
///
/// Everything given is read (through `JSON.stringify`), so pass only the fields
/// [`login_fields`] names, as the Action and the Rule do: then a user with megabytes of
/// `user_metadata`, or a name holding a lone UTF-16 surrogate, costs and fails nothing.
/// (Picking them out member by member from here would cost about 10 µs a login in
/// calls between WebAssembly and JavaScript; in JavaScript it costs almost nothing.)
///
/// # Errors
/// Throws `ERR_INPUT_INVALID` or `ERR_USER_INVALID` for input of the wrong shape, a
/// key-set code for a bad key set, `ERR_USER_ID_INVALID`, or `ERR_RANDOM`.
#[wasm_bindgen(js_name = planLogin, unchecked_return_type = "LoginPlan")]
pub fn plan_login(
    #[wasm_bindgen(unchecked_param_type = "LoginInput")] input: JsValue,
    #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")] key_set_json: JsValue,
) -> Result<JsValue, JsValue> {
    let input = LoginInput::from_value(from_js(&input, Error::InputInvalid)?).map_err(to_js)?;
    let ring = key_ring(&key_set_json);
    let plan = login::plan_login(
        &input,
        ring.as_deref().map_err(|e| *e),
        now(),
        Nonce::random,
    )
    .map_err(to_js)?;
    to_js_json(&plan_view(plan))
}

/// The Action's settings from `event.secrets`: read policy, claim namespace, deny on
/// error, Management API endpoints, and notices for settings that were refused.
///
/// # Errors
/// Throws `ERR_INPUT_INVALID` when `secrets` is not a plain object.
#[wasm_bindgen(js_name = actionConfig, unchecked_return_type = "ActionConfig")]
pub fn action_config(
    #[wasm_bindgen(unchecked_param_type = "Record<string, string>")] secrets: JsValue,
) -> Result<JsValue, JsValue> {
    let secrets = from_js(&secrets, Error::InputInvalid)?;
    to_js_json(&config_view(&action::action_config(&secrets)))
}

/// What to do after a Management API response: `{ action: "done" | "retry" |
/// "reauthenticate" | "fail", waitMs?, code? }`.
///
/// # Errors
/// Throws `ERR_INPUT_INVALID` when `call` does not have the documented shape.
#[cfg(feature = "wasm-action")]
#[wasm_bindgen(js_name = judgeResponse, unchecked_return_type = "Verdict")]
pub fn judge_response(
    #[wasm_bindgen(unchecked_param_type = "CallResult")] call: JsValue,
) -> Result<JsValue, JsValue> {
    let call = from_js(&call, Error::InputInvalid)?;
    let number = |name: &str| call.get(name).and_then(Json::as_u64);
    let result = calls::CallResult {
        status: number("status")
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| to_js(Error::InputInvalid))?,
        timed_out: matches!(call.get("timedOut"), Some(Json::Bool(true))),
        retry_after: call.get("retryAfter").and_then(Json::as_str),
        rate_limit_reset: call.get("rateLimitReset").and_then(Json::as_str),
        // Date.now() is an integral number of milliseconds, exact in an f64.
        now_ms: js_sys::Date::now() as u64,
        attempt: number("attempt")
            .and_then(|a| u32::try_from(a).ok())
            .unwrap_or(0),
        remaining_ms: number("remainingMs").unwrap_or(0),
        cached_token: matches!(call.get("cachedToken"), Some(Json::Bool(true))),
    };
    to_js_json(&verdict_view(calls::judge_response(&result, &calls::LOGIN)))
}

/// The error code when a Management API token's `scope` lacks `read:users` or
/// `read:user_idp_tokens`, else `null`: the Action then neither uses nor caches the
/// token (a read without the second would show no token), and the read fails with it.
#[cfg(feature = "wasm-action")]
#[wasm_bindgen(js_name = tokenScopeNotice)]
pub fn token_scope_notice(scope: JsValue) -> Option<String> {
    action::token_scope_notice(scope.as_string().as_deref()).map(|e| e.code().to_owned())
}

/// Milliseconds to keep a Management API token in `api.cache`, from its `expires_in`
/// (seconds); 0 means do not cache.
#[cfg(feature = "wasm-action")]
#[wasm_bindgen(js_name = tokenCacheTtlMs)]
pub fn token_cache_ttl_ms(#[wasm_bindgen(js_name = expiresIn)] expires_in: JsValue) -> f64 {
    let seconds = expires_in
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| s as u64);
    // A TTL is at most 24 h in milliseconds, far inside f64's exact integers.
    action::token_cache_ttl_ms(seconds) as f64
}

/// The form body of a refresh request to a token endpoint (RFC 6749 §6,
/// `client_secret_post`).
///
/// # Errors
/// Throws `ERR_TOKEN_INVALID` for a refresh token that is not one, `ERR_INPUT_INVALID`
/// when the client id or secret is not a string.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = refreshRequestBody)]
pub fn refresh_request_body(
    #[wasm_bindgen(js_name = refreshToken, unchecked_param_type = "string")] refresh_token: JsValue,
    #[wasm_bindgen(js_name = clientId, unchecked_param_type = "string")] client_id: JsValue,
    #[wasm_bindgen(js_name = clientSecret, unchecked_param_type = "string")] client_secret: JsValue,
) -> Result<String, JsValue> {
    let token = RefreshToken::new(&text(&refresh_token, Error::TokenInvalid)?).map_err(to_js)?;
    let client_id = text(&client_id, Error::InputInvalid)?;
    let client_secret = Zeroizing::new(text(&client_secret, Error::InputInvalid)?);
    Ok(token_endpoint::refresh_request(
        &token,
        &token_endpoint::Client::post(&client_id, &client_secret),
    )
    .body
    .as_str()
    .to_owned())
}

/// Reads a provider's answer to a refresh: `{ accessToken, expiresAt, scope,
/// refreshToken, idToken, refreshTokenExpiresAt }` (`refreshToken` only when the
/// provider rotated it, `refreshTokenExpiresAt` only for Google's time-limited access),
/// its refusals read through the entry of `provider` (a key, default
/// `"google-oauth2"`).
///
/// # Errors
/// Throws `ERR_CONFIG_INVALID` for a `provider` that is not a key,
/// `ERR_RECONSENT_REQUIRED` (`invalid_grant`, Google's RAPT included),
/// `ERR_CLIENT_REJECTED` (`invalid_client`, `unauthorized_client`), `ERR_ADMIN_POLICY`
/// (`admin_policy_enforced`), `ERR_PROVIDER_REJECTED`, `ERR_PROVIDER_UNAVAILABLE` or
/// `ERR_PROVIDER_RESPONSE`.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = parseRefreshResponse, unchecked_return_type = "AccessGrant")]
pub fn parse_refresh_response(
    status: u16,
    body: &str,
    #[wasm_bindgen(js_name = nowSeconds)] now_seconds: f64,
    provider: Option<String>,
) -> Result<JsValue, JsValue> {
    let provider = connection(provider)?.provider();
    let grant =
        token_endpoint::parse_refresh_response(provider, status, body, seconds(now_seconds))
            .map_err(to_js)?;
    let mut o = Object::new();
    o.insert(
        "accessToken",
        Json::from(grant.access_token.expose_secret()),
    );
    o.insert("expiresAt", Json::from(grant.expires_at));
    o.insert("scope", Json::from(grant.scope));
    o.insert(
        "refreshToken",
        Json::from(
            grant
                .refresh_token
                .as_ref()
                .map(RefreshToken::expose_secret),
        ),
    );
    o.insert("idToken", Json::from(grant.id_token));
    o.insert(
        "refreshTokenExpiresAt",
        Json::from(grant.refresh_token_expires_at),
    );
    to_js_json(&Json::Object(o))
}

/// The scopes of `required` that `scope` (a token answer's space-separated `scope`, or
/// `null`) does not grant, compared as a set; empty when all are granted or the answer
/// did not say. The names are not secret.
///
/// # Errors
/// Throws `ERR_INPUT_INVALID` when `scope` is not a string or null, or `required` not an
/// array of strings.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = missingScopes, unchecked_return_type = "string[]")]
pub fn missing_scopes(
    #[wasm_bindgen(unchecked_param_type = "string | null")] scope: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string[]")] required: JsValue,
) -> Result<JsValue, JsValue> {
    let scope = match scope.as_string() {
        Some(scope) => Some(scope),
        None if scope.is_null() || scope.is_undefined() => None,
        None => return Err(to_js(Error::InputInvalid)),
    };
    let Json::Array(items) = from_js(&required, Error::InputInvalid)? else {
        return Err(to_js(Error::InputInvalid));
    };
    let required = items
        .iter()
        .map(|item| item.as_str().ok_or_else(|| to_js(Error::InputInvalid)))
        .collect::<Result<Vec<&str>, JsValue>>()?;
    to_js_json(&names(token_endpoint::missing_scopes(
        scope.as_deref(),
        &required,
    )))
}

/// What clearing provider `provider`'s sealed value (a key, default `"google-oauth2"`)
/// writes to `appMetadata` (the user's whole `app_metadata`, or `null`), as
/// `{ key, value }` pairs like a login plan's `metadataWrites`: `sealed_refresh_tokens`
/// without the value (`null` when none is left), `tokenseal.cleared[provider]`, the
/// value's capture record, so that no login seals Auth0's copy of the cleared token
/// again, and, for Google, `refresh_token: null` when it holds the old rule's plaintext
/// token. Empty when nothing is stored. Needs no key.
///
/// # Errors
/// Throws `ERR_CONFIG_INVALID` for a `provider` that is not a key, `ERR_USER_INVALID`
/// when `appMetadata` is not an object or null, or its `sealed_refresh_tokens` not an
/// object.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = planClear, unchecked_return_type = "Array<{ key: \"sealed_refresh_tokens\" | \"tokenseal\" | \"refresh_token\"; value: unknown }>")]
pub fn plan_clear(
    #[wasm_bindgen(js_name = appMetadata, unchecked_param_type = "Record<string, unknown> | null")]
    app_metadata: JsValue,
    provider: Option<String>,
) -> Result<JsValue, JsValue> {
    let connection = connection(provider)?;
    let metadata = match from_js(&app_metadata, Error::UserInvalid)? {
        Json::Null => crate::json::Object::new(),
        Json::Object(metadata) => metadata,
        _ => return Err(to_js(Error::UserInvalid)),
    };
    let writes = login::plan_clear(&metadata, &connection).map_err(to_js)?;
    to_js_json(&writes_view(writes))
}

/// Reads a revocation endpoint's answer: returns when the token no longer works (200,
/// or `invalid_token` for one already expired or revoked), refusals read through the
/// entry of `provider` (a key, default `"google-oauth2"`).
///
/// # Errors
/// Throws `ERR_CONFIG_INVALID` for a `provider` that is not a key,
/// `ERR_PROVIDER_UNAVAILABLE` (no answer, 429, 5xx), `ERR_CLIENT_REJECTED` or
/// `ERR_PROVIDER_REJECTED`.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = parseRevokeResponse)]
pub fn parse_revoke_response(
    status: u16,
    body: &str,
    provider: Option<String>,
) -> Result<(), JsValue> {
    let provider = connection(provider)?.provider();
    token_endpoint::parse_revoke_response(provider, status, body).map_err(to_js)
}

/// The configured provider `key`, Google's when absent.
#[cfg(feature = "wasm-full")]
fn connection(key: Option<String>) -> Result<Connection, JsValue> {
    key.map_or_else(
        || Ok(Connection::google()),
        |key| Connection::parse(&key).map_err(to_js),
    )
}

/// Checks what of `options` (as `resolveEndpoints` takes them) needs no discovery
/// document, and returns the address of the document to fetch (OpenID Connect
/// Discovery 1.0 §4), or nothing (`undefined` in JavaScript) when no `issuer` is set.
///
/// # Errors
/// Throws `ERR_CONFIG_INVALID` for a key, endpoint, method or issuer tokenseal does not
/// accept, `ERR_CONFIG_INCOMPLETE` without the scope the provider's refresh needs.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = discoveryUrl)]
pub fn discovery_url(
    key: &str,
    #[wasm_bindgen(unchecked_param_type = "Record<string, unknown>")] options: JsValue,
) -> Result<Option<String>, JsValue> {
    let connection = Connection::parse(key).map_err(to_js)?;
    let options = client::EndpointOptions::from_value(&from_js(&options, Error::ConfigInvalid)?)
        .map_err(to_js)?;
    client::check(&connection, &options).map_err(to_js)
}

/// Where and how the refreshes of provider `key` go for this deployment:
/// `{ key, tokenEndpoint, revokeEndpoint, tokenEndpointAuthMethod, scope }`, from `options` (`{ tokenEndpoint, revokeEndpoint, issuer, scope,
/// tokenEndpointAuthMethod }`, other members ignored), the provider's entry, and the
/// issuer's discovery document when `options.issuer` is set (`discovery`: `{ status,
/// body }` of a `GET` of `discoveryUrl(issuer)`, status 0 for no answer; `null`
/// otherwise).
///
/// # Errors
/// Throws `ERR_CONFIG_INVALID` for a key or option tokenseal does not accept,
/// `ERR_CONFIG_INCOMPLETE` without a token endpoint or without the scope the provider's
/// refresh needs, `ERR_PROVIDER_UNAVAILABLE` when the document did not come (no answer,
/// 429, 5xx), `ERR_DISCOVERY_INVALID` for another status or a document of another
/// issuer or without a usable `token_endpoint`.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = resolveEndpoints, unchecked_return_type = "Endpoints")]
pub fn resolve_endpoints(
    key: &str,
    #[wasm_bindgen(unchecked_param_type = "Record<string, unknown>")] options: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{ status: number; body: string } | null")]
    discovery: JsValue,
) -> Result<JsValue, JsValue> {
    let connection = Connection::parse(key).map_err(to_js)?;
    let options = client::EndpointOptions::from_value(&from_js(&options, Error::ConfigInvalid)?)
        .map_err(to_js)?;
    let discovery = if discovery.is_null() || discovery.is_undefined() {
        None
    } else {
        let answer = from_js(&discovery, Error::InputInvalid)?;
        let status = answer
            .get("status")
            .and_then(Json::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| to_js(Error::InputInvalid))?;
        let body = answer
            .get("body")
            .and_then(Json::as_str)
            .ok_or_else(|| to_js(Error::InputInvalid))?
            .to_owned();
        Some((status, body))
    };
    let endpoints = client::resolve(
        &connection,
        &options,
        discovery
            .as_ref()
            .map(|(status, body)| (*status, body.as_str())),
    )
    .map_err(to_js)?;
    to_js_json(&object(vec![
        ("key", Json::from(connection.key())),
        ("tokenEndpoint", Json::from(endpoints.token_endpoint)),
        ("revokeEndpoint", Json::from(endpoints.revoke_endpoint)),
        (
            "tokenEndpointAuthMethod",
            Json::from(endpoints.auth.as_str()),
        ),
        ("scope", Json::from(endpoints.scope)),
    ]))
}

/// The `/authorize` parameters that send the user through the consent of the provider
/// stored under `key` and bring a new refresh token (pass them in auth0-spa-js's
/// `authorizationParams`): `{ connection, ...the provider's parameters,
/// connection_scope? }`. `options.connection` is the Auth0 connection's name when it
/// is not the key (an Entra ID connection); `options.connectionScope` (a string,
/// comma-separated, or an array) adds scopes after the provider's own.
///
/// # Errors
/// Throws `ERR_CONFIG_INVALID` for a key that is not one, `ERR_INPUT_INVALID` for
/// options of the wrong shape.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = reconsentAuthorizeParams, unchecked_return_type = "Record<string, string>")]
pub fn reconsent_authorize_params(
    key: &str,
    #[wasm_bindgen(
        unchecked_param_type = "{ connection?: string; connectionScope?: string | string[] } | null"
    )]
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let connection = Connection::parse(key).map_err(to_js)?;
    let options = if options.is_null() || options.is_undefined() {
        Json::Object(Object::new())
    } else {
        from_js(&options, Error::InputInvalid)?
    };
    let name = match options.get("connection") {
        None | Some(Json::Null) => None,
        Some(Json::String(name)) if !name.is_empty() => Some(name.as_str()),
        Some(_) => return Err(to_js(Error::InputInvalid)),
    };
    let scopes: Vec<&str> = match options.get("connectionScope") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::String(list)) => list.split(',').map(str::trim).collect(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or_else(|| to_js(Error::InputInvalid)))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(to_js(Error::InputInvalid)),
    };
    let mut o = Object::new();
    for (name, value) in connection.reconsent_params(name, &scopes) {
        o.insert(name, Json::from(value));
    }
    to_js_json(&Json::Object(o))
}

/** Per-user refresh decisions of one backend process for one provider's OAuth client (`tokenseal::backend`). */
#[cfg(feature = "wasm-full")]
#[wasm_bindgen]
pub struct RefreshStates {
    inner: crate::backend::RefreshStates,
    /// `None` for states made without a client (Google's, credentials per call).
    client: Option<token_endpoint::Client>,
}

/// New, empty [`RefreshStates`] for one provider's OAuth client, `{ provider, clientId,
/// clientSecret, tokenEndpointAuthMethod, scope }` (the last two from
/// `resolveEndpoints`). Without a client, Google's states as before clients existed:
/// `refreshRequestBody` and `revokeRequestBodies` take the credentials per call. A
/// function rather than a constructor, so that a host can wrap the core's exports in
/// plain functions.
///
/// # Errors
/// Throws `ERR_CONFIG_INVALID` for a client of the wrong shape.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = refreshStates)]
pub fn refresh_states(
    #[wasm_bindgen(unchecked_param_type = "ProviderClient | undefined")] client: JsValue,
) -> Result<RefreshStates, JsValue> {
    let (connection, client) = if client.is_undefined() || client.is_null() {
        (Connection::google(), None)
    } else {
        let (connection, client) =
            client::client_from_value(&from_js(&client, Error::ConfigInvalid)?).map_err(to_js)?;
        (connection, Some(client))
    };
    Ok(RefreshStates {
        inner: crate::backend::RefreshStates::new(connection),
        client,
    })
}

#[cfg(feature = "wasm-full")]
#[wasm_bindgen]
impl RefreshStates {
    /// Decides which refresh token the user's next refresh sends, from the user's
    /// `app_metadata` (or the whole user) and the sealed value a shared store holds
    /// (`null` for none).
    ///
    /// # Errors
    /// Throws `ERR_SEALED_MISSING`, a key-set code, or the codes of `open`.
    pub fn begin(
        &mut self,
        #[wasm_bindgen(js_name = userId)] user_id: &str,
        #[wasm_bindgen(js_name = appMetadata, unchecked_param_type = "Record<string, unknown>")]
        app_metadata: JsValue,
        shared: Option<String>,
        #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")]
        key_set_json: JsValue,
    ) -> Result<(), JsValue> {
        let app_metadata = from_js(&app_metadata, Error::UserInvalid)?;
        let stored = login::stored_sealed_value(&app_metadata, self.inner.connection().key());
        let keys = key_ring(&key_set_json).map_err(to_js)?;
        self.inner
            .begin(user_id, stored, shared.as_deref(), &keys)
            .map_err(to_js)
    }

    /// The refresh request `begin` decided on, as the client sends it: `{ body,
    /// authorization }` (`authorization` for `client_secret_basic`, else `null`).
    ///
    /// # Errors
    /// Throws `ERR_SEALED_MISSING` when `begin` did not succeed for the user,
    /// `ERR_CONFIG_INCOMPLETE` for states made without a client.
    #[wasm_bindgen(js_name = refreshRequest, unchecked_return_type = "TokenRequest")]
    pub fn refresh_request(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: &str,
    ) -> Result<JsValue, JsValue> {
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| to_js(Error::ConfigIncomplete))?;
        let request = self.inner.refresh_request(user_id, client).map_err(to_js)?;
        to_js_json(&request_view(&request))
    }

    /// The form body of the refresh `begin` decided on, `client_secret_post` with these
    /// credentials (the form before clients; `refreshRequest` sends as the client says).
    ///
    /// # Errors
    /// Throws `ERR_SEALED_MISSING` when `begin` did not succeed for the user.
    #[wasm_bindgen(js_name = refreshRequestBody)]
    pub fn refresh_request_body(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: &str,
        #[wasm_bindgen(js_name = clientId)] client_id: &str,
        #[wasm_bindgen(js_name = clientSecret)] client_secret: &str,
    ) -> Result<String, JsValue> {
        let client = token_endpoint::Client::post(client_id, client_secret);
        let request = self
            .inner
            .refresh_request(user_id, &client)
            .map_err(to_js)?;
        Ok(request.body.as_str().to_owned())
    }

    /// Reads the provider's answer to the user's refresh: `{ accessToken, expiresAt, scope,
    /// refreshTokenExpiresAt, unsaved }`, where `unsaved` is `{ sealed, replaces }` when
    /// a rotation waits to be stored. A rotated refresh token never leaves the core.
    ///
    /// # Errors
    /// Throws the refusal codes of `parseRefreshResponse`, `ERR_SEALED_MISSING`, or
    /// `ERR_RANDOM`.
    #[wasm_bindgen(
        unchecked_return_type = "{ accessToken: string; expiresAt: number; scope: string | null; refreshTokenExpiresAt: number | null; unsaved: { sealed: string; replaces: string } | null }"
    )]
    pub fn finish(
        &mut self,
        #[wasm_bindgen(js_name = userId)] user_id: &str,
        status: u16,
        body: &str,
        #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")]
        key_set_json: JsValue,
        #[wasm_bindgen(js_name = nowSeconds)] now_seconds: f64,
    ) -> Result<JsValue, JsValue> {
        let keys = key_ring(&key_set_json).map_err(to_js)?;
        let finished = self
            .inner
            .finish(
                user_id,
                (status, body),
                &keys,
                seconds(now_seconds),
                Nonce::random,
            )
            .map_err(to_js)?;
        let grant = finished.grant;
        to_js_json(&object(vec![
            (
                "accessToken",
                Json::from(grant.access_token.expose_secret()),
            ),
            ("expiresAt", Json::from(grant.expires_at)),
            ("scope", Json::from(grant.scope)),
            (
                "refreshTokenExpiresAt",
                Json::from(grant.refresh_token_expires_at),
            ),
            ("unsaved", unsaved_view(finished.unsaved.as_ref())),
        ]))
    }

    /// The user's rotation not stored yet, `{ sealed, replaces }`, or `null`.
    #[wasm_bindgen(unchecked_return_type = "{ sealed: string; replaces: string } | null")]
    pub fn unsaved(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: &str,
    ) -> Result<JsValue, JsValue> {
        to_js_json(&unsaved_view(self.inner.unsaved(user_id)))
    }

    /// Records that the user's rotation was stored (or deliberately not).
    pub fn saved(&mut self, #[wasm_bindgen(js_name = userId)] user_id: &str) {
        self.inner.saved(user_id);
    }

    /// The sealed value the user's state stands on, for a shared store.
    pub fn sealed(&self, #[wasm_bindgen(js_name = userId)] user_id: &str) -> Option<String> {
        self.inner.sealed(user_id).map(str::to_owned)
    }

    /// Revocation requests (`{ body, authorization }`) for every refresh token the user
    /// may still hold (the stored one in `appMetadata`, and the state's), each once.
    ///
    /// # Errors
    /// Throws `ERR_USER_INVALID` for `appMetadata` that is not an object, a key-set
    /// code, or the code of a stored value that does not open (it cannot be revoked).
    #[wasm_bindgen(js_name = revokeRequests, unchecked_return_type = "TokenRequest[]")]
    pub fn revoke_requests(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: &str,
        #[wasm_bindgen(js_name = appMetadata, unchecked_param_type = "Record<string, unknown>")]
        app_metadata: JsValue,
        #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")]
        key_set_json: JsValue,
    ) -> Result<JsValue, JsValue> {
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| to_js(Error::ConfigIncomplete))?;
        let requests = self.revocations(user_id, &app_metadata, &key_set_json, client)?;
        to_js_json(&Json::Array(requests.iter().map(request_view).collect()))
    }

    /// Revocation bodies (`client_secret_post` with these credentials) for every
    /// refresh token the user may still hold: the form before clients.
    ///
    /// # Errors
    /// As `revokeRequests`.
    #[wasm_bindgen(js_name = revokeRequestBodies, unchecked_return_type = "string[]")]
    pub fn revoke_request_bodies(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: &str,
        #[wasm_bindgen(js_name = appMetadata, unchecked_param_type = "Record<string, unknown>")]
        app_metadata: JsValue,
        #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")]
        key_set_json: JsValue,
        #[wasm_bindgen(js_name = clientId)] client_id: &str,
        #[wasm_bindgen(js_name = clientSecret)] client_secret: &str,
    ) -> Result<JsValue, JsValue> {
        let client = token_endpoint::Client::post(client_id, client_secret);
        let requests = self.revocations(user_id, &app_metadata, &key_set_json, &client)?;
        to_js_json(&names(
            requests.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(),
        ))
    }

    /// Whether another replica's shared grant, standing on the sealed value `shared`,
    /// serves the user whose `appMetadata` (or whole user) the app read: only while it
    /// stands on the stored value or a later one (`tokenseal::backend::shared_grant_serves`).
    ///
    /// # Errors
    /// Throws `ERR_USER_INVALID` for `appMetadata` that is not an object, or a key-set
    /// code.
    #[wasm_bindgen(js_name = sharedGrantServes)]
    pub fn shared_grant_serves(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: &str,
        #[wasm_bindgen(js_name = appMetadata, unchecked_param_type = "Record<string, unknown>")]
        app_metadata: JsValue,
        shared: &str,
        #[wasm_bindgen(js_name = keySetJson, unchecked_param_type = "string")]
        key_set_json: JsValue,
    ) -> Result<bool, JsValue> {
        let app_metadata = from_js(&app_metadata, Error::UserInvalid)?;
        let stored = login::stored_sealed_value(&app_metadata, self.inner.connection().key());
        let keys = key_ring(&key_set_json).map_err(to_js)?;
        Ok(self
            .inner
            .shared_grant_serves(user_id, stored, shared, &keys))
    }

    /// Forgets the user.
    pub fn forget(&mut self, #[wasm_bindgen(js_name = userId)] user_id: &str) {
        self.inner.forget(user_id);
    }
}

#[cfg(feature = "wasm-full")]
impl RefreshStates {
    /// The revocation requests of `revokeRequests` and `revokeRequestBodies`.
    fn revocations(
        &self,
        user_id: &str,
        app_metadata: &JsValue,
        key_set_json: &JsValue,
        client: &token_endpoint::Client,
    ) -> Result<Vec<token_endpoint::TokenRequest>, JsValue> {
        let app_metadata = from_js(app_metadata, Error::UserInvalid)?;
        let stored = login::stored_sealed_value(&app_metadata, self.inner.connection().key());
        let keys = key_ring(key_set_json).map_err(to_js)?;
        self.inner
            .revoke_requests(user_id, stored, &keys, client)
            .map_err(to_js)
    }
}

/// `{ body, authorization }`.
#[cfg(feature = "wasm-full")]
fn request_view(request: &token_endpoint::TokenRequest) -> Json {
    object(vec![
        ("body", Json::from(request.body.as_str())),
        (
            "authorization",
            Json::from(request.authorization.as_ref().map(|a| a.as_str())),
        ),
    ])
}

/// `(name, value)` pairs as a JSON object.
#[cfg(feature = "wasm-full")]
fn pairs(pairs: &[(&str, &str)]) -> Json {
    let mut o = Object::new();
    for &(name, value) in pairs {
        o.insert(name, Json::from(value));
    }
    Json::Object(o)
}

/// `{ sealed, replaces }` or `null`.
#[cfg(feature = "wasm-full")]
fn unsaved_view(unsaved: Option<&crate::backend::Unsaved>) -> Json {
    Json::from(unsaved.map(|u| {
        object(vec![
            ("sealed", Json::from(u.sealed.as_str())),
            ("replaces", Json::from(u.replaces.as_str())),
        ])
    }))
}

/// True when `url` may receive a secret: `https://`, or `http://` to a loopback host.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = endpointAllowed)]
pub fn endpoint_allowed(url: &str) -> bool {
    action::secret_url_allowed(url)
}

/// True when an access token expiring at `expiresAt` (seconds; `null` for none) must be
/// refreshed at `nowSeconds`, given a skew in seconds.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = needsRefresh)]
pub fn needs_refresh(
    #[wasm_bindgen(js_name = expiresAt)] expires_at: Option<f64>,
    #[wasm_bindgen(js_name = nowSeconds)] now_seconds: f64,
    #[wasm_bindgen(js_name = skewSeconds)] skew_seconds: f64,
) -> bool {
    token_endpoint::needs_refresh(
        expires_at.map(seconds),
        seconds(now_seconds),
        seconds(skew_seconds),
    )
}

/// The provider table and the constants the backends share with the core: `{ sealedKey,
/// defaultSkewSeconds, defaultMaxUsers, providers: { <auth0Provider>: ProviderInfo } }`,
/// so that no JavaScript redefines them.
///
/// # Errors
/// Throws `ERR_INTERNAL` only if the view cannot be handed to JavaScript.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = providerTable, unchecked_return_type = "ProviderTable")]
pub fn provider_table() -> Result<JsValue, JsValue> {
    let mut table = Object::new();
    for provider in providers::BUILT_IN {
        table.insert(provider.auth0_provider, provider_info(provider));
    }
    to_js_json(&object(vec![
        ("sealedKey", Json::from(login::SEALED_KEY)),
        (
            "defaultSkewSeconds",
            Json::from(token_endpoint::DEFAULT_SKEW_SECONDS),
        ),
        (
            "defaultMaxUsers",
            Json::from(crate::backend::DEFAULT_MAX_USERS as u64),
        ),
        ("providers", Json::Object(table)),
    ]))
}

/// The entry of the provider stored under `key` (a built-in provider's name, or a
/// custom OAuth 2.0 connection's), with that key: `{ key, ...ProviderInfo }`.
///
/// # Errors
/// Throws `ERR_CONFIG_INVALID` when `key` is not one (`oauth2` itself, or a name Auth0
/// would not accept for a connection).
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = providerInfo, unchecked_return_type = "ProviderInfo & { key: string }")]
pub fn provider_info_of(key: &str) -> Result<JsValue, JsValue> {
    let connection = Connection::parse(key).map_err(to_js)?;
    let mut info = provider_info(connection.provider());
    if let Json::Object(o) = &mut info {
        o.insert("key", Json::from(connection.key())); // replaces the provider's name
    }
    to_js_json(&info)
}

/// One provider's entry as JavaScript sees it (`ProviderInfo`).
#[cfg(feature = "wasm-full")]
fn provider_info(provider: &Provider) -> Json {
    object(vec![
        // Built-in providers are stored under their name; custom connections under
        // theirs (providerInfo(key) says which).
        ("key", Json::from(provider.auth0_provider)),
        ("name", Json::from(provider.name)),
        ("auth0Provider", Json::from(provider.auth0_provider)),
        (
            "keyedByConnection",
            Json::from(provider.keyed_by_connection),
        ),
        ("claimName", Json::from(provider.claim_name)),
        (
            "newTokenEveryLogin",
            Json::from(provider.new_token_every_login),
        ),
        ("reconsentParams", pairs(provider.reconsent_params)),
        ("consentScopes", names(provider.consent_scopes.to_vec())),
        ("tokenEndpoint", Json::from(provider.token_endpoint)),
        ("revokeEndpoint", Json::from(provider.revoke_endpoint)),
        (
            "tokenEndpointAuthMethod",
            Json::from(provider.client_auth.as_str()),
        ),
        (
            "refreshNeedsScope",
            Json::from(provider.refresh_needs_scope),
        ),
        ("rotates", Json::from(provider.rotates)),
    ])
}

#[cfg(feature = "wasm-full")]
/// A JavaScript number of seconds as `u64`; negative, NaN and infinite become 0.
fn seconds(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value as u64
    } else {
        0
    }
}

/// A new JWK Set with one fresh 256-bit key and a random `kid`, for the
/// `TOKENSEAL_KEYS` secret.
///
/// # Errors
/// Throws `ERR_RANDOM` when no randomness is available.
#[cfg(feature = "wasm-full")]
#[wasm_bindgen(js_name = generateKeySet)]
pub fn generate_key_set() -> Result<String, JsValue> {
    let ring = generate_key()
        .and_then(|key| Ok(KeyRing::from_keys(vec![key])?))
        .map_err(to_js)?;
    Ok(ring.to_jwk_set_json().as_str().to_owned())
}

thread_local! {
    /// The last key set parsed, with the JavaScript string it came from. An Action
    /// instance sees the same `TOKENSEAL_KEYS` secret on every login and a backend the
    /// same configuration value on every call, so the set is parsed and validated once
    /// per instance. The cache is keyed by the JavaScript string itself (compared with
    /// `===`, which compares contents): a hit copies no key text into wasm memory at all.
    /// A miss copies it once, and that copy is zeroized; the ring zeroizes its keys when
    /// dropped.
    static KEY_RING: RefCell<Option<(JsValue, Rc<KeyRing>)>> = const { RefCell::new(None) };
}

/// The key ring parsed from `key_set_json`, the cached one when the text is unchanged.
/// A key set that fails to parse is not cached.
fn key_ring(key_set_json: &JsValue) -> Result<Rc<KeyRing>, Error> {
    let cached = KEY_RING.with_borrow(|cache| match cache {
        Some((text, ring)) if text == key_set_json => Some(Rc::clone(ring)),
        _ => None,
    });
    if let Some(ring) = cached {
        return Ok(ring);
    }
    let json = Zeroizing::new(key_set_json.as_string().ok_or(Error::KeySetNotJson)?);
    let ring = Rc::new(KeyRing::from_jwk_set(&json)?);
    KEY_RING.set(Some((key_set_json.clone(), Rc::clone(&ring))));
    Ok(ring)
}

/// Runs `f` with the key ring parsed from `key_set_json`.
#[cfg(feature = "wasm-action")]
fn with_keys<T>(
    key_set_json: &JsValue,
    f: impl FnOnce(&KeyRing) -> Result<T, Error>,
) -> Result<T, JsValue> {
    let ring = key_ring(key_set_json).map_err(to_js)?;
    f(&ring).map_err(to_js)
}

/// A JavaScript string argument. wasm-bindgen's release glue does not check the types
/// of `&str` parameters, and a number passed there faults inside the module; taking a
/// `JsValue` and checking it turns that into a typed error.
#[cfg(feature = "wasm-action")]
fn text(value: &JsValue, error: Error) -> Result<String, JsValue> {
    value.as_string().ok_or_else(|| to_js(error))
}

fn now() -> u64 {
    // Date.now() is milliseconds since the epoch as an f64; whole seconds fit in u64.
    (js_sys::Date::now() / 1000.0) as u64
}

/// The plan as the shims receive it (`LoginPlan` in the TypeScript types). Consumes the
/// plan: the metadata writes are moved rather than copied.
fn plan_view(plan: LoginPlan) -> Json {
    let writes = writes_view(plan.metadata_writes);
    let claims = plan
        .claims
        .into_iter()
        .map(|c| {
            let value = match c.value {
                ClaimValue::Status(status) => Json::from(status.as_str()),
                ClaimValue::ByProvider(statuses) => {
                    let mut o = Object::new();
                    for (key, status) in statuses {
                        o.insert(key, Json::from(status.as_str()));
                    }
                    Json::Object(o)
                }
            };
            object(vec![("name", Json::from(c.name)), ("value", value)])
        })
        .collect();
    let providers = plan
        .providers
        .into_iter()
        .map(|p| {
            object(vec![
                ("key", Json::from(p.key)),
                ("outcome", Json::from(p.outcome.as_str())),
                ("offlineAccess", Json::from(p.offline_access.as_str())),
            ])
        })
        .collect();
    object(vec![
        ("readUser", Json::from(plan.read_user)),
        ("outcome", Json::from(plan.outcome.as_str())),
        ("providers", Json::Array(providers)),
        ("metadataWrites", writes),
        (
            "offlineAccess",
            Json::from(plan.offline_access.map(|o| o.as_str())),
        ),
        ("claims", Json::Array(claims)),
        ("notices", names(plan.notices)),
        #[cfg(feature = "removals")]
        ("removals", plan.removals.map_or(Json::Null, removals_view)),
        // The Action's module plans no removals (it sends no shape).
        #[cfg(not(feature = "removals"))]
        ("removals", Json::Null),
    ])
}

/// What to remove from a user, as the Rule receives it (`Removals`).
#[cfg(feature = "removals")]
fn removals_view(removals: crate::sanitize::Removals) -> Json {
    object(vec![
        ("root", names(removals.root)),
        (
            "identities",
            removals.identities.map_or(Json::Null, |entries| {
                Json::Array(
                    entries
                        .into_iter()
                        .map(|entry| entry.map_or(Json::Null, names))
                        .collect(),
                )
            }),
        ),
        (
            "appMetadata",
            removals.app_metadata.map_or(Json::Null, names),
        ),
    ])
}

/// The Action's settings as the shim receives them (`ActionConfig`).
fn config_view(config: &action::ActionConfig) -> Json {
    let read = match config.read {
        ReadPolicy::Never => "never",
        ReadPolicy::Auto => "auto",
        ReadPolicy::Always => "always",
    };
    let management = config.management.as_ref().map(|m| {
        object(vec![
            ("tokenUrl", Json::from(m.token_url.as_str())),
            ("audience", Json::from(m.audience.as_str())),
            ("usersUrl", Json::from(m.users_url.as_str())),
            ("cacheKey", Json::from(m.cache_key.as_str())),
            ("clientId", Json::from(m.client_id.as_str())),
            ("clientSecret", Json::from(m.client_secret.as_str())),
            ("timeoutMs", Json::from(calls::CALL_TIMEOUT_MS)),
            ("minCallMs", Json::from(calls::MIN_CALL_MS)),
        ])
    });
    let providers = config
        .providers
        .as_ref()
        .map(|providers| Json::Array(providers.iter().map(|c| Json::from(c.key())).collect()));
    object(vec![
        ("read", Json::from(read)),
        ("providers", Json::from(providers)),
        ("claimNamespace", Json::from(config.claim_namespace.clone())),
        ("denyOnError", Json::from(config.deny_on_error)),
        ("recheckSeconds", Json::from(config.recheck_seconds)),
        ("management", Json::from(management)),
        ("callBudgetMs", Json::from(calls::CALL_BUDGET_MS)),
        ("notices", names(config.notices.clone())),
    ])
}

/// `app_metadata` writes as the shims receive them: `[{ key, value }]`.
fn writes_view(writes: Vec<login::MetadataWrite>) -> Json {
    Json::Array(
        writes
            .into_iter()
            .map(|w| object(vec![("key", Json::from(w.key)), ("value", w.value)]))
            .collect(),
    )
}

/// A verdict as the shim receives it (`Verdict`).
#[cfg(feature = "wasm-action")]
fn verdict_view(verdict: calls::Verdict) -> Json {
    match verdict {
        calls::Verdict::Done => object(vec![("action", Json::from("done"))]),
        calls::Verdict::RetryAfter(ms) => object(vec![
            ("action", Json::from("retry")),
            ("waitMs", Json::from(ms)),
        ]),
        calls::Verdict::Reauthenticate => object(vec![("action", Json::from("reauthenticate"))]),
        calls::Verdict::Fail(error) => object(vec![
            ("action", Json::from("fail")),
            ("code", Json::from(error.code())),
        ]),
    }
}

/// A JSON object of these members, in this order. (A `Vec`, not an array generic over
/// its length: one instance of this function for every caller keeps the module smaller.)
fn object(members: Vec<(&str, Json)>) -> Json {
    let mut o = Object::new();
    for (name, value) in members {
        o.insert(name, value);
    }
    Json::Object(o)
}

/// A JSON array of strings.
fn names<S: Into<Json>>(items: Vec<S>) -> Json {
    Json::Array(items.into_iter().map(Into::into).collect())
}

/// A JavaScript value as a [`Json`] document, through `JSON.stringify` (which throws on
/// cycles and `BigInt`, and yields nothing for `undefined` and functions: all `error`).
fn from_js(value: &JsValue, error: Error) -> Result<Json, JsValue> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .and_then(|text| Json::parse(&text).ok())
        .ok_or_else(|| to_js(error))
}

/// A [`Json`] document as a plain JavaScript value, through `JSON.parse`.
fn to_js_json(value: &Json) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(&value.to_text()).map_err(|_| to_js(Error::InputInvalid))
}

#[cfg(feature = "wasm-full")]
fn to_js_value<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| to_js(Error::InputInvalid))
}

/// The message of a thrown error: the fixed [`Error::message`] for `pkg/`'s callers.
#[cfg(feature = "wasm-full")]
const fn thrown_message(error: Error) -> &'static str {
    error.message()
}

/// The message of a thrown error in the modules `dist/` inlines: the code. Their adapters
/// log codes only (never a message), and the messages were about 1.0 kB of the inlined,
/// compressed module, whose size has a budget (`bench/action.mjs`).
#[cfg(not(feature = "wasm-full"))]
const fn thrown_message(error: Error) -> &'static str {
    error.code()
}

/// A thrown `TokenSealError` for any of the core's errors (each operation's narrower
/// type included).
fn to_js(error: impl Into<Error>) -> JsValue {
    let error: Error = error.into();
    let js_error = js_sys::Error::new(thrown_message(error));
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
