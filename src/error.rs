//! The one error type of tokenseal.
//!
//! Every variant has a stable code (`ERR_...`) that the JavaScript boundary copies to
//! `error.code`, that the Action and the Rule log, and that backends match on. Messages
//! are fixed strings: no variant carries or prints input data, so no token, key or
//! plaintext can reach a log through an error.

use core::fmt;

/// Everything that can go wrong in tokenseal.
///
/// Shape errors are precise (they say which rule the input broke); everything that
/// happens after a key has been chosen collapses into [`Error::Decrypt`], so that a
/// caller who can submit sealed values learns nothing about why one failed to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The key set is not JSON, or not a JWK Set object with a `keys` array
    /// (RFC 7517 §5).
    KeySetNotJson,
    /// The key set's `keys` array is empty: there is no primary key to seal with.
    KeySetEmpty,
    /// A key's `kty` is missing or not `"oct"` (RFC 7518 §6.4).
    KeyType {
        /// Position of the offending key in the `keys` array.
        index: usize,
    },
    /// A key's `alg` is present and not `"A256GCM"` (RFC 7517 §4.4), or its `use` is
    /// present and not `"enc"` (RFC 7517 §4.2).
    KeyAlgorithm {
        /// Position of the offending key in the `keys` array.
        index: usize,
    },
    /// A key's `k` is missing or not canonical unpadded base64url (RFC 7518 §6.4.1).
    KeyEncoding {
        /// Position of the offending key in the `keys` array.
        index: usize,
    },
    /// A key's `k` does not decode to exactly 32 bytes (AES-256, RFC 7518 §5.3).
    KeyLength {
        /// Position of the offending key in the `keys` array.
        index: usize,
    },
    /// A key has no `kid`, or an empty or unprintable one: without it a sealed value
    /// could not name its key and opening would need trial decryption.
    KeyIdMissing {
        /// Position of the offending key in the `keys` array.
        index: usize,
    },
    /// Two keys share a `kid`, so a sealed value's `kid` would be ambiguous.
    KeyIdDuplicate {
        /// Position of the second key with that `kid`.
        index: usize,
    },
    /// The sealed value is not a JWE in compact serialization with `dir` key management:
    /// not five parts, a non-empty encrypted-key part, bad base64url, a wrong IV or tag
    /// length, or an oversized value (RFC 7516 §7.1).
    SealedMalformed,
    /// The protected header is not a JSON object, lacks a required member, repeats one,
    /// or uses `crit` or `zip`, which tokenseal does not implement (RFC 7516 §4.1.3,
    /// RFC 7515 §4.1.11).
    HeaderInvalid,
    /// The header's `typ` names a tokenseal format version this build does not know.
    VersionUnsupported,
    /// The header's `alg` is not `dir` or its `enc` is not `A256GCM` (RFC 7518 §4.5,
    /// §5.3).
    AlgorithmUnsupported,
    /// The sealed value is bound (`sub`) to a different user than the one expected.
    SubjectMismatch,
    /// The header's `kid` names no key in the key ring (for example a retired key).
    KeyUnknown,
    /// Authenticated decryption failed. Deliberately opaque: a wrong key, a changed
    /// header, IV, ciphertext or tag all look the same.
    Decrypt,
    /// A refresh token is empty, longer than [`crate::MAX_TOKEN_LEN`] bytes, or holds
    /// characters outside VSCHAR (RFC 6749 Appendix A.17).
    TokenInvalid,
    /// The user id to bind to is empty, too long, or holds control characters.
    UserIdInvalid,
    /// The user object does not have the shape Auth0 documents (not an object, no
    /// `user_id`, `identities` not an array, ...), or is nested too deeply to read.
    UserInvalid,
    /// The claim namespace is not an http(s) URL, or is on a domain Auth0 reserves
    /// (auth0.com, webtask.io, webtask.run).
    NamespaceInvalid,
    /// The login input handed to the decision function has the wrong shape.
    InputInvalid,
    /// The operating system or JavaScript host could not provide random bytes.
    Random,
    /// A setting in the Action's secrets has a value tokenseal does not know (for
    /// example `AUTH0_DOMAIN` with `http://` to a non-loopback host).
    ConfigInvalid,
    /// A Management API read is needed but `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID` or
    /// `AUTH0_CLIENT_SECRET` is missing.
    ConfigIncomplete,
    /// The Management API refused the client credentials or the token (401/403).
    ManagementUnauthorized,
    /// The Management API token lacks a scope tokenseal needs (`read:users`,
    /// `read:user_idp_tokens`), or the API answered 403.
    ManagementForbidden,
    /// A Management API call did not answer within its timeout.
    ManagementTimeout,
    /// The Management API was unreachable or answered 5xx, also after the retry.
    ManagementUnavailable,
    /// The Management API answered 429, also after the retry, or asked to wait longer
    /// than the login can.
    ManagementRateLimited,
    /// The Management API answered with another error status (for example 404).
    ManagementFailed,
    /// The Management API answered 2xx with a body that is not what Auth0 documents.
    ManagementResponse,
    /// The user's `app_metadata` holds no sealed Google refresh token.
    SealedMissing,
    /// Google answered `invalid_grant`: the refresh token is revoked or expired, and the
    /// user must go through Google consent again (`access_type=offline`,
    /// `prompt=consent`).
    ReconsentRequired,
    /// Google's token endpoint refused the request for another reason (for example
    /// `invalid_client`).
    ProviderRejected,
    /// Google's token endpoint was unreachable, rate limited or failing.
    ProviderUnavailable,
    /// Google's token endpoint answered with a body that is not an OAuth 2.0 token
    /// response.
    ProviderResponse,
    /// `app_metadata.refresh_token` holds the hex ciphertext the old rule's
    /// commented-out `crypto.createCipher('aes-256-cbc', ...)` advice produced, not a
    /// token: it is left exactly as it is (`tokenseal migrate` decrypts it).
    LegacyEncrypted,
    /// More than one identity of the provider (two linked Google accounts) carries a
    /// token; the one the login decision documents is captured.
    IdentityAmbiguous,
    /// A legacy `createCipher` value did not decrypt to a refresh token with
    /// `TOKENSEAL_LEGACY_PASSWORD` (a wrong password, almost always). One code for every
    /// cause, as for any decryption.
    LegacyDecrypt,
}

