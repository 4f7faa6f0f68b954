//! The login decision: everything the Action and the Rule do, decided once, here.
//!
//! [`plan_login`] is pure. It takes what a login knows (the user, its stored
//! `app_metadata`, the identities of a Management API read if one was made, the key
//! ring, the login facts and the options) plus the time and an IV, and returns a
//! [`LoginPlan`]: every effect the JavaScript shims must carry out. The shims only do
//! I/O: read the user when the plan says so (and plan again), write the metadata,
//! set the claims, hand on the sanitized user.

use crate::json::{Json, Object};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::jwe::{self, Nonce};
use crate::keys::KeyRing;
use crate::sanitize::sanitize;
use crate::token::RefreshToken;
use crate::user::{SecretField, User, GOOGLE_PROVIDER};

/// The `app_metadata` member that holds sealed values, one per provider.
pub const SEALED_KEY: &str = "sealed_refresh_tokens";
/// The `app_metadata` member where the old "Store Google Refresh Token" rule kept the
/// token in plain text.
pub const LEGACY_KEY: &str = "refresh_token";
/// The claim name appended to the configured namespace.
pub const CLAIM_NAME: &str = "google_offline_access";
/// Domains Auth0 reserves for its own claims; a namespace on them is dropped silently by
/// Auth0, so tokenseal refuses it loudly instead (Auth0 docs, "Create Namespaced Custom
/// Claims").
pub const RESERVED_CLAIM_DOMAINS: &[&str] = &["auth0.com", "webtask.io", "webtask.run"];

/// When the Action should read the user through the Management API to see `IdP` tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReadPolicy {
    /// Never read (Rules see the tokens in `user.identities` directly).
    Never,
    /// Read only when this login could carry a new token (see [`plan_login`]).
    #[default]
    Auto,
    /// Read on every login through the Google connection (`TOKENSEAL_FETCH=always`).
    Always,
}

/// Everything a login knows, as the shims hand it over (camelCase in JavaScript).
#[derive(Debug, Clone)]
pub struct LoginInput {
    /// The user of this login: a Rule's `user` or an Action's `event.user`. Its
    /// `app_metadata` is the stored state.
    pub user: User,
    /// The same user as the JSON document it came as; the sanitized copy is made from
    /// it, so member order, `null`s and everything else stay as they came. `null` when
    /// `sanitize` is false.
    pub user_document: Json,
    /// The same user read through `GET /api/v2/users/{id}`, when the shim made that
    /// read; its identities carry the `IdP` tokens.
    pub fresh_user: Option<User>,
    /// `event.connection.strategy` (Actions) or `context.connectionStrategy` (Rules).
    pub connection_strategy: Option<String>,
    /// `event.stats.logins_count` / `context.stats.loginsCount`; 1 on the first login.
    pub logins_count: Option<u64>,
    /// The `/authorize` query (`event.request.query`, `context.request.query`).
    pub authorize_query: Option<Object>,
    /// `event.transaction.prompt`: the prompts of this transaction, which also holds
    /// what a pushed or form-posted authorization request asked for.
    pub transaction_prompt: Vec<String>,
    /// Whether the plan carries the sanitized user (Rules hand it on; an Action,
    /// which cannot change what the client sees that way, skips the work).
    pub sanitize: bool,
    /// When to read the user through the Management API.
    pub read: ReadPolicy,
    /// Namespace for the status claim (`TOKENSEAL_CLAIM_NAMESPACE`), if configured.
    pub claim_namespace: Option<String>,
}

