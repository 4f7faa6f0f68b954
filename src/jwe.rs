//! The sealed format: a JWE in compact serialization (RFC 7516 §7.1) with direct key
//! agreement (`"alg":"dir"`, RFC 7518 §4.5) and AES-256-GCM content encryption
//! (`"enc":"A256GCM"`, RFC 7518 §5.3).
//!
//! ```text
//! BASE64URL(header) . "" . BASE64URL(IV, 96 bit) . BASE64URL(ciphertext) . BASE64URL(tag, 128 bit)
//! ```
//!
//! The protected header carries `typ` (the tokenseal format version, explicit typing as
//! RFC 8725 §3.11 recommends), `alg`, `enc`, `kid` (the key that sealed), `sub` (the
//! Auth0 `user_id` the token belongs to), `idp` (the provider's key, for every provider
//! but Google, whose values predate it) and `iat`. The Additional Authenticated Data is
//! the ASCII of the encoded header exactly as it appears in the value (RFC 7516 §5.1
//! step 14), so any change to the header, and thus to the binding, fails to decrypt.
//! Any JOSE library opens these values with the key.

use crate::json::{Json, Object};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Nonce as GcmNonce, Tag};
use base64ct::{Base64UrlUnpadded, Encoding};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::base64url;
use crate::derive::FINGERPRINT_LEN;
use crate::error::{Error, OpenError, Result};
use crate::keys::{Key, KeyRing};
use crate::token::{RefreshToken, MAX_TOKEN_LEN};

/// The `typ` header value of format version 1.
pub const TYP_V1: &str = "tokenseal.v1+jwe";
/// The `typ` of a cache entry (see [`seal_cache_entry`]): never a sealed refresh token.
pub const TYP_CACHE_V1: &str = "tokenseal-cache.v1+jwe";
/// The `alg` header value: the key is used directly as the content encryption key.
pub const ALG_DIR: &str = "dir";
/// The `enc` header value: AES-256-GCM with a 96-bit IV and a 128-bit tag.
pub const ENC_A256GCM: &str = "A256GCM";
/// Length of the GCM initialization vector, in bytes (RFC 7518 §5.3).
pub const IV_LEN: usize = 12;
/// Length of the GCM authentication tag, in bytes (RFC 7518 §5.3).
pub const TAG_LEN: usize = 16;
/// Longest sealed value accepted for opening, in bytes: a sealed [`MAX_TOKEN_LEN`]
/// token with a header of generous size. Bigger input is rejected before any decoding.
pub const MAX_SEALED_LEN: usize = 2 * MAX_TOKEN_LEN + 2048;
/// Longest `sub` that can be bound, in bytes. Auth0 `user_id`s are far shorter.
pub const MAX_SUB_LEN: usize = 512;

const TYP_PREFIX: &str = "tokenseal.v";
const TYP_SUFFIX: &str = "+jwe";

/// A 96-bit GCM initialization vector. Each seal needs a fresh one: AES-GCM loses
/// confidentiality and integrity when an IV repeats under one key (NIST SP 800-38D §8).
/// Neither `Copy` nor `Clone`, and made only by [`Nonce::random`] outside tests, so a
/// second seal with the same IV does not compile.
pub struct Nonce([u8; IV_LEN]);

impl Nonce {
    /// An IV from the operating system or JavaScript host RNG.
    ///
    /// # Errors
    /// [`Error::Random`] when no randomness is available.
    pub fn random() -> Result<Self> {
        crate::material::random_bytes().map(Self)
    }

    /// A caller-chosen IV, for known-answer tests only.
    #[cfg(test)]
    pub(crate) const fn from_bytes(iv: [u8; IV_LEN]) -> Self {
        Self(iv)
    }
}

/// Who sealed a value, recorded as the header member `src`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `"login"`: captured from Auth0's copy of the `IdP` token, at a login or by
    /// `tokenseal migrate`.
    Login,
    /// `"rotation"`: sealed by a backend from the provider's refresh answer, which
    /// rotated the token. Auth0's copy is then older than the sealed one.
    Rotation,
}

impl Source {
    /// The header value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Rotation => "rotation",
        }
    }
}

/// The capture record of a sealed value: a keyed fingerprint of Auth0's copy of the
/// `IdP` token the value descends from (header members `cap` and `cap_kid`).
///
/// A login compares the identity's token with it: the same fingerprint means Auth0 has
/// received nothing since the value was captured, so a value that differs (a backend
/// stored the provider's rotated token) is newer and is kept. The fingerprint is
/// AES-256-CMAC under a key derived from ring key `kid` ([`crate::derive`]), never a bare
/// hash: it says nothing about the token to anyone without the key ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The fingerprint, 16 bytes.
    pub fingerprint: [u8; FINGERPRINT_LEN],
    /// The ring key the fingerprint key is derived from. Kept when a value is re-sealed
    /// under another key (lazy rotation), since the token it fingerprints is not at hand.
    pub kid: String,
}

impl Capture {
    /// The capture record of `token` under the ring's primary key.
    #[must_use]
    pub fn of(token: &RefreshToken, keys: &KeyRing) -> Self {
        let key = keys.primary();
        Self {
            fingerprint: key.fingerprint(token.expose_secret().as_bytes()),
            kid: key.kid().to_owned(),
        }
    }

    /// Whether `token` is the token this record was made from: `None` when the key it
    /// names is no longer in the ring, so the record cannot be checked.
    #[must_use]
    pub fn matches(&self, token: &RefreshToken, keys: &KeyRing) -> Option<bool> {
        let key = keys.get(&self.kid)?;
        let fingerprint = key.fingerprint(token.expose_secret().as_bytes());
        Some(bool::from(fingerprint.ct_eq(&self.fingerprint)))
    }
}

