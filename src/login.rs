//! The login decision: everything the Action and the Rule do, decided once, here.
//!
//! [`plan_login`] is pure. It takes what a login knows (the user, its stored
//! `app_metadata`, the identities of a Management API read if one was made, the key
//! ring, the login facts and the options) plus the time and an IV, and returns a
//! [`LoginPlan`]: every effect the JavaScript shims must carry out. The shims only do
//! I/O: read the user when the plan says so (and plan again), write the metadata,
//! set the claims, hand on the sanitized user.

use crate::json::{Json, Object};

use crate::error::{Error, Result};
use crate::jwe::{self, Nonce, Provenance, Source};
use crate::keys::KeyRing;
use crate::providers::{self, Connection, Provider};
#[cfg(feature = "removals")]
use crate::sanitize::{removals, Removals, UserShape};
use crate::token::RefreshToken;
use crate::user::{SecretField, User};

/// The `app_metadata` member that holds sealed values, one per provider.
pub const SEALED_KEY: &str = "sealed_refresh_tokens";
/// The `app_metadata` member where the old "Store Google Refresh Token" rule kept the
/// token in plain text.
pub const LEGACY_KEY: &str = "refresh_token";
/// tokenseal's own `app_metadata` member for its bookkeeping: `{"no_token_at":
/// {"<provider>": <seconds since the epoch>}, "cleared": {"<provider>": {"cap": ...,
/// "cap_kid": ...}}}` (see [`NO_TOKEN_AT`], [`CLEARED`]). Never holds a secret.
pub const STATE_KEY: &str = "tokenseal";
/// The member of [`STATE_KEY`] that records, per provider, when a Management API read
/// last found no token (see [`plan_login`]).
pub const NO_TOKEN_AT: &str = "no_token_at";
/// The member of [`STATE_KEY`] that records, per provider, a sealed value the app cleared
/// ([`plan_clear`]: the Node backend's `clearSealed` and `disconnect`): the cleared
/// value's capture record (`cap`, `cap_kid`: the keyed fingerprint of the token Auth0
/// held when it was captured), or `{}` when it had none. Auth0 keeps its copy of a token
/// the app gave up on (a revoked or dead one), and a login would otherwise seal that
/// copy again; the record makes a login seal only a token Auth0 received since. It goes
/// when a valid value is stored again.
pub const CLEARED: &str = "cleared";
/// The claim, appended to the configured namespace, that holds every configured
/// provider's status: `{"<key>": "stored" | "missing"}` for the providers the user has an
/// identity of. Set when `TOKENSEAL_PROVIDERS` is configured.
pub const OFFLINE_ACCESS_CLAIM: &str = "offline_access";
/// The `app_metadata` members the login decision reads; the shims pass only these.
pub const APP_METADATA_FIELDS: [&str; 3] = [SEALED_KEY, LEGACY_KEY, STATE_KEY];
/// The `/authorize` query parameters the login decision reads (see
/// [`consent_requested`] and [`LoginInput::silent`]); the shims pass only these.
pub const QUERY_FIELDS: [&str; 3] = ["prompt", "approval_prompt", "connection_scope"];
/// Domains Auth0 reserves for its own claims; a namespace on them is dropped silently by
/// Auth0, so tokenseal refuses it loudly instead (Auth0 docs, "Create Namespaced Custom
/// Claims").
pub const RESERVED_CLAIM_DOMAINS: &[&str] = &["auth0.com", "webtask.io", "webtask.run"];
/// `event.transaction.protocol` (Actions) and `context.protocol` (Rules) of a refresh
/// token exchange, where Auth0 issues tokens without contacting the upstream `IdP`
/// (docs: secure/tokens/refresh-tokens/use-refresh-tokens, customize/rules/context-object).
pub const REFRESH_TOKEN_PROTOCOL: &str = "oauth2-refresh-token";
/// How long after the `federated` authentication method's timestamp an execution still
/// counts as having gone to the `IdP`, in seconds. The timestamp is when Auth0 recorded
/// the method in the session (docs: customize/actions/redirect-with-actions); a login that
/// reuses an older session did not contact the `IdP`, so no new token can exist.
pub const FEDERATED_RECENT_SECONDS: u64 = 600;
/// Default of `TOKENSEAL_RECHECK_HOURS`: after a read found no token, the next read for
/// that user (other than at a first login or a consent) waits this long, in seconds.
pub const DEFAULT_RECHECK_SECONDS: u64 = 24 * 60 * 60;

/// When the Action should read the user through the Management API to see `IdP` tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReadPolicy {
    /// Never read (Rules see the tokens in `user.identities` directly).
    Never,
    /// Read only when this login could carry a new token (see [`plan_login`]).
    #[default]
    Auto,
    /// Read on every login through the provider's connection that went to the provider
    /// (`TOKENSEAL_FETCH=always`).
    Always,
}

/// Everything a login knows, as the shims hand it over (camelCase in JavaScript).
/// Non-exhaustive: `LoginInput::shape` exists only with feature `removals`, and
/// features must only add.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginInput {
    /// The user of this login: a Rule's `user` or an Action's `event.user`, narrowed by
    /// the shim to the fields the decision reads ([`crate::user::LOGIN_FIELDS`]). Its
    /// `app_metadata` is the stored state.
    pub user: User,
    /// The same user read through `GET /api/v2/users/{id}`, when the shim made that
    /// read (narrowed the same way); its identities carry the `IdP` tokens.
    pub fresh_user: Option<User>,
    /// The member names of the whole user, when the plan should say what to remove
    /// before the user is handed on (Rules); see [`crate::sanitize`](mod@crate::sanitize).
    /// Feature `removals` (default).
    #[cfg(feature = "removals")]
    pub shape: Option<UserShape>,
    /// `event.connection.strategy` (Actions) or `context.connectionStrategy` (Rules).
    pub connection_strategy: Option<String>,
    /// `event.connection.name` (Actions) or `context.connection` (Rules): tells custom
    /// OAuth 2.0 connections apart, whose strategy is always `oauth2`.
    pub connection_name: Option<String>,
    /// The configured providers (`TOKENSEAL_PROVIDERS`), in order; `None` when not
    /// configured, which means Google alone and no [`OFFLINE_ACCESS_CLAIM`].
    pub providers: Option<Vec<Connection>>,
    /// `event.stats.logins_count` / `context.stats.loginsCount`; 1 on the first login.
    pub logins_count: Option<u64>,
    /// The `/authorize` query (`event.request.query`, `context.request.query`), only
    /// its [`QUERY_FIELDS`].
    pub authorize_query: Option<Object>,
    /// `event.transaction.prompt`: the prompts of this transaction, which also holds
    /// what a pushed or form-posted authorization request asked for.
    pub transaction_prompt: Vec<String>,
    /// `event.transaction.protocol` / `context.protocol`, e.g. `oidc-basic-profile`.
    pub protocol: Option<String>,
    /// The timestamp of the `federated` entry of `event.authentication.methods`, in
    /// seconds since the epoch, when the event has one.
    pub federated_at: Option<u64>,
    /// When to read the user through the Management API.
    pub read: ReadPolicy,
    /// Namespace for the status claim (`TOKENSEAL_CLAIM_NAMESPACE`), if configured.
    pub claim_namespace: Option<String>,
    /// Seconds to wait, after a read found no token, before the next read that only
    /// "nothing valid is stored" asks for (`TOKENSEAL_RECHECK_HOURS`).
    pub recheck_seconds: u64,
}