impl LoginInput {
    /// Reads the input as the shims send it: `{ user, freshUser, connectionStrategy,
    /// loginsCount, authorizeQuery, read, claimNamespace }`. Absent and `null` members
    /// take their defaults; an unknown member is an error, so a misspelt option is not
    /// silently ignored.
    ///
    /// # Errors
    /// [`Error::UserInvalid`] when `user` or `freshUser` is not an Auth0 user,
    /// [`Error::InputInvalid`] for anything else of the wrong shape.
    pub fn from_value(value: Json) -> Result<Self> {
        let Json::Object(fields) = value else {
            return Err(Error::InputInvalid);
        };
        let mut user_value = None;
        let mut fresh_user = None;
        let mut connection_strategy = None;
        let mut logins_count = None;
        let mut authorize_query = None;
        let mut transaction_prompt = Vec::new();
        let mut sanitize = true;
        let mut read = ReadPolicy::Auto;
        let mut claim_namespace = None;
        for (name, value) in fields {
            match (name.as_str(), value) {
                (_, Json::Null) => {}
                ("user", value) => user_value = Some(value),
                ("freshUser", value) => fresh_user = Some(User::from_value(value)?),
                ("connectionStrategy", Json::String(s)) => connection_strategy = Some(s),
                ("loginsCount", Json::Number(n)) => {
                    logins_count = Some(n.as_u64().ok_or(Error::InputInvalid)?)
                }
                ("authorizeQuery", Json::Object(query)) => authorize_query = Some(query),
                ("transactionPrompt", Json::Array(prompts)) => {
                    transaction_prompt = prompts
                        .into_iter()
                        .map(|p| match p {
                            Json::String(p) => Ok(p),
                            _ => Err(Error::InputInvalid),
                        })
                        .collect::<Result<_>>()?;
                }
                ("sanitize", Json::Bool(b)) => sanitize = b,
                ("read", Json::String(policy)) => {
                    read = match policy.as_str() {
                        "never" => ReadPolicy::Never,
                        "auto" => ReadPolicy::Auto,
                        "always" => ReadPolicy::Always,
                        _ => return Err(Error::InputInvalid),
                    }
                }
                ("claimNamespace", Json::String(s)) => claim_namespace = Some(s),
                _ => return Err(Error::InputInvalid),
            }
        }
        // The document is kept only when a sanitized copy is wanted: copying a large
        // user costs more than the rest of a returning login's plan.
        let user_value = user_value.ok_or(Error::UserInvalid)?;
        let user_document = if sanitize {
            user_value.clone()
        } else {
            Json::Null
        };
        Ok(Self {
            user: User::from_value(user_value)?,
            user_document,
            fresh_user,
            connection_strategy,
            logins_count,
            authorize_query,
            transaction_prompt,
            sanitize,
            read,
            claim_namespace,
        })
    }
}

/// Whether the app's backend can use Google offline access for this user after the
/// login; the value of the `<namespace>google_offline_access` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OfflineAccess {
    /// A sealed value that opens under the key ring, bound to this user, is stored.
    Stored,
    /// No usable sealed value: the app should send the user through Google consent.
    Missing,
}

/// What happened to the stored value, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The user has no Google identity: nothing is done.
    NotGoogle,
    /// A fresh token was sealed where no sealed value was stored.
    Sealed,
    /// A fresh token replaced a different or unreadable stored value.
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetadataWrite {
    /// Top-level `app_metadata` member.
    pub key: &'static str,
    /// New value, or `null` to delete.
    pub value: Json,
}

/// One `api.idToken.setCustomClaim(name, value)` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// Namespaced claim name.
    pub name: String,
    /// Claim value, `"stored"` or `"missing"`.
    pub value: OfflineAccess,
}

