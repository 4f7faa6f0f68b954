//! tokenseal seals the upstream refresh tokens Auth0 receives at login (Google's, Entra
//! ID's, Bitbucket's, a custom OAuth 2.0 connection's) into standard JWEs bound to the user
//! and the provider, keeps every token out of what a browser client sees, and lets the
//! app's backends open them again.
//!
//! The crate is the whole product logic; the Auth0 Action, the legacy Rule and the Node
//! backend module are thin JavaScript adapters around its WebAssembly build.
//!
//! - [`login`]: the one decision function, [`plan_login`], that says what a login does
//!   (and [`login::plan_migration`], the same rules for `tokenseal migrate`).
//! - [`jwe`]: the sealed format (compact JWE, `dir` + `A256GCM`, bound by `sub`, with
//!   its provenance), and cache entries.
//! - [`keys`]: the key ring, a JWK Set whose first key seals and whose keys all open;
//!   [`derive`](mod@derive): the keys derived from it per purpose.
//! - [`user`]: views of an Auth0 user as Rules, Actions and the Management API show it;
//!   [`sanitize()`]: what to remove from a user before it is handed on.
//! - [`action`]: the Action's configuration; [`calls`]: how a Management API answer is
//!   judged; [`pacing`]: `migrate`'s calls paced against the rate limit.
//! - [`backend`]: what replicas of the app's backend decide together (which sealed
//!   value a refresh starts from).
//! - [`providers`]: one [`Provider`] entry per identity provider (its identities, consent
//!   parameters, endpoints, client authentication, rotation, refusals) and
//!   [`providers::Connection`], a provider as a tenant names it;
//!   [`providers::client`]: a backend's endpoints (options, discovery);
//!   [`providers::token_endpoint`]: the refresh request and typed answer for backends.
//! - [`json`]: the JSON documents tokenseal reads and writes (strict RFC 8259);
//!   [`form`]: percent-encoding.
//! - `wasm` (feature `wasm`): the JavaScript boundary, the only module that touches
//!   `wasm_bindgen`; `legacy` (feature `cli`): the old rule's `createCipher` values.
//!
//! Features: `removals` (default) lets [`plan_login`] say what to remove from a user
//! before it is handed on (`LoginInput::shape`, `LoginPlan::removals`: the legacy
//! Rule's hand-on); the module inlined into the Action is built without it. `wasm`,
//! `wasm-action`, `wasm-rule` and `wasm-full` build the JavaScript boundary: what both
//! adapters call, what each adds, and every export (`pkg/`). `cli` builds the command
//! line.
//!
//! The core takes time and randomness as parameters and does no I/O, so every decision
//! is a pure function of its inputs.
//!
//! ```
//! use tokenseal::{jwe, KeyRing, Nonce, RefreshToken};
//!
//! let keys = KeyRing::from_jwk_set(
//!     r#"{"keys":[{"kty":"oct","kid":"2026-11","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]}"#,
//! )?;
//! let token = RefreshToken::new("1//0g-example")?;
//! let sealed = jwe::seal(&token, &keys, "google-oauth2|1234", 1_700_000_000, Nonce::random()?)?;
//! assert_eq!(jwe::open(&sealed, &keys, "google-oauth2|1234")?, token);
//! assert_eq!(jwe::open(&sealed, &keys, "auth0|someone-else"), Err(tokenseal::OpenError::SubjectMismatch));
//! # Ok::<(), tokenseal::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Builds a [`json::Json`] in tests from serde_json's `json!` syntax.
#[cfg(test)]
macro_rules! jv {
    ($($body:tt)+) => {
        $crate::json::Json::parse(&serde_json::json!($($body)+).to_string()).expect("test JSON is valid")
    };
}

pub mod action;
pub mod backend;
mod base64url;
pub mod calls;
pub mod derive;
#[cfg(test)]
mod test_support;

pub mod error;
pub mod form;
pub mod json;
pub mod jwe;
pub mod keys;
#[cfg(feature = "cli")]
pub mod legacy;
pub mod login;
mod material;
pub mod pacing;
pub mod providers;
pub mod sanitize;
pub mod token;
pub mod user;
#[cfg(feature = "wasm")]
pub mod wasm;

pub use error::{Error, KeySetError, OpenError, RefreshError, Result, CODES};
pub use json::{Json, Object};
pub use jwe::{Nonce, SealedHeader};
pub use keys::{Key, KeyMaterial, KeyRing};
pub use login::{plan_login, LoginInput, LoginPlan, OfflineAccess, Outcome, ReadPolicy};
pub use providers::Provider;
pub use sanitize::{sanitize, APP_METADATA_SECRET_FIELDS, IDENTITY_SECRET_FIELDS};
pub use token::{RefreshToken, MAX_TOKEN_LEN};
pub use user::{Identity, SecretField, User};