impl LoginInput {
    /// Reads the input as the shims send it: `{ user, freshUser, shape,
    /// connectionStrategy, connectionName, providers, loginsCount, authorizeQuery, transactionPrompt, protocol,
    /// federatedAt, read, claimNamespace, recheckSeconds }`. Absent and `null` members
    /// take their defaults; an unknown member is an error, so a misspelt option is not
    /// silently ignored. Without feature `removals`, `shape` is such a member: a build
    /// that cannot plan removals refuses to be asked for them.
    ///
    /// # Errors
    /// [`Error::UserInvalid`] when `user` or `freshUser` is not an Auth0 user,
    /// [`Error::InputInvalid`] for anything else of the wrong shape (`providers` must be
    /// a non-empty array of keys [`Connection::parse`] accepts).
    pub fn from_value(value: Json) -> Result<Self> {
        let Json::Object(fields) = value else {
            return Err(Error::InputInvalid);
        };
        let mut user = None;
        let mut input = Self {
            user: User::default(),
            fresh_user: None,
            #[cfg(feature = "removals")]
            shape: None,
            connection_strategy: None,
            connection_name: None,
            providers: None,
            logins_count: None,
            authorize_query: None,
            transaction_prompt: Vec::new(),
            protocol: None,
            federated_at: None,
            read: ReadPolicy::Auto,
            claim_namespace: None,
            recheck_seconds: DEFAULT_RECHECK_SECONDS,
        };
        for (name, value) in fields {
            match (name.as_str(), value) {
                (_, Json::Null) => {}
                ("user", value) => user = Some(User::from_value(value)?),
                ("freshUser", value) => input.fresh_user = Some(User::from_value(value)?),
                #[cfg(feature = "removals")]
                ("shape", value) => input.shape = Some(UserShape::from_value(value)?),
                ("connectionStrategy", Json::String(s)) => input.connection_strategy = Some(s),
                ("connectionName", Json::String(s)) => input.connection_name = Some(s),
                ("providers", Json::Array(keys)) => input.providers = Some(connections(&keys)?),
                ("loginsCount", value) => input.logins_count = Some(count(&value)?),
                ("authorizeQuery", Json::Object(query)) => input.authorize_query = Some(query),
                ("transactionPrompt", Json::Array(prompts)) => {
                    input.transaction_prompt = strings(prompts)?;
                }
                ("protocol", Json::String(s)) => input.protocol = Some(s),
                ("federatedAt", value) => input.federated_at = Some(count(&value)?),
                ("read", Json::String(policy)) => input.read = read_policy(&policy)?,
                ("claimNamespace", Json::String(s)) => input.claim_namespace = Some(s),
                ("recheckSeconds", value) => input.recheck_seconds = count(&value)?,
                _ => return Err(Error::InputInvalid),
            }
        }
        input.user = user.ok_or(Error::UserInvalid)?;
        Ok(input)
    }

    /// True when the execution did not go to the `IdP`, so no new token can exist:
    /// a refresh token exchange ([`REFRESH_TOKEN_PROTOCOL`]), silent authentication
    /// (`prompt=none`, which answers from the Auth0 session: docs
    /// authenticate/login/configure-silent-authentication), or a `federated` method
    /// recorded more than [`FEDERATED_RECENT_SECONDS`] before `now` (an existing session).
    #[must_use]
    pub fn silent(&self, now: u64) -> bool {
        self.protocol.as_deref() == Some(REFRESH_TOKEN_PROTOCOL)
            || prompt_has(
                query_values(self.authorize_query.as_ref(), "prompt"),
                "none",
            )
            || prompt_has(self.transaction_prompt.iter().map(String::as_str), "none")
            || self
                .federated_at
                .is_some_and(|at| now.saturating_sub(at) > FEDERATED_RECENT_SECONDS)
    }

    /// True when this login could bring a new token of `connection`'s even if one is
    /// stored: a first login, a request for consent or new scopes (see
    /// [`consent_requested`]), or any login through the connection of a provider that
    /// issues a refresh token at every login ([`Provider::new_token_every_login`]).
    #[must_use]
    pub fn may_bring_new_token(&self, connection: &Connection) -> bool {
        self.is_first_or_consent(connection)
            || (connection.provider().new_token_every_login && self.went_through(connection))
    }

    /// True at a first login, or when the login asks for consent or new scopes (see
    /// [`consent_requested`]): a new token can come from any provider then.
    #[must_use]
    pub fn is_first_or_consent(&self, connection: &Connection) -> bool {
        self.logins_count.is_some_and(|n| n <= 1)
            || consent_requested(self.authorize_query.as_ref(), connection.provider())
            || prompt_has(
                self.transaction_prompt.iter().map(String::as_str),
                "consent",
            )
    }

    /// True when this login went through `connection`.
    #[must_use]
    pub fn went_through(&self, connection: &Connection) -> bool {
        connection.is_connection(
            self.connection_strategy.as_deref(),
            self.connection_name.as_deref(),
        )
    }
}

fn count(value: &Json) -> Result<u64> {
    value.as_u64().ok_or(Error::InputInvalid)
}

fn connections(keys: &[Json]) -> Result<Vec<Connection>> {
    let keys = keys
        .iter()
        .map(|key| key.as_str().ok_or(Error::InputInvalid))
        .collect::<Result<Vec<_>>>()?;
    match Connection::configured(keys) {
        (connections, refused) if refused.is_empty() && !connections.is_empty() => Ok(connections),
        _ => Err(Error::InputInvalid),
    }
}

fn strings(items: Vec<Json>) -> Result<Vec<String>> {
    items
        .into_iter()
        .map(|p| match p {
            Json::String(p) => Ok(p),
            _ => Err(Error::InputInvalid),
        })
        .collect()
}

fn read_policy(policy: &str) -> Result<ReadPolicy> {
    match policy {
        "never" => Ok(ReadPolicy::Never),
        "auto" => Ok(ReadPolicy::Auto),
        "always" => Ok(ReadPolicy::Always),
        _ => Err(Error::InputInvalid),
    }
}