/// A capture record's fingerprint as the header's `cap` member holds it (base64url,
/// unpadded).
#[must_use]
pub fn fingerprint_text(capture: &Capture) -> String {
    Base64UrlUnpadded::encode_string(&capture.fingerprint)
}

/// Where a sealed value comes from: its source and, when known, its capture record.
/// Values sealed by earlier versions, or by [`seal`], have neither.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// Who sealed it (`src`).
    pub source: Option<Source>,
    /// The capture record (`cap`, `cap_kid`).
    pub capture: Option<Capture>,
}

/// What the protected header of a sealed value says. Public information: it is readable
/// by anyone who holds the sealed value, so inspecting it needs no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedHeader {
    /// Format version marker, [`TYP_V1`].
    pub typ: String,
    /// Key management algorithm, always `dir`.
    pub alg: String,
    /// Content encryption algorithm, always `A256GCM`.
    pub enc: String,
    /// Id of the key that sealed the value.
    pub kid: String,
    /// The Auth0 `user_id` the value is bound to.
    pub sub: String,
    /// The provider key the value is bound to (`idp`), absent for Google's
    /// (`google-oauth2`): see [`crate::providers::Connection::idp`].
    pub idp: Option<String>,
    /// When it was sealed, seconds since the Unix epoch, if recorded.
    pub iat: Option<u64>,
    /// Who sealed it (`src`), if recorded.
    pub src: Option<Source>,
    /// The capture record (`cap`, `cap_kid`), if recorded.
    pub capture: Option<Capture>,
}

impl SealedHeader {
    /// True when a value with this header is sealed as tokenseal seals refresh tokens
    /// today: the current format version ([`TYP_V1`]) under the ring's primary key. A
    /// valid value that is not is re-sealed at login, its provenance kept: that one arm
    /// is both lazy key rotation and, once a version 2 exists, lazy format upgrade.
    #[must_use]
    pub fn is_current(&self, keys: &KeyRing) -> bool {
        Kind::parse(&self.typ) == Ok(Kind::CURRENT_REFRESH_TOKEN)
            && self.kid == keys.primary().kid()
    }

    /// The value's provenance, as recorded in the header.
    #[must_use]
    pub fn provenance(&self) -> Provenance {
        Provenance {
            source: self.src,
            capture: self.capture.clone(),
        }
    }
}

/// What a value sealed with the tokenseal JWE format holds; the `typ` tells them apart,
/// so that one can never be opened as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A refresh token, format version 1 ([`TYP_V1`]), under a ring key.
    RefreshTokenV1,
    /// A cache entry, version 1 ([`TYP_CACHE_V1`]), under a derived cache key.
    CacheEntryV1,
}

impl Kind {
    /// The kind new refresh-token values are sealed as.
    const CURRENT_REFRESH_TOKEN: Self = Self::RefreshTokenV1;

    /// Reads `typ`. The version comes first: a value from a newer tokenseal must say
    /// so, not fail on whatever else that version changed.
    fn parse(typ: &str) -> Result<Self, OpenError> {
        if typ == TYP_CACHE_V1 {
            return Ok(Self::CacheEntryV1);
        }
        match typ
            .strip_prefix(TYP_PREFIX)
            .and_then(|v| v.strip_suffix(TYP_SUFFIX))
        {
            Some("1") => Ok(Self::RefreshTokenV1),
            Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                Err(OpenError::VersionUnsupported)
            }
            _ => Err(OpenError::HeaderInvalid),
        }
    }

    const fn typ(self) -> &'static str {
        match self {
            Self::RefreshTokenV1 => TYP_V1,
            Self::CacheEntryV1 => TYP_CACHE_V1,
        }
    }

    /// The cipher of `key` this kind is sealed under.
    fn cipher(self, key: &Key) -> &Aes256Gcm {
        match self {
            Self::RefreshTokenV1 => key.cipher(),
            Self::CacheEntryV1 => key.cache_cipher(),
        }
    }
}

/// The five parts of a compact JWE, decoded where decoding needs no key.
struct Parts<'a> {
    encoded_header: &'a str,
    kind: Kind,
    header: SealedHeader,
    iv: &'a str,
    ciphertext: &'a str,
    tag: &'a str,
}

/// Seals a Google refresh token for one user under the ring's primary key, with no
/// provenance recorded (as a value sealed by an earlier version). Logins and backends use
/// [`seal_with`].
///
/// Deterministic in its inputs: the caller supplies the IV and the time, so the same
/// call gives the same bytes (known-answer tests rely on this). Use [`Nonce::random`].
///
/// # Errors
/// [`Error::UserIdInvalid`] when `sub` is empty, longer than [`MAX_SUB_LEN`] or holds
/// control characters.
pub fn seal(
    token: &RefreshToken,
    keys: &KeyRing,
    sub: &str,
    iat: u64,
    iv: Nonce,
) -> Result<String> {
    seal_with(token, keys, sub, None, iat, iv, &Provenance::default())
}

/// [`seal`], bound to the provider `idp` as well (`None` for Google's), recording
/// `provenance` in the header (`src`, `cap`, `cap_kid`, after the members every value
/// has).
///
/// # Errors
/// As [`seal`].
pub fn seal_with(
    token: &RefreshToken,
    keys: &KeyRing,
    sub: &str,
    idp: Option<&str>,
    iat: u64,
    iv: Nonce,
    provenance: &Provenance,
) -> Result<String> {
    let mut extra = Vec::new();
    if let Some(idp) = idp {
        extra.push(("idp", Json::from(idp)));
    }
    if let Some(source) = provenance.source {
        extra.push(("src", Json::from(source.as_str())));
    }
    if let Some(capture) = &provenance.capture {
        extra.push(("cap", Json::String(fingerprint_text(capture))));
        extra.push(("cap_kid", Json::from(capture.kid.as_str())));
    }
    seal_kind(
        Kind::CURRENT_REFRESH_TOKEN,
        token.expose_secret().as_bytes(),
        keys,
        sub,
        iat,
        iv,
        extra,
    )
}