impl Error {
    /// The stable machine-readable code, e.g. `"ERR_DECRYPT"`.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::KeySetNotJson => "ERR_KEYSET_JSON",
            Self::KeySetEmpty => "ERR_KEYSET_EMPTY",
            Self::KeyType { .. } => "ERR_KEY_TYPE",
            Self::KeyAlgorithm { .. } => "ERR_KEY_ALG",
            Self::KeyEncoding { .. } => "ERR_KEY_ENCODING",
            Self::KeyLength { .. } => "ERR_KEY_LENGTH",
            Self::KeyIdMissing { .. } => "ERR_KEY_KID_MISSING",
            Self::KeyIdDuplicate { .. } => "ERR_KEY_KID_DUPLICATE",
            Self::SealedMalformed => "ERR_SEALED_MALFORMED",
            Self::HeaderInvalid => "ERR_HEADER_INVALID",
            Self::VersionUnsupported => "ERR_VERSION_UNSUPPORTED",
            Self::AlgorithmUnsupported => "ERR_ALG_UNSUPPORTED",
            Self::SubjectMismatch => "ERR_SUBJECT_MISMATCH",
            Self::KeyUnknown => "ERR_KEY_UNKNOWN",
            Self::Decrypt => "ERR_DECRYPT",
            Self::TokenInvalid => "ERR_TOKEN_INVALID",
            Self::UserIdInvalid => "ERR_USER_ID_INVALID",
            Self::UserInvalid => "ERR_USER_INVALID",
            Self::NamespaceInvalid => "ERR_NAMESPACE_INVALID",
            Self::InputInvalid => "ERR_INPUT_INVALID",
            Self::Random => "ERR_RANDOM",
            Self::ConfigInvalid => "ERR_CONFIG_INVALID",
            Self::ConfigIncomplete => "ERR_CONFIG_INCOMPLETE",
            Self::ManagementUnauthorized => "ERR_MGMT_UNAUTHORIZED",
            Self::ManagementForbidden => "ERR_MGMT_FORBIDDEN",
            Self::ManagementTimeout => "ERR_MGMT_TIMEOUT",
            Self::ManagementUnavailable => "ERR_MGMT_UNAVAILABLE",
            Self::ManagementRateLimited => "ERR_MGMT_RATE_LIMITED",
            Self::ManagementFailed => "ERR_MGMT_FAILED",
            Self::ManagementResponse => "ERR_MGMT_RESPONSE",
            Self::SealedMissing => "ERR_SEALED_MISSING",
            Self::ReconsentRequired => "ERR_RECONSENT_REQUIRED",
            Self::ProviderRejected => "ERR_PROVIDER_REJECTED",
            Self::ProviderUnavailable => "ERR_PROVIDER_UNAVAILABLE",
            Self::ProviderResponse => "ERR_PROVIDER_RESPONSE",
            Self::LegacyEncrypted => "ERR_LEGACY_ENCRYPTED",
            Self::IdentityAmbiguous => "ERR_IDENTITY_AMBIGUOUS",
            Self::LegacyDecrypt => "ERR_LEGACY_DECRYPT",
        }
    }

    /// A short human explanation. Fixed text: it never includes input data.
    #[must_use]
    pub const fn message(&self) -> &'static str {
        match self {
            Self::KeySetNotJson => "key set is not a JSON JWK Set with a \"keys\" array",
            Self::KeySetEmpty => "key set has no keys",
            Self::KeyType { .. } => "key kty must be \"oct\"",
            Self::KeyAlgorithm { .. } => "key alg must be \"A256GCM\" and use \"enc\" when present",
            Self::KeyEncoding { .. } => "key k must be unpadded base64url",
            Self::KeyLength { .. } => "key k must decode to 32 bytes",
            Self::KeyIdMissing { .. } => "key kid must be a non-empty printable string",
            Self::KeyIdDuplicate { .. } => "key kid is used twice",
            Self::SealedMalformed => "sealed value is not a compact dir JWE",
            Self::HeaderInvalid => "sealed value header is invalid",
            Self::VersionUnsupported => "sealed value format version is not supported",
            Self::AlgorithmUnsupported => "sealed value alg/enc is not dir/A256GCM",
            Self::SubjectMismatch => "sealed value belongs to another user",
            Self::KeyUnknown => "sealed value names a key that is not in the key ring",
            Self::Decrypt => "sealed value failed to decrypt",
            Self::TokenInvalid => "refresh token is empty, too long or not printable ASCII",
            Self::UserIdInvalid => "user id is empty, too long or not printable",
            Self::UserInvalid => "user object does not have Auth0's shape",
            Self::NamespaceInvalid => {
                "claim namespace must be an http(s) URL outside Auth0's reserved domains"
            }
            Self::InputInvalid => "login input does not have the documented shape",
            Self::Random => "no random bytes available",
            Self::ConfigInvalid => "a tokenseal secret has an unsupported value",
            Self::ConfigIncomplete => "AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET are needed to read IdP tokens",
            Self::ManagementUnauthorized => "the Management API refused the client credentials or token",
            Self::ManagementForbidden => "the Management API token lacks a scope this call needs",
            Self::ManagementTimeout => "the Management API did not answer in time",
            Self::ManagementUnavailable => "the Management API is unreachable or failing",
            Self::ManagementRateLimited => "the Management API rate limit was hit",
            Self::ManagementFailed => "the Management API answered with an error",
            Self::ManagementResponse => "the Management API answer has an unexpected shape",
            Self::SealedMissing => "no sealed Google refresh token is stored for this user",
            Self::ReconsentRequired => "Google refused the refresh token: the user must consent again",
            Self::ProviderRejected => "Google's token endpoint refused the request",
            Self::ProviderUnavailable => "Google's token endpoint is unreachable or failing",
            Self::ProviderResponse => "Google's token endpoint answered with an unexpected body",
            Self::LegacyEncrypted => "the legacy refresh_token holds the old rule's ciphertext, not a token",
            Self::IdentityAmbiguous => "more than one identity of the provider carries a token",
            Self::LegacyDecrypt => "the legacy refresh_token did not decrypt with the legacy password",
        }
    }

    /// Position of the key in the key set that caused the error, for key-set errors.
    #[must_use]
    pub const fn key_index(&self) -> Option<usize> {
        match self {
            Self::KeyType { index }
            | Self::KeyAlgorithm { index }
            | Self::KeyEncoding { index }
            | Self::KeyLength { index }
            | Self::KeyIdMissing { index }
            | Self::KeyIdDuplicate { index } => Some(*index),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())?;
        f.write_str(": ")?;
        f.write_str(self.message())?;
        if let Some(index) = self.key_index() {
            write!(f, " (keys[{index}])")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