/// Whether the app's backend can use the provider's offline access for this user after
/// the login; the value of the provider's status claim (`<namespace>google_offline_access`
/// for Google, [`Provider::claim_name`]) and of its member of [`OFFLINE_ACCESS_CLAIM`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineAccess {
    /// A sealed value that opens under the key ring, bound to this user, is stored.
    Stored,
    /// No usable sealed value: the app should send the user through the provider's
    /// consent.
    Missing,
}

/// What happened to the stored value, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The user has no identity of the provider: nothing is done. Named `not_google` in
    /// plans and logs, the name it had when Google was the only provider.
    NoIdentity,
    /// A fresh token was sealed where no sealed value was stored.
    Sealed,
    /// A token Auth0 received since the stored value was captured replaced it, or
    /// replaced a stored value that does not open.
    Replaced,
    /// The stored token was re-sealed under the primary key (lazy rotation).
    Rotated,
    /// The legacy plaintext token was sealed (and the plaintext deleted).
    Migrated,
    /// A valid stored value is kept as it is (redundant plaintext may be deleted).
    Unchanged,
    /// No token is available: nothing stored, nothing to store.
    Missing,
}

/// One `api.user.setAppMetadata(key, value)` call; `null` deletes the key.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataWrite {
    /// Top-level `app_metadata` member.
    pub key: &'static str,
    /// New value, or `null` to delete.
    pub value: Json,
}

/// One `api.idToken.setCustomClaim(name, value)` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Namespaced claim name.
    pub name: String,
    /// Claim value.
    pub value: ClaimValue,
}

/// The value of a status claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimValue {
    /// One provider's status, `"stored"` or `"missing"` (`<namespace>google_offline_access`).
    Status(OfflineAccess),
    /// Every configured provider's status the user has an identity of, by key, in the
    /// configured order ([`OFFLINE_ACCESS_CLAIM`]): `{"waad": "stored", ...}`.
    ByProvider(Vec<(String, OfflineAccess)>),
}

/// What a login did for one configured provider the user has an identity of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderOutcome {
    /// The provider's key ([`Connection::key`]).
    pub key: String,
    /// What happened to its stored value.
    pub outcome: Outcome,
    /// Its status after the login.
    pub offline_access: OfflineAccess,
}

/// Every effect of a login, for the shims to carry out in order: read (then plan
/// again), write, claim, hand on. Non-exhaustive: `LoginPlan::removals` exists only
/// with feature `removals`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoginPlan {
    /// The shim should read the user through the Management API and call
    /// [`plan_login`] again with `fresh_user`. The rest of this plan is still valid if
    /// that read fails.
    pub read_user: bool,
    /// What happens to the stored value of the first configured provider the user has
    /// an identity of (Google's by default); [`Outcome::NoIdentity`] for none.
    pub outcome: Outcome,
    /// Every configured provider the user has an identity of, in the configured order.
    pub providers: Vec<ProviderOutcome>,
    /// `app_metadata` writes, in order: an Action calls `api.user.setAppMetadata` with
    /// each, a Rule merges them into the `app_metadata` it persists. Top-level merge
    /// semantics (`null` deletes), as both Auth0 APIs have. Empty when nothing changes.
    pub metadata_writes: Vec<MetadataWrite>,
    /// The status of the provider [`LoginPlan::outcome`] describes; `None` for users
    /// without an identity of any configured provider.
    pub offline_access: Option<OfflineAccess>,
    /// ID token claims to set.
    pub claims: Vec<Claim>,
    /// Codes of problems found and handled without failing the login (for example
    /// `ERR_DECRYPT` for a stored value that does not open). Safe to log.
    pub notices: Vec<&'static str>,
    /// What to remove from the user before it is handed on (see
    /// [`crate::sanitize`](mod@crate::sanitize)); `None` when the input carried no `shape`.
    /// Feature `removals` (default).
    #[cfg(feature = "removals")]
    pub removals: Option<Removals>,
}

impl OfflineAccess {
    /// The claim value: `"stored"` or `"missing"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Missing => "missing",
        }
    }
}

impl Outcome {
    /// The name used in plans and logs, e.g. `"sealed"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoIdentity => "not_google",
            Self::Sealed => "sealed",
            Self::Replaced => "replaced",
            Self::Rotated => "rotated",
            Self::Migrated => "migrated",
            Self::Unchanged => "unchanged",
            Self::Missing => "missing",
        }
    }
}

/// The `sealed_refresh_tokens` object and what the provider's entry in it holds.
struct StoredState<'c> {
    sealed_map: Object,
    /// The provider whose member of `sealed_map` this is ([`Connection::key`]), and
    /// whose binding its values carry ([`Connection::idp`]).
    connection: &'c Connection,
    stored: Stored,
}

/// Reads `connection`'s sealed value; a value that does not open (for this user and
/// provider) adds its error code to `notices`.
fn read_stored<'c>(
    connection: &'c Connection,
    metadata: &Object,
    keys: &KeyRing,
    user_id: &str,
    notices: &mut Vec<&'static str>,
) -> Result<StoredState<'c>> {
    let sealed_map = match metadata.get(SEALED_KEY) {
        None | Some(Json::Null) => Object::new(),
        Some(Json::Object(map)) => map.clone(),
        Some(_) => return Err(Error::UserInvalid),
    };
    let stored = match sealed_map.get(connection.key()) {
        None | Some(Json::Null) => match cleared_record(metadata, connection.key()) {
            Some(capture) => Stored::Cleared { capture },
            None => Stored::Absent,
        },
        Some(value) => match value
            .as_str()
            .ok_or(Error::SealedMalformed)
            .and_then(|sealed| {
                jwe::open_with_header(sealed, keys, user_id, connection.idp()).map_err(Error::from)
            }) {
            Ok((token, header)) => Stored::Valid {
                token,
                current: header.is_current(keys),
                provenance: header.provenance(),
            },
            Err(error) => {
                notices.push(error.code());
                Stored::Unreadable
            }
        },
    };
    Ok(StoredState {
        sealed_map,
        connection,
        stored,
    })
}

/// What `app_metadata.refresh_token`, where the old rule kept the token, holds.
#[derive(Debug)]
enum Legacy {
    /// Nothing (absent or `null`).
    Absent,
    /// A refresh token in plain text.
    Token(RefreshToken),
    /// The old rule's `createCipher` hex ciphertext: left as it is, unless `migrate`
    /// holds the password to open it.
    Encrypted(SecretField),
    /// Something else, left exactly as it is ([`Error::TokenInvalid`]).
    Invalid,
}

/// Reads the legacy plaintext member. The old rule's commented-out advice encrypted
/// the token with `crypto.createCipher('aes-256-cbc', password)` into hex: a hex-only
/// value of whole AES blocks is that ciphertext, never a Google refresh token (those
/// start `1//`), so it is not sealed as one.
fn read_legacy(metadata: &Object) -> Legacy {
    match metadata.get(LEGACY_KEY) {
        None | Some(Json::Null) => Legacy::Absent,
        Some(value @ Json::String(s)) if is_cbc_hex(s) => {
            Legacy::Encrypted(SecretField::new(value.clone()))
        }
        Some(value) => match SecretField::new(value.clone()).refresh_token() {
            Ok(token) => Legacy::Token(token),
            Err(_) => Legacy::Invalid,
        },
    }
}