/// Seals a refresh token the provider rotated (a backend's refresh answer carried a new
/// one) as the successor of `previous`, the value the backend refreshed with, bound to
/// the same user and provider: `src` is `"rotation"` and the capture record is carried
/// over, so that a later login whose identity still holds Auth0's older copy keeps this
/// newer value ([`crate::login`]).
///
/// # Errors
/// The errors of [`open_for`] for `previous` (which must be this user's and provider's
/// and open: its capture record is only trusted once authenticated), and those of
/// [`seal`].
pub fn seal_rotated(
    token: &RefreshToken,
    previous: &str,
    keys: &KeyRing,
    sub: &str,
    idp: Option<&str>,
    iat: u64,
    iv: Nonce,
) -> Result<String> {
    let (_, header) = open_with_header(previous, keys, sub, idp)?;
    let provenance = Provenance {
        source: Some(Source::Rotation),
        capture: header.capture,
    };
    seal_with(token, keys, sub, idp, iat, iv, &provenance)
}

/// Seals `secret` (an access token, for example) for a cache other code can read, bound
/// to `context` (the header's `sub`, e.g. `"m2m:<client id>"`), under the primary key's
/// derived cache key ([`crate::derive::Purpose::CacheSeal`]). The `typ` is
/// [`TYP_CACHE_V1`], so an entry never opens as a sealed refresh token, and the ring key
/// itself never seals anything but refresh tokens.
///
/// # Errors
/// [`Error::TokenInvalid`] when `secret` is not VSCHAR of at most
/// [`MAX_TOKEN_LEN`] bytes (the grammar of OAuth tokens); [`Error::UserIdInvalid`] for
/// a `context` that [`validate_sub`] refuses.
pub fn seal_cache_entry(
    secret: &str,
    keys: &KeyRing,
    context: &str,
    iat: u64,
    iv: Nonce,
) -> Result<String> {
    let secret = RefreshToken::new(secret)?;
    seal_kind(
        Kind::CacheEntryV1,
        secret.expose_secret().as_bytes(),
        keys,
        context,
        iat,
        iv,
        Vec::new(),
    )
}

/// Opens an entry of [`seal_cache_entry`] bound to `context`.
///
/// # Errors
/// The errors of [`open`] (an entry under a retired key is [`Error::KeyUnknown`], a
/// forged one [`OpenError::Decrypt`]); [`OpenError::HeaderInvalid`] for a sealed refresh token.
/// The caller drops an entry that does not open and fetches the value again.
pub fn open_cache_entry(
    entry: &str,
    keys: &KeyRing,
    context: &str,
) -> Result<Zeroizing<String>, OpenError> {
    let (plaintext, _) = open_kind(Kind::CacheEntryV1, entry, keys, (context, None))?;
    let secret = RefreshToken::from_bytes(&plaintext).map_err(|_| OpenError::TokenInvalid)?;
    Ok(Zeroizing::new(secret.expose_secret().to_owned()))
}

fn seal_kind(
    kind: Kind,
    plaintext: &[u8],
    keys: &KeyRing,
    sub: &str,
    iat: u64,
    iv: Nonce,
    extra: Vec<(&str, Json)>,
) -> Result<String> {
    validate_sub(sub)?;
    let key = keys.primary();
    // Member order is part of the known-answer vectors: typ, alg, enc, kid, sub, iat,
    // then idp and the provenance members.
    let mut header = Object::new();
    header.insert("typ", Json::from(kind.typ()));
    header.insert("alg", Json::from(ALG_DIR));
    header.insert("enc", Json::from(ENC_A256GCM));
    header.insert("kid", Json::from(key.kid()));
    header.insert("sub", Json::from(sub));
    header.insert("iat", Json::from(iat));
    for (name, value) in extra {
        header.insert(name, value);
    }
    let header_json = Json::Object(header).to_text();
    let encoded_header = Base64UrlUnpadded::encode_string(header_json.as_bytes());

    let mut buffer = Zeroizing::new(plaintext.to_vec());
    let tag = encrypt_content(
        kind.cipher(key),
        &iv.0,
        encoded_header.as_bytes(),
        &mut buffer,
    );

    let mut out = String::with_capacity(encoded_header.len() + 2 * buffer.len() + 64);
    out.push_str(&encoded_header);
    out.push_str("..");
    out.push_str(&Base64UrlUnpadded::encode_string(&iv.0));
    out.push('.');
    out.push_str(&Base64UrlUnpadded::encode_string(&buffer));
    out.push('.');
    out.push_str(&Base64UrlUnpadded::encode_string(&tag));
    Ok(out)
}

/// Reads a sealed value's header without a key: shape, version, algorithms.
///
/// # Errors
/// [`OpenError::SealedMalformed`], [`OpenError::HeaderInvalid`], [`OpenError::VersionUnsupported`]
/// or [`OpenError::AlgorithmUnsupported`], checked in that order.
pub fn inspect(sealed: &str) -> Result<SealedHeader, OpenError> {
    split(sealed).map(|parts| parts.header)
}

/// Opens a sealed Google value bound to `expected_sub` ([`open_for`] with no `idp`).
///
/// # Errors
/// As [`open_for`].
pub fn open(sealed: &str, keys: &KeyRing, expected_sub: &str) -> Result<RefreshToken, OpenError> {
    open_for(sealed, keys, expected_sub, None)
}