/// Every effect of a login, for the shims to carry out in order: read (then plan
/// again), write, claim, hand on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginPlan {
    /// The shim should read the user through the Management API and call
    /// [`plan_login`] again with `fresh_user`. The rest of this plan is still valid if
    /// that read fails.
    pub read_user: bool,
    /// What happens to the stored value.
    pub outcome: Outcome,
    /// `app_metadata` writes for an Action, in order. Empty when nothing changes.
    pub metadata_writes: Vec<MetadataWrite>,
    /// The whole `app_metadata` after the writes, for a Rule's
    /// `auth0.users.updateAppMetadata`; deleted members are `null`, which deletes them
    /// under the Management API's merge semantics. `None` when nothing changes.
    pub app_metadata: Option<Object>,
    /// Status for users with a Google identity; `None` for everyone else.
    pub offline_access: Option<OfflineAccess>,
    /// ID token claims to set.
    pub claims: Vec<Claim>,
    /// Codes of problems found and handled without failing the login (for example
    /// `ERR_DECRYPT` for a stored value that does not open). Safe to log.
    pub notices: Vec<&'static str>,
    /// The user with every token and sealed value removed (see [`crate::sanitize`]);
    /// `None` when the input asked for none.
    pub sanitized_user: Option<Json>,
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
            Self::NotGoogle => "not_google",
            Self::Sealed => "sealed",
            Self::Replaced => "replaced",
            Self::Rotated => "rotated",
            Self::Migrated => "migrated",
            Self::Unchanged => "unchanged",
            Self::Missing => "missing",
        }
    }
}

impl LoginPlan {
    /// The plan as the JSON the shims receive, member names in camelCase, the same as
    /// its serde serialization. Consumes the plan: the metadata and the sanitized user
    /// can be whole user documents, and are moved rather than copied.
    #[must_use]
    pub fn into_json(self) -> Json {
        let writes = self
            .metadata_writes
            .into_iter()
            .map(|w| {
                let mut o = Object::new();
                o.insert("key", Json::from(w.key));
                o.insert("value", w.value);
                Json::Object(o)
            })
            .collect();
        let claims = self
            .claims
            .into_iter()
            .map(|c| {
                let mut o = Object::new();
                o.insert("name", Json::from(c.name));
                o.insert("value", Json::from(c.value.as_str()));
                Json::Object(o)
            })
            .collect();
        let mut plan = Object::new();
        plan.insert("readUser", Json::from(self.read_user));
        plan.insert("outcome", Json::from(self.outcome.as_str()));
        plan.insert("metadataWrites", Json::Array(writes));
        plan.insert("appMetadata", Json::from(self.app_metadata));
        plan.insert(
            "offlineAccess",
            Json::from(self.offline_access.map(OfflineAccess::as_str)),
        );
        plan.insert("claims", Json::Array(claims));
        plan.insert(
            "notices",
            Json::Array(self.notices.into_iter().map(Json::from).collect()),
        );
        plan.insert("sanitizedUser", Json::from(self.sanitized_user));
        Json::Object(plan)
    }
}

/// The `sealed_refresh_tokens` object and what its Google entry holds.
struct StoredState {
    sealed_map: Object,
    stored: Stored,
}

/// Reads the stored sealed value of `app_metadata`; a value that does not open adds its
/// error code to `notices`.
fn read_stored(
    metadata: &Object,
    keys: &KeyRing,
    user_id: &str,
    notices: &mut Vec<&'static str>,
) -> Result<StoredState> {
    let sealed_map = match metadata.get(SEALED_KEY) {
        None | Some(Json::Null) => Object::new(),
        Some(Json::Object(map)) => map.clone(),
        Some(_) => return Err(Error::UserInvalid),
    };
    let stored = match sealed_map.get(GOOGLE_PROVIDER) {
        None | Some(Json::Null) => Stored::Absent,
        Some(value) => match value
            .as_str()
            .ok_or(Error::SealedMalformed)
            .and_then(|sealed| {
                let (token, header) = jwe::open_with_header(sealed, keys, user_id)?;
                let under_primary = header.kid == keys.primary().kid();
                Ok(Stored::Valid {
                    token,
                    under_primary,
                })
            }) {
            Ok(valid) => valid,
            Err(error) => {
                notices.push(error.code());
                Stored::Unreadable
            }
        },
    };
    Ok(StoredState { sealed_map, stored })
}

/// Reads the legacy plaintext token; a value that is not a token adds a notice.
fn read_legacy(metadata: &Object, notices: &mut Vec<&'static str>) -> Option<RefreshToken> {
    match metadata.get(LEGACY_KEY) {
        None | Some(Json::Null) => None,
        Some(value) => {
            let token = SecretField::new(value.clone()).refresh_token();
            if token.is_err() {
                notices.push(Error::TokenInvalid.code());
            }
            token.ok()
        }
    }
}