impl Legacy {
    /// The code a value that stays as it is reports, if any.
    const fn kept_code(&self) -> Option<&'static str> {
        match self {
            Self::Encrypted(_) => Some(Error::LegacyEncrypted.code()),
            Self::Invalid => Some(Error::TokenInvalid.code()),
            Self::Absent | Self::Token(_) => None,
        }
    }

    fn token(&self) -> Option<RefreshToken> {
        match self {
            Self::Token(token) => Some(token.clone()),
            _ => None,
        }
    }
}

/// True for hex of one or more whole AES blocks (32 hex digits each): the output shape of
/// `createCipher('aes-256-cbc', ...)` with `'hex'` encoding.
#[must_use]
pub fn is_cbc_hex(value: &str) -> bool {
    !value.is_empty() && value.len() % 32 == 0 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What the migration command does for one user found with plaintext.
#[derive(Debug, Clone, PartialEq)]
pub enum Migration {
    /// Nothing to do: no plaintext (the search index was stale, or the user was
    /// migrated meanwhile).
    NothingToDo,
    /// PATCH `app_metadata` with this object (Management API top-level merge): the
    /// sealed map with the [`providers::LEGACY`] value, and/or `refresh_token: null`.
    Patch {
        /// The `app_metadata` members to set; `null` deletes.
        app_metadata: Object,
        /// True when a new sealed value is written; false when a valid one was already
        /// stored and only the plaintext goes.
        sealed: bool,
    },
    /// Left as it is, with the reason: a plaintext that is not a token
    /// (`ERR_TOKEN_INVALID`), the old rule's ciphertext (`ERR_LEGACY_ENCRYPTED`), or a
    /// stored sealed value that does not open, which is never overwritten without a
    /// token read for the user.
    Skip(&'static str),
}

/// Opens the old rule's `createCipher` hex ciphertext (the command line's
/// `LegacyPassword::decrypt`).
pub type LegacyDecryptor<'a> = dyn Fn(&str) -> Result<RefreshToken> + 'a;

/// Decides the migration of one user's legacy plaintext `app_metadata.refresh_token`
/// with the rules of [`plan_login`], through the same implementation: it is a login that
/// brings no fresh token. The plaintext is sealed bound to `user.user_id` when nothing
/// valid is stored, deleted only in the same write that keeps a valid sealed value, and a
/// stored value that does not open is never overwritten. Unlike a login, an identity of
/// the provider is not required: the old rule's plaintext is a token of
/// [`providers::LEGACY`] (Google's) wherever it is, and is stored under its key.
///
/// `decrypt_legacy` opens the old rule's `createCipher` hex ciphertext (the command line
/// passes its `TOKENSEAL_LEGACY_PASSWORD`); `None` reports such values as skipped with
/// [`Error::LegacyEncrypted`]'s code.
///
/// # Errors
/// [`Error::UserIdInvalid`] and [`Error::UserInvalid`] as for [`plan_login`].
pub fn plan_migration(
    user: &User,
    keys: &KeyRing,
    now: u64,
    iv: impl FnOnce() -> Result<Nonce>,
    decrypt_legacy: Option<&LegacyDecryptor<'_>>,
) -> Result<Migration> {
    jwe::validate_sub(&user.user_id)?;
    let metadata = user.app_metadata.clone().unwrap_or_default();
    let legacy = match read_legacy(&metadata) {
        Legacy::Absent => return Ok(Migration::NothingToDo),
        Legacy::Encrypted(hex) => match decrypt_legacy {
            None => return Ok(Migration::Skip(Error::LegacyEncrypted.code())),
            Some(decrypt) => match hex.expose_str().map(decrypt) {
                Some(Ok(token)) => Legacy::Token(token),
                _ => return Ok(Migration::Skip(Error::LegacyDecrypt.code())),
            },
        },
        Legacy::Invalid => return Ok(Migration::Skip(Error::TokenInvalid.code())),
        token @ Legacy::Token(_) => token,
    };
    let mut notices = Vec::new();
    let legacy_provider = Connection::built_in(providers::LEGACY);
    let state = read_stored(
        &legacy_provider,
        &metadata,
        keys,
        &user.user_id,
        &mut notices,
    )?;
    if matches!(state.stored, Stored::Cleared { .. }) {
        // The app cleared this user's value (a dead or revoked token): plaintext left
        // beside that record is no token to seal; the user consents again.
        return Ok(Migration::Skip(Error::ReconsentRequired.code()));
    }
    let effects = stored_effects(
        state,
        &legacy,
        None,
        |_, _| false,
        keys,
        &user.user_id,
        now,
        iv,
    )?;
    if !effects.valid_after {
        // The stored value does not open: never overwritten without a token read.
        return Ok(Migration::Skip(
            notices.first().copied().unwrap_or(Error::Decrypt.code()),
        ));
    }
    let mut app_metadata = Object::new();
    for write in effects.writes {
        app_metadata.insert(write.key, write.value);
    }
    Ok(Migration::Patch {
        app_metadata,
        sealed: effects.outcome == Outcome::Migrated,
    })
}

/// What clearing `connection`'s sealed value writes to `app_metadata` (the Node
/// backend's `clearSealed` and `disconnect` carry it out): [`SEALED_KEY`] without the
/// value (`null` when no other provider's is left), and [`STATE_KEY`] with the value's
/// capture record under [`CLEARED`], so that no login seals Auth0's copy of the cleared
/// token again, and, for Google, [`LEGACY_KEY`] deleted when it holds the old rule's
/// plaintext token (anything else there is left, as a login leaves it; a plaintext token
/// alone is cleared too, with a record of `{}`). Needs no key: the capture record is in
/// the value's public header (a value without one, or that does not parse, leaves `{}`).
/// Empty when nothing is stored for the provider.
///
/// # Errors
/// [`Error::UserInvalid`] when `sealed_refresh_tokens` is not an object (tokenseal will
/// not overwrite what it cannot read).
pub fn plan_clear(metadata: &Object, connection: &Connection) -> Result<Vec<MetadataWrite>> {
    let mut map = match metadata.get(SEALED_KEY) {
        None | Some(Json::Null) => Object::new(),
        Some(Json::Object(map)) => map.clone(),
        Some(_) => return Err(Error::UserInvalid),
    };
    let key = connection.key();
    let stored = map.get(key).filter(|value| !value.is_null());
    // The old rule's plaintext token (what a login would seal, or delete beside a valid
    // value) goes too: the app gave up on the provider's token, and no login would
    // touch it after the clear. Anything else there is left as a login leaves it.
    let legacy_token = connection.provider() == providers::LEGACY
        && matches!(read_legacy(metadata), Legacy::Token(_));
    if stored.is_none() && !legacy_token {
        return Ok(Vec::new());
    }
    let mut record = Object::new();
    if let Some(capture) = stored
        .and_then(Json::as_str)
        .and_then(|sealed| jwe::inspect(sealed).ok())
        .and_then(|header| header.capture)
    {
        record.insert("cap", Json::from(jwe::fingerprint_text(&capture)));
        record.insert("cap_kid", Json::from(capture.kid));
    }
    let mut writes = Vec::new();
    if stored.is_some() {
        map.retain(|name, _| name != key);
        writes.push(MetadataWrite {
            key: SEALED_KEY,
            value: if map.is_empty() {
                Json::Null
            } else {
                Json::Object(map)
            },
        });
    }
    writes.push(MetadataWrite {
        key: STATE_KEY,
        value: state_with(
            metadata,
            key,
            no_token_at(metadata, key),
            Some(Some(Json::Object(record))),
        ),
    });
    if legacy_token {
        writes.push(MetadataWrite {
            key: LEGACY_KEY,
            value: Json::Null,
        });
    }
    Ok(writes)
}

/// The stored sealed value, once looked at.
enum Stored {
    Absent,
    /// Nothing is stored because the app cleared it ([`CLEARED`]), with the cleared
    /// value's capture record when it had one.
    Cleared {
        capture: Option<jwe::Capture>,
    },
    Valid {
        token: RefreshToken,
        /// Sealed in the current format under the primary key
        /// ([`jwe::SealedHeader::is_current`]).
        current: bool,
        provenance: Provenance,
    },
    Unreadable,
}

/// What a plan seals, if anything, and what that is called.
struct Decision {
    seal: Option<(RefreshToken, Provenance)>,
    outcome: Outcome,
}

/// Decides everything a login does.
///
/// The rules, in the order they apply:
/// - The providers are the configured ones ([`LoginInput::providers`]; Google alone by
///   default), each decided by the rules below in the configured order, against the
///   `app_metadata` the ones before it left. For each, the identity is the primary
///   identity if it is the provider's, otherwise the first of its identities
///   ([`Connection::identity`]). When more than one carries a token,
///   [`Error::IdentityAmbiguous`]'s code is a notice. A provider the user has no
///   identity of is left alone; a user with none gets [`Outcome::NoIdentity`].
/// - Sealed values are bound to `user.user_id` (the primary user) and stored at
///   `app_metadata.sealed_refresh_tokens[<key>]` ([`Connection::key`], e.g.
///   `"google-oauth2"`); other entries are kept. Each records its capture: a keyed
///   fingerprint of the identity token it was sealed from ([`jwe::Capture`]).
/// - A fresh token (from `fresh_user` if given, else from `user`) replaces a valid
///   stored value only when Auth0 received it since that value was captured: its
///   fingerprint differs from the capture record. A stored value can be newer than
///   Auth0's copy (a backend stored the provider's rotated token), and a stale copy never
///   replaces it. A value without a checkable capture record (sealed by an earlier
///   version or by `seal()`, or fingerprinted under a retired key) is replaced only at a
///   login that may bring a new token ([`LoginInput::may_bring_new_token`]). No token
///   never deletes or overwrites anything. A valid value sealed under a non-primary key
///   is re-sealed under the primary, provenance kept.
/// - A stored value that does not open, or is bound to another user, is kept as it is,
///   never re-bound; only a fresh token replaces it.
/// - Legacy plaintext `app_metadata.refresh_token` ([`providers::LEGACY`]'s) is sealed
///   when nothing better is
///   stored, and deleted only in a plan that also holds a valid sealed value. A value
///   there that is not a token (the old rule's hex ciphertext included) is left as it is.
/// - A Management API read is requested (policy [`ReadPolicy::Auto`]) only when the
///   execution went through a configured provider's connection and to the provider
///   ([`LoginInput::silent`] is false), and: it may bring a new token (for providers that
///   issue one at every login, any such execution does), or no valid value is stored
///   even after this plan and no read in the last `recheck_seconds` found the identity
///   without a token ([`STATE_KEY`]). [`ReadPolicy::Always`] reads on every such
///   execution. One read serves every provider.
/// - A read that finds no token records the time under [`STATE_KEY`] (when nothing
///   valid is stored); a valid value makes the record go.
///
/// - Claims, when a namespace is configured: a provider's own status claim
///   ([`Provider::claim_name`], `<namespace>google_offline_access`), and, when the
///   providers are configured, [`OFFLINE_ACCESS_CLAIM`] with every one the user has an
///   identity of.
///
/// `now` (seconds since the epoch) becomes the sealed value's `iat`. `iv` supplies the
/// IV of each seal (one per provider at most): pass [`Nonce::random`]. It is called only
/// when the plan seals, so that the common login, which keeps what is stored, costs no
/// randomness and cannot fail for want of it.
///
/// `keys` is the key ring, or the error that reading it gave: a login without an
/// identity of the provider does not need keys, so a broken key set only adds its code to the notices.
///
/// # Errors
/// The key ring's error for a user with an identity of the provider; `iv`'s error (such as
/// [`Error::Random`]) when the plan seals; [`Error::UserIdInvalid`]
/// when `user.user_id` cannot be bound and the user has an identity of a configured
/// provider (nothing is bound for anyone else); [`Error::UserInvalid`] when
/// `app_metadata.sealed_refresh_tokens` is not an object (tokenseal will not overwrite
/// what it cannot read).
pub fn plan_login(
    input: &LoginInput,
    keys: Result<&KeyRing>,
    now: u64,
    mut iv: impl FnMut() -> Result<Nonce>,
) -> Result<LoginPlan> {
    let user = &input.user;
    #[cfg(feature = "removals")]
    let removals = input.shape.as_ref().map(removals);
    let mut notices = Vec::new();

    // A read of some other user must never lend its tokens to this one.
    let fresh_user = match &input.fresh_user {
        Some(fresh) if fresh.user_id != user.user_id => {
            notices.push(Error::InputInvalid.code());
            None
        }
        other => other.as_ref(),
    };
    let default = [Connection::google()];
    let connections = input.providers.as_deref().unwrap_or(&default);

    // Each provider plans against the metadata as the earlier ones left it, so that the
    // writes compose: every write carries a whole top-level member, and the last one of
    // a member holds every provider's change to it.
    let mut metadata = user.app_metadata.clone().unwrap_or_default();
    let mut writes: Vec<MetadataWrite> = Vec::new();
    let mut providers = Vec::new();
    let mut read_user = false;
    for connection in connections {
        let Some(plan) = plan_for(
            connection,
            input,
            fresh_user,
            &metadata,
            keys,
            now,
            &mut iv,
            &mut notices,
        )?
        else {
            continue;
        };
        for write in plan.writes {
            match &write.value {
                Json::Null => metadata.retain(|name, _| name != write.key),
                value => metadata.insert(write.key, value.clone()),
            }
            match writes.iter_mut().find(|w| w.key == write.key) {
                Some(earlier) => earlier.value = write.value,
                None => writes.push(write),
            }
        }
        read_user |= plan.read_user;
        providers.push(ProviderOutcome {
            key: connection.key().to_owned(),
            outcome: plan.outcome,
            offline_access: plan.status,
        });
    }
    if providers.is_empty() {
        // Nothing to seal or open: a broken key set is reported, but does not fail (or,
        // in deny mode, block) this login.
        if let Err(error) = keys {
            notices.push(error.code());
        }
    }
    let claims = status_claims(
        connections,
        &providers,
        input.claim_namespace.as_deref(),
        input.providers.is_some(),
        &mut notices,
    );
    let mut seen = Vec::new();
    notices.retain(|code| {
        let first = !seen.contains(code);
        seen.push(code);
        first
    });
    Ok(LoginPlan {
        read_user,
        outcome: providers.first().map_or(Outcome::NoIdentity, |p| p.outcome),
        offline_access: providers.first().map(|p| p.offline_access),
        providers,
        metadata_writes: writes,
        claims,
        notices,
        #[cfg(feature = "removals")]
        removals,
    })
}

/// What a login does for one provider.
struct ProviderPlan {
    outcome: Outcome,
    /// Whole top-level members, in order.
    writes: Vec<MetadataWrite>,
    status: OfflineAccess,
    read_user: bool,
}

/// [`plan_login`] for one provider, against `metadata` as the providers before it left
/// it; `None` when the user has no identity of it.
#[allow(clippy::too_many_arguments)] // each is one input of the decision; a struct would only rename them
fn plan_for(
    connection: &Connection,
    input: &LoginInput,
    fresh_user: Option<&User>,
    metadata: &Object,
    keys: Result<&KeyRing>,
    now: u64,
    iv: &mut impl FnMut() -> Result<Nonce>,
    notices: &mut Vec<&'static str>,
) -> Result<Option<ProviderPlan>> {
    let user = &input.user;
    // The connection this login went through, when it is this provider's: its identity
    // is the one captured (two Entra ID connections are told apart by name).
    let via = input
        .went_through(connection)
        .then_some(input.connection_name.as_deref())
        .flatten();
    let has_identity = connection.identity(user, via).is_some()
        || fresh_user.is_some_and(|f| connection.identity(f, via).is_some());
    if !has_identity {
        return Ok(None);
    }
    // Only a user whose tokens may be sealed needs a user id that can be bound: a
    // deny-mode login of anyone else never fails on it.
    jwe::validate_sub(&user.user_id)?;
    let keys = keys?;

    let state = read_stored(connection, metadata, keys, &user.user_id, notices)?;
    let legacy = if connection.provider() == providers::LEGACY {
        read_legacy(metadata)
    } else {
        Legacy::Absent
    };
    notices.extend(legacy.kept_code());
    let token_user = fresh_user.unwrap_or(user);
    if connection.identities_with_token(token_user) > 1 {
        notices.push(Error::IdentityAmbiguous.code());
    }
    let fresh = fresh_token(connection, token_user, via, notices);
    let fresh_is_new = |token: &RefreshToken, provenance: &Provenance| {
        received_since_capture(connection, token, provenance, keys, input, now)
    };
    let cleared = matches!(state.stored, Stored::Cleared { .. });
    let had_fresh = fresh.is_some();
    let Effects {
        outcome,
        mut writes,
        valid_after,
    } = stored_effects(
        state,
        &legacy,
        fresh,
        fresh_is_new,
        keys,
        &user.user_id,
        now,
        iv,
    )?;
    // Finding only the token the app cleared is finding nothing usable; not for a
    // provider that issues a token at every login, whose next login through its
    // connection brings a new one (a record would hold back the read that finds it).
    let refused_cleared =
        cleared && had_fresh && !valid_after && !connection.provider().new_token_every_login;
    let read_found_nothing =
        fresh_user.is_some_and(|f| !has_token(connection, f, via) || refused_cleared);
    let (record, record_write) = state_records(
        connection.key(),
        metadata,
        valid_after,
        read_found_nothing,
        now,
    );
    writes.extend(record_write);
    let status = if valid_after {
        OfflineAccess::Stored
    } else {
        OfflineAccess::Missing
    };
    let read_user =
        fresh_user.is_none() && should_read(connection, input, valid_after, record, now);
    Ok(Some(ProviderPlan {
        outcome,
        writes,
        status,
        read_user,
    }))
}

/// Whether Auth0 received `token` since the valid stored value of this `provenance` was
/// captured: its fingerprint differs from the record. Without a checkable record, a
/// value a backend rotated stays (it is newer than any copy of Auth0's the record cannot
/// tell apart), and any other is replaced only at a login that may bring a new token.
fn received_since_capture(
    connection: &Connection,
    token: &RefreshToken,
    provenance: &Provenance,
    keys: &KeyRing,
    input: &LoginInput,
    now: u64,
) -> bool {
    match provenance
        .capture
        .as_ref()
        .and_then(|c| c.matches(token, keys))
    {
        Some(same) => !same,
        None if provenance.source == Some(Source::Rotation) => false,
        None => input.may_bring_new_token(connection) && !input.silent(now),
    }
}

/// The provider's records under [`STATE_KEY`] after this plan, and the write that
/// stores them when they change. [`NO_TOKEN_AT`]: set now after a read that found nothing
/// while nothing valid is stored, dropped once a valid value is; returned, for the
/// decision to read. [`CLEARED`]: dropped once a valid value is stored.
fn state_records(
    key: &str,
    metadata: &Object,
    valid_after: bool,
    read_found_nothing: bool,
    now: u64,
) -> (Option<u64>, Option<MetadataWrite>) {
    let recorded = no_token_at(metadata, key);
    let record = match (valid_after, read_found_nothing) {
        (true, _) => None,
        (false, true) => Some(now),
        (false, false) => recorded,
    };
    let drop_cleared = valid_after && cleared_record(metadata, key).is_some();
    let write = (record != recorded || drop_cleared).then(|| MetadataWrite {
        key: STATE_KEY,
        value: state_with(metadata, key, record, drop_cleared.then_some(None)),
    });
    (record, write)
}

/// What a plan does to the stored state: shared by logins and migration, so that the two
/// can never disagree on what may be sealed or when plaintext may go.
struct Effects {
    outcome: Outcome,
    /// The sealed map and the plaintext deletion, in that order.
    writes: Vec<MetadataWrite>,
    /// Whether a valid sealed value is stored after the writes.
    valid_after: bool,
}

/// Decides ([`decide`]) and seals: the sealed map with the new value (other providers'
/// entries kept), and `refresh_token: null` only in a plan that keeps a valid value.
#[allow(clippy::too_many_arguments)] // each is one input of the decision; a struct would only rename them
fn stored_effects(
    state: StoredState,
    legacy: &Legacy,
    fresh: Option<RefreshToken>,
    fresh_is_new: impl Fn(&RefreshToken, &Provenance) -> bool,
    keys: &KeyRing,
    user_id: &str,
    now: u64,
    iv: impl FnOnce() -> Result<Nonce>,
) -> Result<Effects> {
    let decision = decide(fresh, state.stored, legacy.token(), fresh_is_new, keys);
    let valid_after = decision.seal.is_some() || decision.outcome == Outcome::Unchanged;
    let mut writes = Vec::new();
    if let Some((token, provenance)) = &decision.seal {
        let idp = state.connection.idp();
        let sealed = jwe::seal_with(token, keys, user_id, idp, now, iv()?, provenance)?;
        let mut map = state.sealed_map;
        map.insert(state.connection.key(), Json::String(sealed));
        writes.push(MetadataWrite {
            key: SEALED_KEY,
            value: Json::Object(map),
        });
    }
    if matches!(legacy, Legacy::Token(_)) && valid_after {
        writes.push(MetadataWrite {
            key: LEGACY_KEY,
            value: Json::Null,
        });
    }
    Ok(Effects {
        outcome: decision.outcome,
        writes,
        valid_after,
    })
}

/// The refresh token on the user's identity of `connection`, if it holds a valid one; one
/// that is not a token adds a notice.
fn fresh_token(
    connection: &Connection,
    user: &User,
    via: Option<&str>,
    notices: &mut Vec<&'static str>,
) -> Option<RefreshToken> {
    let field = connection
        .identity(user, via)?
        .refresh_token
        .as_ref()
        .filter(|field| !field.is_null())?;
    match field.refresh_token() {
        Ok(token) => Some(token),
        Err(error) => {
            notices.push(error.code());
            None
        }
    }
}

/// True when the user's identity of `connection` carries a refresh token field with a
/// value.
fn has_token(connection: &Connection, user: &User, via: Option<&str>) -> bool {
    connection
        .identity(user, via)
        .and_then(|identity| identity.refresh_token.as_ref())
        .is_some_and(|field| !field.is_null())
}

/// Which token, if any, a plan seals, with which provenance, and what that is called.
/// `fresh_is_new` says whether a fresh token that differs from a valid stored one was
/// received by Auth0 since that one was captured.
fn decide(
    fresh: Option<RefreshToken>,
    stored: Stored,
    legacy: Option<RefreshToken>,
    fresh_is_new: impl Fn(&RefreshToken, &Provenance) -> bool,
    keys: &KeyRing,
) -> Decision {
    let seal = |token: RefreshToken, outcome| Decision {
        seal: Some(captured(token, keys)),
        outcome,
    };
    let nothing = |outcome| Decision {
        seal: None,
        outcome,
    };
    match (fresh, stored) {
        (
            Some(fresh),
            Stored::Valid {
                token,
                current,
                provenance,
            },
        ) => {
            if fresh != token && fresh_is_new(&fresh, &provenance) {
                seal(fresh, Outcome::Replaced)
            } else {
                let seen = is_captured_copy(&fresh, &token, &provenance, keys).then_some(fresh);
                keep(token, current, provenance, seen, keys)
            }
        }
        (Some(fresh), Stored::Unreadable) => seal(fresh, Outcome::Replaced),
        (Some(fresh), Stored::Absent) => seal(fresh, Outcome::Sealed),
        // Auth0's copy of the token the app cleared is never sealed again: only one it
        // received since (its fingerprint differs from the record; without a record, one
        // from a login that may bring a new token).
        (Some(fresh), Stored::Cleared { capture }) => {
            let provenance = Provenance {
                source: None,
                capture,
            };
            if fresh_is_new(&fresh, &provenance) {
                seal(fresh, Outcome::Sealed)
            } else {
                nothing(Outcome::Missing)
            }
        }
        (None, Stored::Cleared { .. }) => nothing(Outcome::Missing),
        (
            None,
            Stored::Valid {
                token,
                current,
                provenance,
            },
        ) => keep(token, current, provenance, None, keys),
        // The old rule copied Auth0's identity token verbatim: the plaintext is Auth0's
        // copy as that rule last saw it, and is fingerprinted as such.
        (None, Stored::Absent) => match legacy {
            Some(token) => seal(token, Outcome::Migrated),
            None => nothing(Outcome::Missing),
        },
        (None, Stored::Unreadable) => nothing(Outcome::Missing),
    }
}

/// `token` with the provenance of a value captured from Auth0's copy at this login.
fn captured(token: RefreshToken, keys: &KeyRing) -> (RefreshToken, Provenance) {
    let provenance = Provenance {
        source: Some(Source::Login),
        capture: Some(jwe::Capture::of(&token, keys)),
    };
    (token, provenance)
}

/// True when `fresh`, Auth0's copy at this login, is the token the valid stored value
/// (`stored`, with `provenance`) was captured from.
fn is_captured_copy(
    fresh: &RefreshToken,
    stored: &RefreshToken,
    provenance: &Provenance,
    keys: &KeyRing,
) -> bool {
    (fresh == stored && provenance.source != Some(Source::Rotation))
        || provenance
            .capture
            .as_ref()
            .and_then(|c| c.matches(fresh, keys))
            == Some(true)
}

/// A valid value stays; one that is not `current` (an older format, or a non-primary
/// key) is re-sealed in the current format under the primary with its provenance. `seen` is Auth0's copy when this login shows it and it is the token
/// the value was captured from: its fingerprint is then recomputed under the primary, so
/// that the record does not depend on a key about to be retired.
fn keep(
    token: RefreshToken,
    current: bool,
    mut provenance: Provenance,
    seen: Option<RefreshToken>,
    keys: &KeyRing,
) -> Decision {
    if current {
        return Decision {
            seal: None,
            outcome: Outcome::Unchanged,
        };
    }
    if let Some(seen) = seen {
        provenance.capture = Some(jwe::Capture::of(&seen, keys));
    }
    Decision {
        seal: Some((token, provenance)),
        outcome: Outcome::Rotated,
    }
}

/// Whether to read the user through the Management API (see [`plan_login`]).
/// `no_token_at` is the time a read last found no token, after this plan.
fn should_read(
    connection: &Connection,
    input: &LoginInput,
    valid_after: bool,
    no_token_at: Option<u64>,
    now: u64,
) -> bool {
    if !input.went_through(connection) || input.silent(now) {
        return false;
    }
    match input.read {
        ReadPolicy::Never => false,
        ReadPolicy::Always => true,
        ReadPolicy::Auto => {
            // A read that recently found no token holds back the reads that only "it
            // might have come" asks for: nothing stored, or a provider that issues a
            // token at every login (a connection without offline access would otherwise
            // cost a read at each of them).
            let recently_empty =
                no_token_at.is_some_and(|at| now.saturating_sub(at) < input.recheck_seconds);
            let every_login = connection.provider().new_token_every_login;
            input.is_first_or_consent(connection)
                || ((every_login || !valid_after) && !recently_empty)
        }
    }
}

/// `app_metadata.tokenseal.no_token_at[key]`, if recorded.
fn no_token_at(metadata: &Object, key: &str) -> Option<u64> {
    metadata
        .get(STATE_KEY)?
        .get(NO_TOKEN_AT)?
        .get(key)?
        .as_u64()
}

/// The [`STATE_KEY`] member with `key`'s [`NO_TOKEN_AT`] record set to `at` (or
/// removed), and, when `cleared` is given, its [`CLEARED`] record set to it (or removed);
/// other providers' records and other members are kept, and the member is deleted
/// (`null`) when nothing is left.
fn state_with(
    metadata: &Object,
    key: &str,
    at: Option<u64>,
    cleared: Option<Option<Json>>,
) -> Json {
    let mut state = match metadata.get(STATE_KEY) {
        Some(Json::Object(state)) => state.clone(),
        _ => Object::new(),
    };
    set_record(&mut state, NO_TOKEN_AT, key, at.map(Json::from));
    if let Some(cleared) = cleared {
        set_record(&mut state, CLEARED, key, cleared);
    }
    if state.is_empty() {
        Json::Null
    } else {
        Json::Object(state)
    }
}

/// Sets (or removes) `key`'s entry of the per-provider map `member` of `state`; the map
/// goes when it is left empty.
fn set_record(state: &mut Object, member: &str, key: &str, value: Option<Json>) {
    let mut records = match state.get(member) {
        Some(Json::Object(records)) => records.clone(),
        _ => Object::new(),
    };
    records.retain(|name, _| name != key);
    if let Some(value) = value {
        records.insert(key, value);
    }
    state.retain(|name, _| name != member);
    if !records.is_empty() {
        state.insert(member, Json::Object(records));
    }
}

/// `app_metadata.tokenseal.cleared[key]`, when recorded: `Some` of the capture record
/// it holds (`None` for `{}` or anything that is not a whole record).
fn cleared_record(metadata: &Object, key: &str) -> Option<Option<jwe::Capture>> {
    let record = metadata.get(STATE_KEY)?.get(CLEARED)?.get(key)?;
    if record.is_null() {
        return None;
    }
    let capture = match (
        record.get("cap").and_then(Json::as_str),
        record.get("cap_kid").and_then(Json::as_str),
    ) {
        (Some(cap), Some(kid)) => {
            crate::base64url::decode_exact(cap)
                .ok()
                .map(|fingerprint| jwe::Capture {
                    fingerprint,
                    kid: kid.to_owned(),
                })
        }
        _ => None,
    };
    Some(capture)
}

/// The status claims, when a namespace is configured (an invalid one is a notice): each
/// provider's own ([`Provider::claim_name`]), then, when the providers are
/// `configured`, [`OFFLINE_ACCESS_CLAIM`] with every provider the user has an identity
/// of. None for a user without any.
fn status_claims(
    connections: &[Connection],
    outcomes: &[ProviderOutcome],
    namespace: Option<&str>,
    configured: bool,
    notices: &mut Vec<&'static str>,
) -> Vec<Claim> {
    let Some(namespace) = namespace.filter(|_| !outcomes.is_empty()) else {
        return Vec::new();
    };
    if !valid_namespace(namespace) {
        notices.push(Error::NamespaceInvalid.code());
        return Vec::new();
    }
    let mut claims: Vec<Claim> = outcomes
        .iter()
        .filter_map(|outcome| {
            let connection = connections.iter().find(|c| c.key() == outcome.key)?;
            Some(Claim {
                name: [namespace, connection.provider().claim_name?].concat(),
                value: ClaimValue::Status(outcome.offline_access),
            })
        })
        .collect();
    if configured {
        claims.push(Claim {
            name: [namespace, OFFLINE_ACCESS_CLAIM].concat(),
            value: ClaimValue::ByProvider(
                outcomes
                    .iter()
                    .map(|o| (o.key.clone(), o.offline_access))
                    .collect(),
            ),
        });
    }
    claims
}

/// The sealed value stored under `key` ([`Connection::key`]) in a user's
/// `app_metadata`, given either the `app_metadata` object or the whole user.
#[must_use]
pub fn stored_sealed_value<'a>(app_metadata_or_user: &'a Json, key: &str) -> Option<&'a str> {
    let app_metadata = match app_metadata_or_user.get("app_metadata") {
        Some(inner @ Json::Object(_)) => inner,
        _ => app_metadata_or_user,
    };
    app_metadata.get(SEALED_KEY)?.get(key)?.as_str()
}