/// Opens a sealed value bound to `expected_sub` and to the provider `expected_idp`
/// (`None` for Google's values, which carry no `idp`).
///
/// Checks run in a fixed order, each with its own error: the shape, the header
/// (version first, then `alg`/`enc`), the binding (user, then provider), the key (by
/// `kid`, no trial decryption), and last the authenticated decryption, whose failure is
/// the single opaque [`OpenError::Decrypt`].
///
/// # Errors
/// [`OpenError::SealedMalformed`], [`OpenError::HeaderInvalid`], [`OpenError::VersionUnsupported`],
/// [`OpenError::AlgorithmUnsupported`], [`OpenError::SubjectMismatch`],
/// [`OpenError::ProviderMismatch`], [`OpenError::KeyUnknown`], [`OpenError::Decrypt`], and
/// [`Error::TokenInvalid`] when an authentic plaintext is not a valid refresh token.
pub fn open_for(
    sealed: &str,
    keys: &KeyRing,
    expected_sub: &str,
    expected_idp: Option<&str>,
) -> Result<RefreshToken, OpenError> {
    open_with_header(sealed, keys, expected_sub, expected_idp).map(|(token, _)| token)
}

/// [`open_for`], also returning the header it read, for callers that need the `kid`,
/// `iat` or provenance of a value they open (reading them again would parse the header
/// twice). The header is authentic once this returns.
///
/// # Errors
/// As [`open_for`].
pub fn open_with_header(
    sealed: &str,
    keys: &KeyRing,
    expected_sub: &str,
    expected_idp: Option<&str>,
) -> Result<(RefreshToken, SealedHeader), OpenError> {
    let binding = (expected_sub, expected_idp);
    let (plaintext, header) = open_kind(Kind::RefreshTokenV1, sealed, keys, binding)?;
    let token = RefreshToken::from_bytes(&plaintext).map_err(|_| OpenError::TokenInvalid)?;
    Ok((token, header))
}

/// Opens a value of `kind` bound to `(sub, idp)`. The binding is checked on the header
/// before decryption, which then authenticates it: a value moved to another user or to
/// another provider's member fails with its own error either way.
fn open_kind(
    kind: Kind,
    sealed: &str,
    keys: &KeyRing,
    (expected_sub, expected_idp): (&str, Option<&str>),
) -> Result<(Zeroizing<Vec<u8>>, SealedHeader), OpenError> {
    let parts = split(sealed)?;
    if parts.kind != kind {
        return Err(OpenError::HeaderInvalid);
    }
    if parts.header.sub != expected_sub {
        return Err(OpenError::SubjectMismatch);
    }
    if parts.header.idp.as_deref() != expected_idp {
        return Err(OpenError::ProviderMismatch);
    }
    let key = keys.get(&parts.header.kid).ok_or(OpenError::KeyUnknown)?;

    let iv: [u8; IV_LEN] = base64url::decode_exact(parts.iv)?;
    let tag: [u8; TAG_LEN] = base64url::decode_exact(parts.tag)?;
    // Decoded at its exact size and never reallocated: the plaintext that decryption
    // leaves in place exists nowhere else, and is wiped when the buffer is dropped.
    let mut buffer = Zeroizing::new(base64url::decode(parts.ciphertext)?);
    decrypt_content(
        kind.cipher(key),
        &iv,
        parts.encoded_header.as_bytes(),
        &mut buffer,
        &tag,
    )?;
    Ok((buffer, parts.header))
}

/// The content-encryption layer of RFC 7516 §5.1 steps 15-16 with A256GCM: encrypts
/// `buffer` in place and returns the tag. The AAD is the encoded protected header.
/// IV and tag travel as fixed-size arrays: `GenericArray::from_slice` would assert their
/// length at run time, and its formatted panic message costs kilobytes of wasm.
fn encrypt_content(
    cipher: &Aes256Gcm,
    iv: &[u8; IV_LEN],
    aad: &[u8],
    buffer: &mut [u8],
) -> [u8; TAG_LEN] {
    let tag = cipher
        .encrypt_in_place_detached(&GcmNonce::from(*iv), aad, buffer)
        .expect("AES-GCM encryption fails only past 2^36 bytes; tokens are at most 4 KiB");
    tag.into()
}

/// Inverse of [`encrypt_content`] (RFC 7516 §5.2 step 16): decrypts in place after the
/// tag verifies; on failure the buffer content is unspecified and must be discarded.
fn decrypt_content(
    cipher: &Aes256Gcm,
    iv: &[u8; IV_LEN],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), OpenError> {
    cipher
        .decrypt_in_place_detached(&GcmNonce::from(*iv), aad, buffer, &Tag::from(*tag))
        .map_err(|_| OpenError::Decrypt)
}

fn split(sealed: &str) -> Result<Parts<'_>, OpenError> {
    if sealed.len() > MAX_SEALED_LEN {
        return Err(OpenError::SealedMalformed);
    }
    let mut it = sealed.split('.');
    let (Some(encoded_header), Some(encrypted_key), Some(iv), Some(ciphertext), Some(tag), None) = (
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ) else {
        return Err(OpenError::SealedMalformed);
    };
    // With "dir" the JWE Encrypted Key is the empty octet sequence (RFC 7518 §4.5).
    if !encrypted_key.is_empty() || encoded_header.is_empty() || iv.is_empty() || tag.is_empty() {
        return Err(OpenError::SealedMalformed);
    }
    // Lengths are checked before decoding: a 12-byte IV is 16 characters, a 16-byte tag
    // 22 (unpadded base64url).
    if iv.len() != 16 || tag.len() != 22 {
        return Err(OpenError::SealedMalformed);
    }
    let header_json = base64url::decode(encoded_header)?;
    let (kind, header) = parse_header(&header_json)?;
    Ok(Parts {
        encoded_header,
        kind,
        header,
        iv,
        ciphertext,
        tag,
    })
}