/// What the migration command does for one user found with plaintext.
#[derive(Debug, Clone, PartialEq)]
pub enum Migration {
    /// Nothing to do: no plaintext (the search index was stale, or the user was
    /// migrated meanwhile).
    NothingToDo,
    /// PATCH `app_metadata` with this object (Management API top-level merge): the
    /// sealed map with the Google value, and/or `refresh_token: null`.
    Patch {
        /// The `app_metadata` members to set; `null` deletes.
        app_metadata: Object,
        /// True when a new sealed value is written; false when a valid one was already
        /// stored and only the plaintext goes.
        sealed: bool,
    },
    /// Left as it is, with the reason: a plaintext that is not a token
    /// (`ERR_TOKEN_INVALID`), or a stored sealed value that does not open, which is
    /// never overwritten without a token read for the user.
    Skip(&'static str),
}

/// Decides the migration of one user's legacy plaintext `app_metadata.refresh_token`,
/// with the same rules as [`plan_login`]: seal it bound to `user.user_id` when nothing
/// valid is stored, delete it only in the same write that keeps a valid sealed value,
/// and never overwrite a stored value that does not open. Unlike a login, a Google
/// identity is not required: the old rule's plaintext is a Google token wherever it is.
///
/// # Errors
/// [`Error::UserIdInvalid`] and [`Error::UserInvalid`] as for [`plan_login`].
pub fn plan_migration(user: &User, keys: &KeyRing, now: u64, iv: Nonce) -> Result<Migration> {
    jwe::validate_sub(&user.user_id)?;
    let metadata = user.app_metadata.clone().unwrap_or_default();
    let mut notices = Vec::new();
    let Some(legacy) = read_legacy(&metadata, &mut notices) else {
        return Ok(match notices.first() {
            Some(code) => Migration::Skip(code),
            None => Migration::NothingToDo,
        });
    };
    let StoredState {
        mut sealed_map,
        stored,
    } = read_stored(&metadata, keys, &user.user_id, &mut notices)?;
    let mut app_metadata = Object::new();
    let sealed = match stored {
        Stored::Unreadable => {
            return Ok(Migration::Skip(
                notices.first().copied().unwrap_or(Error::Decrypt.code()),
            ))
        }
        Stored::Valid { .. } => false,
        Stored::Absent => {
            sealed_map.insert(
                GOOGLE_PROVIDER,
                Json::String(jwe::seal(&legacy, keys, &user.user_id, now, iv)?),
            );
            app_metadata.insert(SEALED_KEY, Json::Object(sealed_map));
            true
        }
    };
    app_metadata.insert(LEGACY_KEY, Json::Null);
    Ok(Migration::Patch {
        app_metadata,
        sealed,
    })
}

/// The stored sealed value, once looked at.
enum Stored {
    Absent,
    Valid {
        token: RefreshToken,
        under_primary: bool,
    },
    Unreadable,
}

/// Decides everything a login does.
///
/// The rules, in the order they apply:
/// - The Google identity is the first identity with `provider == "google-oauth2"`,
///   primary or linked. Without one the plan does nothing ([`Outcome::NotGoogle`]).
/// - Sealed values are bound to `user.user_id` (the primary user) and stored at
///   `app_metadata.sealed_refresh_tokens["google-oauth2"]`; other providers' entries
///   are kept.
/// - A fresh token (from `fresh_user` if given, else from `user`) is sealed when it
///   differs from the stored token (compared after opening). No token never deletes or
///   overwrites anything. A valid value sealed under a non-primary key is re-sealed
///   under the primary.
/// - A stored value that does not open, or is bound to another user, is kept as it is,
///   never re-bound; only a fresh token replaces it.
/// - Legacy plaintext `app_metadata.refresh_token` is sealed when nothing better is
///   stored, and deleted only in a plan that also holds a valid sealed value.
/// - A Management API read is requested (policy [`ReadPolicy::Auto`]) only when the
///   login went through the Google connection and could carry a new token: a first
///   login, no valid sealed value even after this plan (nothing stored and no legacy
///   plaintext to seal, or a stored value that does not open, which only a token read
///   for the user may replace), or an authorize request for consent or new scopes
///   (`prompt` containing `consent`, `approval_prompt=force`, `connection_scope`).
///
/// `now` (seconds since the epoch) becomes the sealed value's `iat`. `iv` supplies the
/// IV of the one seal a plan can hold: pass [`Nonce::random`]. It is called at most once,
/// and only when the plan seals, so that the common login, which keeps what is stored,
/// costs no randomness (in Node, a `getRandomValues` call is about 1.2 µs of a 20 µs
/// login) and cannot fail for want of it.
///
/// `keys` is the key ring, or the error that reading it gave: a login without a Google
/// identity does not need keys, so a broken key set only adds its code to the notices.
///
/// # Errors
/// The key ring's error for a user with a Google identity; `iv`'s error (such as
/// [`Error::Random`]) when the plan seals; [`Error::UserIdInvalid`]
/// when `user.user_id` cannot be bound; [`Error::UserInvalid`] when
/// `app_metadata.sealed_refresh_tokens` is not an object (tokenseal will not overwrite
/// what it cannot read).
pub fn plan_login(
    input: &LoginInput,
    keys: Result<&KeyRing>,
    now: u64,
    iv: impl FnOnce() -> Result<Nonce>,
) -> Result<LoginPlan> {
    let user = &input.user;
    jwe::validate_sub(&user.user_id)?;
    let sanitized_user = if input.sanitize {
        Some(sanitize(&input.user_document)?)
    } else {
        None
    };
    let mut notices = Vec::new();

    // A read of some other user must never lend its tokens to this one.
    let fresh_user = match &input.fresh_user {
        Some(fresh) if fresh.user_id != user.user_id => {
            notices.push(Error::InputInvalid.code());
            None
        }
        other => other.as_ref(),
    };
    let has_google = user.google_identity().is_some()
        || fresh_user.is_some_and(|f| f.google_identity().is_some());
    if !has_google {
        // Nothing to seal or open: a broken key set is reported, but does not fail (or,
        // in deny mode, block) this login.
        if let Err(error) = keys {
            notices.push(error.code());
        }
        return Ok(LoginPlan {
            read_user: false,
            outcome: Outcome::NotGoogle,
            metadata_writes: Vec::new(),
            app_metadata: None,
            offline_access: None,
            claims: Vec::new(),
            notices,
            sanitized_user,
        });
    }
    let keys = keys?;

    let metadata = user.app_metadata.clone().unwrap_or_default();
    let StoredState { sealed_map, stored } =
        read_stored(&metadata, keys, &user.user_id, &mut notices)?;
    let legacy = read_legacy(&metadata, &mut notices);
    let fresh = fresh_user
        .unwrap_or(user)
        .google_identity()
        .and_then(|identity| identity.refresh_token.as_ref())
        .filter(|field| !field.is_null())
        .and_then(|field| match field.refresh_token() {
            Ok(token) => Some(token),
            Err(error) => {
                notices.push(error.code());
                None
            }
        });

    // Which token, if any, gets sealed now, and what that is called.
    let (to_seal, outcome) = match (fresh, &stored) {
        (
            Some(fresh),
            Stored::Valid {
                token,
                under_primary,
            },
        ) if fresh == *token => {
            if *under_primary {
                (None, Outcome::Unchanged)
            } else {
                (Some(fresh), Outcome::Rotated)
            }
        }
        (Some(fresh), Stored::Valid { .. } | Stored::Unreadable) => {
            (Some(fresh), Outcome::Replaced)
        }
        (Some(fresh), Stored::Absent) => (Some(fresh), Outcome::Sealed),
        (
            None,
            Stored::Valid {
                under_primary: true,
                ..
            },
        ) => (None, Outcome::Unchanged),
        (None, Stored::Valid { token, .. }) => (Some(token.clone()), Outcome::Rotated),
        (None, Stored::Absent) => match legacy.clone() {
            Some(token) => (Some(token), Outcome::Migrated),
            None => (None, Outcome::Missing),
        },
        (None, Stored::Unreadable) => (None, Outcome::Missing),
    };

    let mut metadata_writes = Vec::new();
    let mut new_sealed_map = None;
    if let Some(token) = &to_seal {
        let sealed = jwe::seal(token, keys, &user.user_id, now, iv()?)?;
        let mut map = sealed_map;
        map.insert(GOOGLE_PROVIDER.to_owned(), Json::String(sealed));
        new_sealed_map = Some(map);
    }
    let valid_after = new_sealed_map.is_some() || matches!(stored, Stored::Valid { .. });
    if let Some(map) = &new_sealed_map {
        metadata_writes.push(MetadataWrite {
            key: SEALED_KEY,
            value: Json::Object(map.clone()),
        });
    }
    // The plaintext goes only in a plan that keeps a valid sealed value.
    if legacy.is_some() && valid_after {
        metadata_writes.push(MetadataWrite {
            key: LEGACY_KEY,
            value: Json::Null,
        });
    }
    let app_metadata = (!metadata_writes.is_empty()).then(|| {
        let mut updated = metadata;
        for write in &metadata_writes {
            updated.insert(write.key.to_owned(), write.value.clone());
        }
        updated
    });

    let status = if valid_after {
        OfflineAccess::Stored
    } else {
        OfflineAccess::Missing
    };
    let mut claims = Vec::new();
    if let Some(namespace) = &input.claim_namespace {
        if valid_namespace(namespace) {
            claims.push(Claim {
                name: [namespace.as_str(), CLAIM_NAME].concat(),
                value: status,
            });
        } else {
            notices.push(Error::NamespaceInvalid.code());
        }
    }

    let read_user = fresh_user.is_none()
        && input.connection_strategy.as_deref() == Some(GOOGLE_PROVIDER)
        && match input.read {
            ReadPolicy::Never => false,
            ReadPolicy::Always => true,
            ReadPolicy::Auto => {
                input.logins_count.is_some_and(|n| n <= 1)
                    || !valid_after
                    || consent_requested(input.authorize_query.as_ref())
                    || input.transaction_prompt.iter().any(|p| p == "consent")
            }
        };

    Ok(LoginPlan {
        read_user,
        outcome,
        metadata_writes,
        app_metadata,
        offline_access: Some(status),
        claims,
        notices,
        sanitized_user,
    })
}

/// The sealed Google value stored in a user's `app_metadata`, given either the
/// `app_metadata` object or the whole user.
#[must_use]
pub fn stored_sealed_value(app_metadata_or_user: &Json) -> Option<&str> {
    let app_metadata = match app_metadata_or_user.get("app_metadata") {
        Some(inner @ Json::Object(_)) => inner,
        _ => app_metadata_or_user,
    };
    app_metadata.get(SEALED_KEY)?.get(GOOGLE_PROVIDER)?.as_str()
}

/// True when the `/authorize` request could make Google show its consent screen and so
/// issue a new refresh token: `prompt` lists `consent` (`OpenID` Connect Core §3.1.2.1,
/// space-delimited), the deprecated `approval_prompt=force`, or `connection_scope`
/// asks for scopes (Auth0 forwards it to Google as additional scopes).
#[must_use]
pub fn consent_requested(query: Option<&Object>) -> bool {
    let Some(query) = query else { return false };
    let values = |name: &str| -> Vec<&str> {
        match query.get(name) {
            Some(Json::String(s)) => vec![s.as_str()],
            Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        }
    };
    values("prompt")
        .iter()
        .any(|p| p.split(' ').any(|v| v == "consent"))
        || values("approval_prompt").contains(&"force")
        || values("connection_scope")
            .iter()
            .any(|s| !s.trim().is_empty())
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
