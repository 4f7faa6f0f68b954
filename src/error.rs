//! tokenseal's errors: [`Error`], every failure with its stable code, and one narrower
//! type per operation, as `age` has (`KeySetError` for reading a key set, `OpenError`
//! for opening a sealed value, `RefreshError` for a token endpoint's answer), each a
//! subset of [`Error`]'s variants with `From` into it, so a caller can match exactly the
//! failures an operation has and still `?` into [`Error`].
//!
//! Every variant has a stable code (`ERR_...`) that the JavaScript boundary copies to
//! `error.code`, that the Action and the Rule log, and that backends match on. Messages
//! are fixed strings: no variant carries or prints input data, so no token, key or
//! plaintext can reach a log through an error.

use core::fmt;

/// Defines [`Error`], its [`Error::code`] and [`Error::message`], [`CODES`] and
/// `ERROR_CODE_TS` from one list, so a code cannot be added in one table and
/// forgotten in another. `host` lists the codes only the JavaScript hosts raise (they
/// have no Rust variant, since the core never meets those faults) so that they, too,
/// are defined here once. `core` lists the Rust variants.
macro_rules! errors {
    (
        core {
            $(
                $(#[$meta:meta])*
            $variant:ident $({ $(#[$field_meta:meta])* $field:ident: $field_ty:ty })?
                    => $code:literal, $message:literal;
            )*
        }
        host {
            $( $host_code:literal; )*
        }
    ) => {
        /// Everything that can go wrong in tokenseal.
        ///
        /// Shape errors are precise (they say which rule the input broke); everything
        /// that happens after a key has been chosen collapses into [`Error::Decrypt`], so
        /// that a caller who can submit sealed values learns nothing about why one
        /// failed to open.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Error {
            $(
                $(#[$meta])*
                $variant $({ $(#[$field_meta])* $field: $field_ty })?,
            )*
        }

        impl Error {
            /// The stable machine-readable code, e.g. `"ERR_DECRYPT"`.
            #[must_use]
            pub const fn code(&self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => $code, )*
                }
            }

            /// A short human explanation. Fixed text: it never includes input data.
            #[must_use]
            pub const fn message(&self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => $message, )*
                }
            }
        }

        /// Every stable error code, the Rust variants' first and then the codes only
        /// the JavaScript hosts raise. Public contract: codes are added, never renamed.
        pub const CODES: &[&str] = &[$($code,)* $($host_code,)*];

        /// The TypeScript declaration of [`CODES`] as a closed union, `ErrorCode`,
        /// emitted into the package's `.d.ts` by the boundary. Hidden: its text is for
        /// `src/wasm.rs`, not an API (public only because wasm-bindgen's custom section
        /// does not count as a use, so a crate-private const would be dead code).
        #[doc(hidden)]
        pub const ERROR_CODE_TS: &str = concat!(
            "/** Every stable `error.code` tokenseal raises (README, \"Error codes\"). */\n",
            "export type ErrorCode =",
            $("\n  | \"", $code, "\"",)*
            $("\n  | \"", $host_code, "\"",)*
            ";\n"
        );
    };
}

errors! {
    core {
    /// The key set is not JSON, or not a JWK Set object with a `keys` array
    /// (RFC 7517 §5).
    KeySetNotJson => "ERR_KEYSET_JSON", "key set is not a JSON JWK Set with a \"keys\" array";
    /// The key set's `keys` array is empty: there is no primary key to seal with.
    KeySetEmpty => "ERR_KEYSET_EMPTY", "key set has no keys";
    /// A key's `kty` is missing or not `"oct"` (RFC 7518 §6.4).
    KeyType {
        /// Position of the offending key in the `keys` array.
        index: usize
    } => "ERR_KEY_TYPE", "key kty must be \"oct\"";
    /// A key's `alg` is present and not `"A256GCM"` (RFC 7517 §4.4), or its `use` is
    /// present and not `"enc"` (RFC 7517 §4.2).
    KeyAlgorithm {
        /// Position of the offending key in the `keys` array.
        index: usize
    } => "ERR_KEY_ALG", "key alg must be \"A256GCM\" and use \"enc\" when present";
    /// A key's `k` is missing or not canonical unpadded base64url (RFC 7518 §6.4.1).
    KeyEncoding {
        /// Position of the offending key in the `keys` array.
        index: usize
    } => "ERR_KEY_ENCODING", "key k must be unpadded base64url";
    /// A key's `k` does not decode to exactly 32 bytes (AES-256, RFC 7518 §5.3).
    KeyLength {
        /// Position of the offending key in the `keys` array.
        index: usize
    } => "ERR_KEY_LENGTH", "key k must decode to 32 bytes";
    /// A key has no `kid`, or an empty or unprintable one: without it a sealed value
    /// could not name its key and opening would need trial decryption.
    KeyIdMissing {
        /// Position of the offending key in the `keys` array.
        index: usize
    } => "ERR_KEY_KID_MISSING", "key kid must be a non-empty printable string";
    /// Two keys share a `kid`, so a sealed value's `kid` would be ambiguous.
    KeyIdDuplicate {
        /// Position of the second key with that `kid`.
        index: usize
    } => "ERR_KEY_KID_DUPLICATE", "key kid is used twice";
    /// The sealed value is not a JWE in compact serialization with `dir` key management:
    /// not five parts, a non-empty encrypted-key part, bad base64url, a wrong IV or tag
    /// length, or an oversized value (RFC 7516 §7.1).
    SealedMalformed => "ERR_SEALED_MALFORMED", "sealed value is not a compact dir JWE";
    /// The protected header is not a JSON object, lacks a required member, repeats one,
    /// or uses `crit` or `zip`, which tokenseal does not implement (RFC 7516 §4.1.3,
    /// RFC 7515 §4.1.11).
    HeaderInvalid => "ERR_HEADER_INVALID", "sealed value header is invalid";
    /// The header's `typ` names a tokenseal format version this build does not know.
    VersionUnsupported => "ERR_VERSION_UNSUPPORTED", "sealed value format version is not supported";
    /// The header's `alg` is not `dir` or its `enc` is not `A256GCM` (RFC 7518 §4.5,
    /// §5.3).
    AlgorithmUnsupported => "ERR_ALG_UNSUPPORTED", "sealed value alg/enc is not dir/A256GCM";
    /// The sealed value is bound (`sub`) to a different user than the one expected.
    SubjectMismatch => "ERR_SUBJECT_MISMATCH", "sealed value belongs to another user";
    /// The sealed value is bound (`idp`) to another provider than the one whose member
    /// it was read from: a value moved from one provider's entry to another's.
    ProviderMismatch => "ERR_PROVIDER_MISMATCH", "sealed value belongs to another provider";
    /// The header's `kid` names no key in the key ring (for example a retired key).
    KeyUnknown => "ERR_KEY_UNKNOWN", "sealed value names a key that is not in the key ring";
    /// Authenticated decryption failed. Deliberately opaque: a wrong key, a changed
    /// header, IV, ciphertext or tag all look the same.
    Decrypt => "ERR_DECRYPT", "sealed value failed to decrypt";
    /// A refresh token is empty, longer than [`crate::MAX_TOKEN_LEN`] bytes, or holds
    /// characters outside VSCHAR (RFC 6749 Appendix A.17).
    TokenInvalid => "ERR_TOKEN_INVALID", "refresh token is empty, too long or not printable ASCII";
    /// The user id to bind to is empty, too long, or holds control characters.
    UserIdInvalid => "ERR_USER_ID_INVALID", "user id is empty, too long or not printable";
    /// The user object does not have the shape Auth0 documents (not an object, no
    /// `user_id`, `identities` not an array, ...), or is nested too deeply to read.
    UserInvalid => "ERR_USER_INVALID", "user object does not have Auth0's shape";
    /// The claim namespace is not an http(s) URL, or is on a domain Auth0 reserves
    /// (auth0.com, webtask.io, webtask.run).
    NamespaceInvalid => "ERR_NAMESPACE_INVALID", "claim namespace must be an http(s) URL outside Auth0's reserved domains";
    /// The login input handed to the decision function has the wrong shape.
    InputInvalid => "ERR_INPUT_INVALID", "login input does not have the documented shape";
    /// The operating system or JavaScript host could not provide random bytes.
    Random => "ERR_RANDOM", "no random bytes available";
    /// A setting in the Action's secrets has a value tokenseal does not know (for
    /// example `AUTH0_DOMAIN` with `http://` to a non-loopback host).
    ConfigInvalid => "ERR_CONFIG_INVALID", "a tokenseal setting has an unsupported value";
    /// A setting tokenseal needs is missing: the Action's `AUTH0_DOMAIN`,
    /// `AUTH0_CLIENT_ID` or `AUTH0_CLIENT_SECRET` when a Management API read is needed;
    /// a backend provider without a token endpoint (no default, no `tokenEndpoint`, no
    /// `issuer`) or without the `scope` its refresh needs; a user id with neither
    /// `loadUser` nor `management` to load it.
    ConfigIncomplete => "ERR_CONFIG_INCOMPLETE", "a setting tokenseal needs is missing";
    /// A provider's discovery document (OpenID Connect Discovery 1.0, RFC 8414) is not
    /// usable: not a JSON object, an `issuer` other than the one configured (RFC 8414
    /// §3.3: "MUST NOT be used"), or no `token_endpoint` tokenseal may send secrets to.
    DiscoveryInvalid => "ERR_DISCOVERY_INVALID", "the issuer's discovery document is not usable";
    /// The Management API refused the client credentials or the token (401/403).
    ManagementUnauthorized => "ERR_MGMT_UNAUTHORIZED", "the Management API refused the client credentials or token";
    /// The Management API token lacks a scope tokenseal needs (`read:users`,
    /// `read:user_idp_tokens`), or the API answered 403.
    ManagementForbidden => "ERR_MGMT_FORBIDDEN", "the Management API token lacks a scope this call needs";
    /// A Management API call did not answer within its timeout.
    ManagementTimeout => "ERR_MGMT_TIMEOUT", "the Management API did not answer in time";
    /// The Management API was unreachable or answered 5xx, also after the retry.
    ManagementUnavailable => "ERR_MGMT_UNAVAILABLE", "the Management API is unreachable or failing";
    /// The Management API answered 429, also after the retry, or asked to wait longer
    /// than the login can.
    ManagementRateLimited => "ERR_MGMT_RATE_LIMITED", "the Management API rate limit was hit";
    /// The Management API answered with another error status (for example 404).
    ManagementFailed => "ERR_MGMT_FAILED", "the Management API answered with an error";
    /// The Management API answered 2xx with a body that is not what Auth0 documents.
    ManagementResponse => "ERR_MGMT_RESPONSE", "the Management API answer has an unexpected shape";
    /// The user's `app_metadata` holds no sealed refresh token for the provider.
    SealedMissing => "ERR_SEALED_MISSING", "no sealed refresh token is stored for this user";
    /// The provider's token endpoint refused the refresh token in a way its entry maps
    /// to consent (Google: `invalid_grant`, the token is revoked or expired): the user
    /// must go through the provider's consent again (`Provider::reconsent_params`).
    ReconsentRequired => "ERR_RECONSENT_REQUIRED", "the provider refused the refresh token: the user must consent again";
    /// The provider's token endpoint refused the request for a reason no entry maps
    /// (for example `invalid_request` or `invalid_scope`).
    ProviderRejected => "ERR_PROVIDER_REJECTED", "the provider's token endpoint refused the request";
    /// The provider refused the app's OAuth client (`invalid_client`,
    /// `unauthorized_client`, RFC 6749 §5.2): a configuration fault of the app, not of
    /// the user's token, so no stored token is ever cleared because of it.
    ClientRejected => "ERR_CLIENT_REJECTED", "the provider refused the app's OAuth client: check its id, secret and type";
    /// An administrator's policy blocks the app for this user (Google:
    /// `admin_policy_enforced`, a Google Workspace administrator restricted the app or
    /// its scopes): sending the user through consent again will not help.
    AdminPolicy => "ERR_ADMIN_POLICY", "an administrator's policy blocks this app for the user";
    /// The provider granted fewer scopes than the app requires (a user can untick scopes
    /// at Google's granular consent screen); the missing scope names, which are not
    /// secret, come with it.
    ScopeNotGranted => "ERR_SCOPE_NOT_GRANTED", "the user did not grant every scope the app requires";
    /// The provider's token endpoint was unreachable, rate limited or failing.
    ProviderUnavailable => "ERR_PROVIDER_UNAVAILABLE", "the provider's token endpoint is unreachable or failing";
    /// The provider's token endpoint answered with a body that is not an OAuth 2.0
    /// token response.
    ProviderResponse => "ERR_PROVIDER_RESPONSE", "the provider's token endpoint answered with an unexpected body";
    /// `app_metadata.refresh_token` holds the hex ciphertext the old rule's
    /// commented-out `crypto.createCipher('aes-256-cbc', ...)` advice produced, not a
    /// token: it is left exactly as it is (`tokenseal migrate` decrypts it).
    LegacyEncrypted => "ERR_LEGACY_ENCRYPTED", "the legacy refresh_token holds the old rule's ciphertext, not a token";
    /// More than one identity of the provider (two linked Google accounts) carries a
    /// token; the one the login decision documents is captured.
    IdentityAmbiguous => "ERR_IDENTITY_AMBIGUOUS", "more than one identity of the provider carries a token";
    /// A legacy `createCipher` value did not decrypt to a refresh token with
    /// `TOKENSEAL_LEGACY_PASSWORD` (a wrong password, almost always). One code for every
    /// cause, as for any decryption.
    LegacyDecrypt => "ERR_LEGACY_DECRYPT", "the legacy refresh_token did not decrypt with the legacy password";

    }
    host {
        // An exception the host did not expect (a bug, or the WebAssembly module
        // trapping); the Action and the Rule drop the compiled module and go on.
        "ERR_INTERNAL";
        // The WebAssembly module could not be compiled or instantiated in the Action
        // or the Rule.
        "ERR_WASM_UNAVAILABLE";
        // A backend's `saveSealed` callback failed to store a rotated refresh token.
        "ERR_SAVE_FAILED";
        // A backend's shared store (Redis) failed or did not answer in time: this
        // replica refreshes on its own for a while (reported once per outage).
        "ERR_STORE_UNAVAILABLE";
        // A backend replica waited twice the lock's lifetime for another replica's
        // refresh and refreshed on its own.
        "ERR_STORE_LOCK_TIMEOUT";
    }
}

/// Defines one operation's error type: a subset of [`Error`]'s variants, with the same
/// names, codes and messages, and `From` into [`Error`]. The variants are listed, not
/// redefined, so a code still lives in one place.
macro_rules! operation_error {
    (
        $(#[$meta:meta])*
        $name:ident { $( $variant:ident $({ $field:ident: $field_ty:ty })? ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = concat!("See [`Error::", stringify!($variant), "`].")]
                $variant $({
                    /// Position of the key in the `keys` array, as in [`Error`].
                    $field: $field_ty
                })?,
            )*
        }

        impl From<$name> for Error {
            fn from(error: $name) -> Self {
                match error {
                    $( $name::$variant $({ $field })? => Self::$variant $({ $field })?, )*
                }
            }
        }

        impl $name {
            /// The stable code, as [`Error::code`].
            #[must_use]
            pub fn code(&self) -> &'static str {
                Error::from(*self).code()
            }

            /// The fixed message, as [`Error::message`].
            #[must_use]
            pub fn message(&self) -> &'static str {
                Error::from(*self).message()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&Error::from(*self), f)
            }
        }

        impl std::error::Error for $name {}
    };
}