fn parse_header(json: &[u8]) -> Result<(Kind, SealedHeader), OpenError> {
    // A repeated member is refused (RFC 7515 §4 allows either that or keeping the last
    // one): then no JOSE library that reads the header can see another value than this.
    let header = Json::parse_bytes_strict(json).map_err(|_| OpenError::HeaderInvalid)?;
    let text = |name: &str| match header.get(name) {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(OpenError::HeaderInvalid),
    };
    if header.as_object().is_none() {
        return Err(OpenError::HeaderInvalid);
    }
    let typ = text("typ")?.ok_or(OpenError::HeaderInvalid)?;
    let kind = Kind::parse(&typ)?;
    let (Some(alg), Some(enc)) = (text("alg")?, text("enc")?) else {
        return Err(OpenError::HeaderInvalid);
    };
    if alg != ALG_DIR || enc != ENC_A256GCM {
        return Err(OpenError::AlgorithmUnsupported);
    }
    // RFC 7515 §4.1.11: extensions listed in "crit" must be understood; tokenseal
    // understands none. Compression ("zip") is not used and would need its own review.
    if header.get("crit").is_some() || header.get("zip").is_some() {
        return Err(OpenError::HeaderInvalid);
    }
    let (Some(kid), Some(sub)) = (text("kid")?, text("sub")?) else {
        return Err(OpenError::HeaderInvalid);
    };
    let iat = match header.get("iat") {
        None => None,
        Some(value) => Some(value.as_u64().ok_or(OpenError::HeaderInvalid)?),
    };
    let src = match text("src")?.as_deref() {
        None => None,
        Some("login") => Some(Source::Login),
        Some("rotation") => Some(Source::Rotation),
        Some(_) => return Err(OpenError::HeaderInvalid),
    };
    let idp = text("idp")?;
    let capture = match (text("cap")?, text("cap_kid")?) {
        (None, None) => None,
        (Some(cap), Some(kid)) => Some(Capture {
            fingerprint: base64url::decode_exact(&cap).map_err(|_| OpenError::HeaderInvalid)?,
            kid,
        }),
        _ => return Err(OpenError::HeaderInvalid),
    };
    Ok((
        kind,
        SealedHeader {
            typ,
            alg,
            enc,
            kid,
            sub,
            idp,
            iat,
            src,
            capture,
        },
    ))
}

/// Checks that a user id can be bound: non-empty, at most [`MAX_SUB_LEN`] bytes, no
/// control characters.
///
/// # Errors
/// [`Error::UserIdInvalid`].
pub fn validate_sub(sub: &str) -> Result<()> {
    if sub.is_empty() || sub.len() > MAX_SUB_LEN || sub.chars().any(char::is_control) {
        Err(Error::UserIdInvalid)
    } else {
        Ok(())
    }
}