/// True when the `/authorize` request could make `provider` show its consent screen and
/// so issue a new refresh token: `prompt` lists `consent` (`OpenID` Connect Core
/// §3.1.2.1, space-delimited), a parameter of [`Provider::consent_query`] (Google's
/// deprecated `approval_prompt=force`), or `connection_scope` asks for scopes (Auth0
/// forwards it to the provider as additional scopes).
#[must_use]
pub fn consent_requested(query: Option<&Object>, provider: &Provider) -> bool {
    prompt_has(query_values(query, "prompt"), "consent")
        || provider
            .consent_query
            .iter()
            .any(|(name, value)| query_values(query, name).contains(value))
        || query_values(query, "connection_scope")
            .iter()
            .any(|s| !s.trim().is_empty())
}

/// True when one of `prompts` holds `word`: each is a space-delimited list (OpenID
/// Connect Core §3.1.2.1), in the query and in `event.transaction.prompt` alike.
fn prompt_has<'a>(prompts: impl IntoIterator<Item = &'a str>, word: &str) -> bool {
    prompts
        .into_iter()
        .any(|p| p.split(' ').any(|value| value == word))
}

/// The values of one `/authorize` query parameter: a string, or each string of an
/// array (a repeated parameter).
fn query_values<'a>(query: Option<&'a Object>, name: &str) -> Vec<&'a str> {
    match query.and_then(|q| q.get(name)) {
        Some(Json::String(s)) => vec![s.as_str()],
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// True when `namespace` can prefix a custom claim: an `http://` or `https://` URL
/// whose host is not on a domain Auth0 reserves.
#[must_use]
pub fn valid_namespace(namespace: &str) -> bool {
    let Some(rest) = namespace
        .strip_prefix("https://")
        .or_else(|| namespace.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest
        .split(['/', ':', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    !host.is_empty()
        && !namespace.chars().any(|c| c.is_control() || c == ' ')
        && !RESERVED_CLAIM_DOMAINS.iter().any(|domain| {
            host.strip_suffix(domain)
                .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
        })
}

#[cfg(test)]
mod tests;