operation_error! {
    /// Why a key set did not read ([`crate::KeyRing::from_jwk_set`], [`crate::Key::new`],
    /// [`crate::KeyRing::from_keys`]); the `index` says which key.
    KeySetError {
        KeySetNotJson,
        KeySetEmpty,
        KeyType { index: usize },
        KeyAlgorithm { index: usize },
        KeyEncoding { index: usize },
        KeyLength { index: usize },
        KeyIdMissing { index: usize },
        KeyIdDuplicate { index: usize },
    }
}

operation_error! {
    /// Why a sealed value did not open or inspect ([`crate::jwe::open`],
    /// [`crate::jwe::inspect`], [`crate::jwe::open_cache_entry`]): shape errors are
    /// precise, and everything after the key is chosen is the one opaque `Decrypt`.
    OpenError {
        SealedMalformed,
        HeaderInvalid,
        VersionUnsupported,
        AlgorithmUnsupported,
        SubjectMismatch,
        ProviderMismatch,
        KeyUnknown,
        Decrypt,
        TokenInvalid,
    }
}

operation_error! {
    /// What a token endpoint's answer to a refresh (or a revocation endpoint's answer)
    /// means when it is not a success
    /// ([`crate::providers::token_endpoint::parse_refresh_response`],
    /// [`crate::providers::token_endpoint::parse_revoke_response`],
    /// [`crate::providers::token_endpoint::missing_scopes`]).
    RefreshError {
        ReconsentRequired,
        ProviderRejected,
        ClientRejected,
        AdminPolicy,
        ScopeNotGranted,
        ProviderUnavailable,
        ProviderResponse,
    }
}