/// Known-answer vectors from an independent implementation (tests/vectors/).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod known_answers;
/// Any changed character fails to open (proptest).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tamper_proptest;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyMaterial;
    use crate::test_support::ring;

    fn token() -> RefreshToken {
        RefreshToken::new("1//0g-refresh-token-for-tests").expect("valid")
    }

    const SUB: &str = "google-oauth2|1234567890";

    fn sealed() -> String {
        seal(
            &token(),
            &ring(&[("k1", 1)]),
            SUB,
            1_700_000_000,
            Nonce::from_bytes([9; 12]),
        )
        .expect("seals")
    }

    fn b64(s: &str) -> String {
        Base64UrlUnpadded::encode_string(s.as_bytes())
    }

    /// Replaces the header of `sealed` with `json`, keeping the other parts.
    fn with_header(json: &str) -> String {
        let s = sealed();
        let rest = &s[s.find('.').expect("has dots")..];
        format!("{}{rest}", b64(json))
    }

    #[test]
    fn round_trip_and_header_contents() {
        let s = sealed();
        assert_eq!(s.split('.').count(), 5);
        assert_eq!(s.split('.').nth(1), Some(""));
        let h = inspect(&s).expect("valid header");
        assert_eq!(
            h,
            SealedHeader {
                typ: TYP_V1.into(),
                alg: "dir".into(),
                enc: "A256GCM".into(),
                kid: "k1".into(),
                sub: SUB.into(),
                idp: None,
                iat: Some(1_700_000_000),
                src: None,
                capture: None,
            }
        );
        assert_eq!(open(&s, &ring(&[("k1", 1)]), SUB).expect("opens"), token());
    }

    #[test]
    fn only_the_current_format_under_the_primary_key_is_current() {
        let h = inspect(&sealed()).expect("valid header");
        assert!(h.is_current(&ring(&[("k1", 1), ("k2", 2)])));
        assert!(
            !h.is_current(&ring(&[("k2", 2), ("k1", 1)])),
            "not the primary key"
        );
        let cache = SealedHeader {
            typ: TYP_CACHE_V1.into(),
            ..h
        };
        assert!(
            !cache.is_current(&ring(&[("k1", 1)])),
            "not a refresh-token format"
        );
    }

    #[test]
    fn any_key_of_the_ring_opens_by_kid() {
        let s = sealed();
        let rotated = ring(&[("k2", 2), ("k1", 1)]);
        assert_eq!(
            open(&s, &rotated, SUB).expect("old key still opens"),
            token()
        );
        let resealed = seal(&token(), &rotated, SUB, 1, Nonce::from_bytes([1; 12])).expect("seals");
        assert_eq!(inspect(&resealed).expect("valid").kid, "k2");
    }

    #[test]
    fn opening_checks_in_order() {
        let keys = ring(&[("k1", 1)]);
        // shape
        for bad in [
            "",
            "a.b.c.d",
            "a.b.c.d.e.f",
            &sealed().replacen("..", ".AAAA.", 1),
        ] {
            assert_eq!(
                open(bad, &keys, SUB),
                Err(OpenError::SealedMalformed),
                "{bad}"
            );
        }
        assert_eq!(
            open(&"A".repeat(MAX_SEALED_LEN + 1), &keys, SUB),
            Err(OpenError::SealedMalformed)
        );
        // header: not JSON, missing typ, duplicate member, crit, zip
        assert_eq!(
            open(&with_header("nope"), &keys, SUB),
            Err(OpenError::HeaderInvalid)
        );
        assert_eq!(
            open(
                &with_header(r#"{"alg":"dir","enc":"A256GCM","kid":"k1","sub":"x"}"#),
                &keys,
                SUB
            ),
            Err(OpenError::HeaderInvalid)
        );
        // duplicate members are refused (RFC 7515 §4 allows it), whichever comes last
        for dup in [
            r#"{"typ":"tokenseal.v1+jwe","alg":"dir","alg":"none","enc":"A256GCM","kid":"k1","sub":"x"}"#,
            r#"{"typ":"tokenseal.v1+jwe","alg":"none","alg":"dir","enc":"A256GCM","kid":"k1","sub":"x"}"#,
            r#"{"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A256GCM","kid":"k1","sub":"x","sub":"x"}"#,
        ] {
            assert_eq!(
                open(&with_header(dup), &keys, SUB),
                Err(OpenError::HeaderInvalid),
                "{dup}"
            );
        }
        let array = r#"["typ","tokenseal.v1+jwe"]"#;
        assert_eq!(
            open(&with_header(array), &keys, SUB),
            Err(OpenError::HeaderInvalid)
        );
        let iat = r#"{"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A256GCM","kid":"k1","sub":"x","iat":"soon"}"#;
        assert_eq!(
            open(&with_header(iat), &keys, SUB),
            Err(OpenError::HeaderInvalid)
        );
        let crit = r#"{"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A256GCM","kid":"k1","sub":"x","crit":["exp"]}"#;
        assert_eq!(
            open(&with_header(crit), &keys, SUB),
            Err(OpenError::HeaderInvalid)
        );
        let zip = r#"{"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A256GCM","kid":"k1","sub":"x","zip":"DEF"}"#;
        assert_eq!(
            open(&with_header(zip), &keys, SUB),
            Err(OpenError::HeaderInvalid)
        );
        // version is read before the algorithm
        let v2 =
            r#"{"typ":"tokenseal.v2+jwe","alg":"RSA-OAEP","enc":"A256GCM","kid":"k1","sub":"x"}"#;
        assert_eq!(
            open(&with_header(v2), &keys, SUB),
            Err(OpenError::VersionUnsupported)
        );
        let other = r#"{"typ":"JWT","alg":"dir","enc":"A256GCM","kid":"k1","sub":"x"}"#;
        assert_eq!(
            open(&with_header(other), &keys, SUB),
            Err(OpenError::HeaderInvalid)
        );
        // algorithms
        let alg =
            r#"{"typ":"tokenseal.v1+jwe","alg":"A256KW","enc":"A256GCM","kid":"k1","sub":"x"}"#;
        assert_eq!(
            open(&with_header(alg), &keys, SUB),
            Err(OpenError::AlgorithmUnsupported)
        );
        let enc =
            r#"{"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A128CBC-HS256","kid":"k1","sub":"x"}"#;
        assert_eq!(
            open(&with_header(enc), &keys, SUB),
            Err(OpenError::AlgorithmUnsupported)
        );
        // binding before key
        assert_eq!(
            open(&sealed(), &ring(&[("zz", 1)]), "auth0|other"),
            Err(OpenError::SubjectMismatch)
        );
        // key by kid
        assert_eq!(
            open(&sealed(), &ring(&[("k2", 1)]), SUB),
            Err(OpenError::KeyUnknown)
        );
        // decryption: same kid, wrong key
        assert_eq!(
            open(&sealed(), &ring(&[("k1", 2)]), SUB),
            Err(OpenError::Decrypt)
        );
    }

    #[test]
    fn a_changed_header_fails_to_decrypt_even_when_it_parses() {
        // Same kid and sub, different iat: the header is authenticated as AAD.
        let forged = r#"{"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A256GCM","kid":"k1","sub":"google-oauth2|1234567890","iat":1}"#;
        assert_eq!(
            open(&with_header(forged), &ring(&[("k1", 1)]), SUB),
            Err(OpenError::Decrypt)
        );
    }

    #[test]
    fn authentic_but_invalid_plaintext_is_a_token_error() {
        let keys = ring(&[("k1", 1)]);
        let s = sealed();
        let parts: Vec<&str> = s.split('.').collect();
        let mut buf = b"bad\ntoken".to_vec();
        let tag = keys
            .primary()
            .cipher()
            .encrypt_in_place_detached(
                GcmNonce::from_slice(&[3; 12]),
                parts[0].as_bytes(),
                &mut buf,
            )
            .expect("encrypts");
        let forged = format!(
            "{}..{}.{}.{}",
            parts[0],
            Base64UrlUnpadded::encode_string(&[3; 12]),
            Base64UrlUnpadded::encode_string(&buf),
            Base64UrlUnpadded::encode_string(&tag)
        );
        assert_eq!(open(&forged, &keys, SUB), Err(OpenError::TokenInvalid));
    }

    #[test]
    fn sub_is_validated_when_sealing() {
        let keys = ring(&[("k1", 1)]);
        let iv = || Nonce::from_bytes([0; 12]);
        assert_eq!(
            seal(&token(), &keys, "", 0, iv()),
            Err(Error::UserIdInvalid)
        );
        assert_eq!(
            seal(&token(), &keys, "a\nb", 0, iv()),
            Err(Error::UserIdInvalid)
        );
        assert_eq!(
            seal(&token(), &keys, &"a".repeat(MAX_SUB_LEN + 1), 0, iv()),
            Err(Error::UserIdInvalid)
        );
    }

    /// RFC 7516 Appendix A.1's content encryption, checked byte for byte, and its
    /// tampered twin (tests/vectors/rfc7516-a1.json).
    #[test]
    fn rfc7516_a1_content_encryption() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../tests/vectors/rfc7516-a1.json"))
                .expect("vector file is JSON");
        let text = |name: &str| v[name].as_str().expect("string member");
        let cek: Vec<u8> = v["cek_bytes"]
            .as_array()
            .expect("array")
            .iter()
            .map(|b| b.as_u64().expect("byte") as u8)
            .collect();
        let key = KeyMaterial::new(cek.try_into().expect("32 bytes"));
        let key = Key::new("rfc", key).expect("valid kid");
        let cipher = key.cipher();
        let iv: [u8; IV_LEN] = Base64UrlUnpadded::decode_vec(text("iv"))
            .expect("b64")
            .try_into()
            .expect("12 bytes");
        let aad = text("encoded_protected_header").as_bytes();

        let mut buffer = text("plaintext").as_bytes().to_vec();
        let tag = encrypt_content(cipher, &iv, aad, &mut buffer);
        assert_eq!(
            Base64UrlUnpadded::encode_string(&buffer),
            text("ciphertext")
        );
        assert_eq!(Base64UrlUnpadded::encode_string(&tag), text("tag"));

        decrypt_content(cipher, &iv, aad, &mut buffer, &tag).expect("authentic");
        assert_eq!(buffer, text("plaintext").as_bytes());

        let mut buffer = Base64UrlUnpadded::decode_vec(text("ciphertext")).expect("b64");
        let bad_tag: [u8; TAG_LEN] =
            Base64UrlUnpadded::decode_vec(v["tampered"]["tag"].as_str().expect("string"))
                .expect("b64")
                .try_into()
                .expect("16 bytes");
        assert_eq!(
            decrypt_content(cipher, &iv, aad, &mut buffer, &bad_tag),
            Err(OpenError::Decrypt)
        );
    }

    /// `token()` sealed as a login seals it: captured, under `keys`.
    fn sealed_at_login(keys: &KeyRing) -> (String, Provenance) {
        let provenance = Provenance {
            source: Some(Source::Login),
            capture: Some(Capture::of(&token(), keys)),
        };
        let sealed = seal_with(
            &token(),
            keys,
            SUB,
            None,
            5,
            Nonce::from_bytes([2; 12]),
            &provenance,
        )
        .expect("seals");
        (sealed, provenance)
    }

    fn capture_header() -> SealedHeader {
        let keys = ring(&[("k1", 1)]);
        let (s, provenance) = sealed_at_login(&keys);
        let (opened, header) = open_with_header(&s, &keys, SUB, None).expect("opens");
        assert_eq!(opened, token());
        assert_eq!(header.provenance(), provenance);
        header
    }

    #[test]
    fn the_capture_record_is_a_keyed_fingerprint() {
        let header = capture_header();
        let capture = header.capture.expect("recorded");
        let keys = ring(&[("k1", 1)]);
        assert_eq!(capture.kid, "k1");
        assert_eq!(capture.matches(&token(), &keys), Some(true));
        let other = RefreshToken::new("1//0g-another-token").expect("valid");
        assert_eq!(capture.matches(&other, &keys), Some(false));
        // Another key ring (same kid, other material) does not recognise the token; a ring
        // without the kid cannot check the record at all.
        assert_eq!(capture.matches(&token(), &ring(&[("k1", 2)])), Some(false));
        assert_eq!(capture.matches(&token(), &ring(&[("k9", 1)])), None);
        // Never the bare token nor a plain digest of it: not the token's bytes, and a
        // different key gives a different fingerprint.
        let under_other = Capture::of(&token(), &ring(&[("k1", 2)]));
        assert_ne!(under_other.fingerprint, capture.fingerprint);
    }

    #[test]
    fn provenance_members_are_checked() {
        let keys = ring(&[("k1", 1)]);
        for (header, code) in [
            (
                r#"{"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A256GCM","kid":"k1","sub":"x","src":"backend"}"#,
                OpenError::HeaderInvalid,
            ),
            (
                r#"{"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A256GCM","kid":"k1","sub":"x","cap":"AAAAAAAAAAAAAAAAAAAAAA"}"#,
                OpenError::HeaderInvalid,
            ),
            (
                r#"{"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A256GCM","kid":"k1","sub":"x","cap":"AAAA","cap_kid":"k1"}"#,
                OpenError::HeaderInvalid,
            ),
        ] {
            assert_eq!(
                open(&with_header(header), &keys, "x"),
                Err(code),
                "{header}"
            );
        }
    }

    #[test]
    fn a_value_is_bound_to_its_provider() {
        let keys = ring(&[("k1", 1)]);
        let waad = seal_with(
            &token(),
            &keys,
            SUB,
            Some("waad"),
            5,
            Nonce::from_bytes([4; 12]),
            &Provenance::default(),
        )
        .expect("seals");
        assert_eq!(
            inspect(&waad).expect("a header").idp.as_deref(),
            Some("waad")
        );
        assert_eq!(open_for(&waad, &keys, SUB, Some("waad")), Ok(token()));
        // Moved to Google's member, or to another provider's, it does not open there; a
        // Google value (no idp) does not open as another provider's either.
        assert_eq!(open(&waad, &keys, SUB), Err(OpenError::ProviderMismatch));
        assert_eq!(
            open_for(&waad, &keys, SUB, Some("acme-idp")),
            Err(OpenError::ProviderMismatch)
        );
        assert_eq!(
            open_for(&sealed(), &keys, SUB, Some("waad")),
            Err(OpenError::ProviderMismatch)
        );
        // The binding is authenticated: editing idp in the header fails to decrypt.
        let (header, rest) = waad.split_once('.').expect("five parts");
        let text = String::from_utf8(base64url::decode(header).expect("base64url")).expect("UTF-8");
        let forged = Base64UrlUnpadded::encode_string(text.replace("waad", "acme").as_bytes());
        let moved = format!("{forged}.{rest}");
        assert_eq!(
            open_for(&moved, &keys, SUB, Some("acme")),
            Err(OpenError::Decrypt)
        );
        // A rotation keeps the binding, and checks it on the value it succeeds.
        let next = seal_rotated(
            &token(),
            &waad,
            &keys,
            SUB,
            Some("waad"),
            6,
            Nonce::from_bytes([5; 12]),
        )
        .expect("seals");
        assert_eq!(
            inspect(&next).expect("a header").idp.as_deref(),
            Some("waad")
        );
        assert_eq!(
            seal_rotated(
                &token(),
                &waad,
                &keys,
                SUB,
                None,
                6,
                Nonce::from_bytes([5; 12])
            ),
            Err(Error::ProviderMismatch)
        );
    }

    #[test]
    fn a_rotated_value_carries_the_capture_record_over() {
        let keys = ring(&[("k1", 1)]);
        let (first, provenance) = sealed_at_login(&keys);
        let rotated_token = RefreshToken::new("1//0g-rotated").expect("valid");
        let next = seal_rotated(
            &rotated_token,
            &first,
            &keys,
            SUB,
            None,
            6,
            Nonce::from_bytes([3; 12]),
        )
        .expect("seals");
        let (opened, header) = open_with_header(&next, &keys, SUB, None).expect("opens");
        assert_eq!(opened, rotated_token);
        assert_eq!(header.src, Some(Source::Rotation));
        assert_eq!(header.capture, provenance.capture);
        // The previous value must be this user's and open: a forged header's record is
        // never carried over.
        assert_eq!(
            seal_rotated(
                &rotated_token,
                &sealed(),
                &keys,
                "auth0|other",
                None,
                6,
                Nonce::from_bytes([3; 12])
            ),
            Err(Error::SubjectMismatch)
        );
        assert_eq!(
            seal_rotated(
                &rotated_token,
                &first,
                &ring(&[("k1", 2)]),
                SUB,
                None,
                6,
                Nonce::from_bytes([3; 12])
            ),
            Err(Error::Decrypt)
        );
    }

    #[test]
    fn cache_entries_are_bound_separated_and_never_refresh_tokens() {
        let keys = ring(&[("k1", 1)]);
        let entry = seal_cache_entry(
            "eyJ.m2m.token",
            &keys,
            "tokenseal:m2m:abc",
            7,
            Nonce::from_bytes([4; 12]),
        )
        .expect("seals");
        assert!(!entry.contains("eyJ.m2m"));
        assert_eq!(
            open_cache_entry(&entry, &keys, "tokenseal:m2m:abc")
                .expect("opens")
                .as_str(),
            "eyJ.m2m.token"
        );
        assert_eq!(inspect(&entry).expect("a header").typ, TYP_CACHE_V1);
        // Bound to its context, to its key, and to its kind.
        assert_eq!(
            open_cache_entry(&entry, &keys, "tokenseal:m2m:xyz").map(|_| ()),
            Err(OpenError::SubjectMismatch)
        );
        assert_eq!(
            open_cache_entry(&entry, &ring(&[("k2", 1)]), "tokenseal:m2m:abc").map(|_| ()),
            Err(OpenError::KeyUnknown)
        );
        assert_eq!(
            open_cache_entry(&entry, &ring(&[("k1", 2)]), "tokenseal:m2m:abc").map(|_| ()),
            Err(OpenError::Decrypt)
        );
        assert_eq!(
            open(&entry, &keys, "tokenseal:m2m:abc"),
            Err(OpenError::HeaderInvalid)
        );
        assert_eq!(
            open_cache_entry(&sealed(), &keys, SUB).map(|_| ()),
            Err(OpenError::HeaderInvalid)
        );
        // The derived key, not the ring key, seals it: a JOSE library holding the ring key
        // cannot open it as a refresh token would be (same header under the ring key).
        let parts: Vec<&str> = entry.split('.').collect();
        let mut buffer = Base64UrlUnpadded::decode_vec(parts[3]).expect("b64");
        let tag: [u8; TAG_LEN] = Base64UrlUnpadded::decode_vec(parts[4])
            .expect("b64")
            .try_into()
            .expect("16");
        let iv: [u8; IV_LEN] = Base64UrlUnpadded::decode_vec(parts[2])
            .expect("b64")
            .try_into()
            .expect("12");
        assert_eq!(
            decrypt_content(
                keys.primary().cipher(),
                &iv,
                parts[0].as_bytes(),
                &mut buffer,
                &tag
            ),
            Err(OpenError::Decrypt)
        );
    }

    #[test]
    fn random_nonces_differ() {
        let keys = ring(&[("k1", 1)]);
        let a = seal(&token(), &keys, SUB, 0, Nonce::random().expect("rng")).expect("seals");
        let b = seal(&token(), &keys, SUB, 0, Nonce::random().expect("rng")).expect("seals");
        assert_ne!(a, b);
    }
}