impl Error {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_error_is_its_variant_of_error() {
        assert_eq!(Error::from(OpenError::Decrypt), Error::Decrypt);
        assert_eq!(OpenError::Decrypt.code(), "ERR_DECRYPT");
        assert_eq!(
            Error::from(KeySetError::KeyLength { index: 3 }),
            Error::KeyLength { index: 3 }
        );
        assert_eq!(
            KeySetError::KeyLength { index: 3 }.to_string(),
            "ERR_KEY_LENGTH: key k must decode to 32 bytes (keys[3])"
        );
        assert_eq!(
            RefreshError::ReconsentRequired.message(),
            Error::ReconsentRequired.message()
        );
    }

    #[test]
    fn every_code_is_unique_and_spelled_as_a_stable_code() {
        for (i, code) in CODES.iter().enumerate() {
            let name = code.strip_prefix("ERR_").unwrap_or("");
            assert!(
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{code}"
            );
            assert!(!CODES[..i].contains(code), "{code} is defined twice");
        }
    }

    #[test]
    fn the_typescript_union_lists_every_code_and_nothing_else() {
        let listed: Vec<&str> = ERROR_CODE_TS
            .split('"')
            .filter(|part| part.starts_with("ERR_"))
            .collect();
        assert_eq!(listed, CODES);
    }

    #[test]
    fn the_readme_documents_every_code_and_no_other() {
        let readme = include_str!("../README.md");
        let section = readme
            .split("\n## Error codes\n")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("README has an Error codes section");
        for code in CODES {
            assert!(
                section.contains(&format!("`{code}`")),
                "{code} is not in the README"
            );
        }
        for documented in section.split('`').filter(|part| part.starts_with("ERR_")) {
            assert!(CODES.contains(&documented), "the README names {documented}");
        }
    }
}
