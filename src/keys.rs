//! The key ring: a JWK Set (RFC 7517 §5) of 256-bit symmetric keys.
//!
//! The first key is the primary: it seals. Every key opens, chosen by the `kid` in the
//! sealed value's header, never by trying them in turn. Rotation follows the three
//! steps Google Tink documents: add the new key (non-primary) wherever values are
//! opened, then move it first, then retire the old key once nothing is sealed under it.

use core::fmt;
use std::sync::OnceLock;

use crate::json::{Json, Object, SecretJson};
use aes::Aes256;
use aes_gcm::Aes256Gcm;
use base64ct::{Base64UrlUnpadded, Encoding};
use cmac::{Cmac, Mac};
use zeroize::Zeroizing;

use crate::derive::{self, derive, Purpose, FINGERPRINT_LEN};
use crate::error::{Error, KeySetError, Result};
use crate::material::random_bytes;
pub use crate::material::{KeyMaterial, KEY_LEN};

/// Longest accepted `kid`, in bytes. A `kid` travels in every sealed value's header.
pub const MAX_KID_LEN: usize = 128;

/// One key of the ring: its id, its material, and the cipher states built from it
/// (AES-256-GCM for sealed values, and those of its derived keys, [`crate::derive`]),
/// each expanded the first time it is used: a ring of many keys costs only the
/// schedules of the keys actually used, and a ring kept for many calls expands each
/// key once.
pub struct Key {
    kid: String,
    material: KeyMaterial,
    cipher: OnceLock<Aes256Gcm>,
    fingerprint: OnceLock<Cmac<Aes256>>,
    cache_cipher: OnceLock<Aes256Gcm>,
}

impl Key {
    /// Builds a key from its id and material.
    ///
    /// # Errors
    /// [`KeySetError::KeyIdMissing`] (index 0) when `kid` is empty, longer than
    /// [`MAX_KID_LEN`] or not printable ASCII.
    pub fn new(kid: &str, material: KeyMaterial) -> Result<Self, KeySetError> {
        if !valid_kid(kid) {
            return Err(KeySetError::KeyIdMissing { index: 0 });
        }
        Ok(Self {
            kid: kid.to_owned(),
            material,
            cipher: OnceLock::new(),
            fingerprint: OnceLock::new(),
            cache_cipher: OnceLock::new(),
        })
    }

    /// The key's id, as it appears in the `kid` of values it seals.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The expanded AES-256-GCM state. With the `zeroize` features of the AES and
    /// GHASH cores on (see Cargo.toml), it wipes its round keys when dropped.
    pub(crate) fn cipher(&self) -> &Aes256Gcm {
        self.cipher.get_or_init(|| self.material.cipher())
    }

    /// The keyed fingerprint of `secret` under this key's fingerprint key:
    /// AES-256-CMAC under [`Purpose::Fingerprint`]'s derived key. A PRF output: it tells
    /// whether two values are equal to a holder of the key and nothing to anyone else.
    pub(crate) fn fingerprint(&self, secret: &[u8]) -> [u8; FINGERPRINT_LEN] {
        let mut mac = self
            .fingerprint
            .get_or_init(|| derive::cmac(derive(&self.material, Purpose::Fingerprint).bytes()))
            .clone();
        mac.update(secret);
        mac.finalize().into_bytes().into()
    }

    /// The AES-256-GCM state of [`Purpose::CacheSeal`]'s derived key.
    pub(crate) fn cache_cipher(&self) -> &Aes256Gcm {
        self.cache_cipher
            .get_or_init(|| derive(&self.material, Purpose::CacheSeal).cipher())
    }

    /// This key as one JWK JSON object, key material included. Only key generation
    /// should need this; the result zeroizes on drop.
    #[must_use]
    pub fn to_jwk_json(&self) -> Zeroizing<String> {
        let mut jwk = Object::new();
        jwk.insert("kty", Json::from("oct"));
        jwk.insert("kid", Json::from(self.kid.as_str()));
        jwk.insert("alg", Json::from("A256GCM"));
        jwk.insert("use", Json::from("enc"));
        jwk.insert(
            "k",
            Json::String(Base64UrlUnpadded::encode_string(self.material.bytes())),
        );
        // The document is wiped when dropped, `k` included; the text is wiped by its
        // caller. Nothing else holds the key's encoding.
        SecretJson::new(Json::Object(jwk)).get().to_text_secret()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("k", &"[redacted]")
            .finish()
    }
}

/// An ordered set of keys. The first is the primary (it seals); all of them open.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<Key>,
}

impl KeyRing {
    /// Parses a JWK Set JSON string.
    ///
    /// # Errors
    /// [`KeySetError::KeySetNotJson`], [`KeySetError::KeySetEmpty`], or the key error of the first
    /// offending key ([`KeySetError::KeyType`], [`KeySetError::KeyAlgorithm`],
    /// [`KeySetError::KeyEncoding`], [`KeySetError::KeyLength`], [`KeySetError::KeyIdMissing`],
    /// [`KeySetError::KeyIdDuplicate`]). No error carries key material. A member name
    /// repeated inside the set or a key (two `k`s, say) is [`KeySetError::KeySetNotJson`]:
    /// RFC 7517 §4 lets a parser refuse it, and then no other reader of the set can
    /// pick a different key than tokenseal did.
    ///
    /// Every string the parse allocates, key material included, is wiped when this
    /// returns, on success and on every error ([`Json::parse_secret`]).
    pub fn from_jwk_set(json: &str) -> Result<Self, KeySetError> {
        let set = Json::parse_secret(json).map_err(|_| KeySetError::KeySetNotJson)?;
        let Some(Json::Array(jwks)) = set.get().get("keys") else {
            return Err(KeySetError::KeySetNotJson);
        };
        jwks.iter()
            .enumerate()
            .map(|(index, jwk)| parse_jwk(jwk, index))
            .collect::<Result<Vec<Key>, KeySetError>>()
            .and_then(Self::from_keys)
    }

    /// Builds a ring from keys already in memory, first key primary.
    ///
    /// # Errors
    /// [`KeySetError::KeySetEmpty`] for no keys, [`KeySetError::KeyIdDuplicate`] for a repeated id.
    pub fn from_keys(keys: Vec<Key>) -> Result<Self, KeySetError> {
        if keys.is_empty() {
            return Err(KeySetError::KeySetEmpty);
        }
        for (index, key) in keys.iter().enumerate() {
            if keys[..index].iter().any(|k| k.kid == key.kid) {
                return Err(KeySetError::KeyIdDuplicate { index });
            }
        }
        Ok(Self { keys })
    }

    /// The primary key: the one that seals.
    ///
    /// # Panics
    /// Never: both constructors refuse an empty ring.
    #[must_use]
    pub fn primary(&self) -> &Key {
        self.keys
            .first()
            .expect("a KeyRing is never empty: both constructors check")
    }

    /// The key with this `kid`, if the ring holds it.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// All key ids, primary first.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// The ring as a JWK Set JSON string, key material included, zeroized on drop.
    #[must_use]
    pub fn to_jwk_set_json(&self) -> Zeroizing<String> {
        let jwks: Vec<Zeroizing<String>> = self.keys.iter().map(Key::to_jwk_json).collect();
        // Sized once: growing the string would leave copies of the keys in freed memory.
        let len = jwks.iter().map(|jwk| jwk.len() + 1).sum::<usize>() + 11;
        let mut out = Zeroizing::new(String::with_capacity(len));
        out.push_str("{\"keys\":[");
        for (i, jwk) in jwks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(jwk);
        }
        out.push_str("]}");
        out
    }
}

/// A fresh key id: 12 base64url characters from 9 random bytes (72 bits), enough that
/// two keys generated independently do not collide.
///
/// # Errors
/// [`Error::Random`] when no randomness is available.
pub fn random_kid() -> Result<String> {
    let bytes: [u8; 9] = random_bytes()?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

/// Generates a new key with a fresh kid.
///
/// # Errors
/// [`Error::Random`] when no randomness is available.
pub fn generate_key() -> Result<Key, Error> {
    Ok(Key::new(&random_kid()?, KeyMaterial::random()?)?)
}

fn valid_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= MAX_KID_LEN && kid.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

fn parse_jwk(jwk: &Json, index: usize) -> Result<Key, KeySetError> {
    let member = |name: &str| jwk.get(name);
    if member("kty").and_then(Json::as_str) != Some("oct") {
        return Err(KeySetError::KeyType { index });
    }
    let kid = match member("kid").and_then(Json::as_str) {
        Some(kid) if valid_kid(kid) => kid,
        _ => return Err(KeySetError::KeyIdMissing { index }),
    };
    let optional_is =
        |name: &str, expected: &str| member(name).is_none_or(|v| v.as_str() == Some(expected));
    if !optional_is("alg", "A256GCM") || !optional_is("use", "enc") {
        return Err(KeySetError::KeyAlgorithm { index });
    }
    let k = member("k")
        .and_then(Json::as_str)
        .ok_or(KeySetError::KeyEncoding { index })?;
    // Decode into a buffer larger than a key so that "valid base64url of the wrong
    // length" and "not base64url" stay distinguishable.
    let mut buf = Zeroizing::new([0u8; 2 * KEY_LEN]);
    let decoded = match Base64UrlUnpadded::decode(k, &mut buf[..]) {
        Ok(decoded) => decoded,
        Err(base64ct::Error::InvalidLength) if k.len() > 4 * KEY_LEN => {
            return Err(KeySetError::KeyLength { index })
        }
        Err(_) => return Err(KeySetError::KeyEncoding { index }),
    };
    let bytes: [u8; KEY_LEN] = decoded
        .try_into()
        .map_err(|_| KeySetError::KeyLength { index })?;
    Key::new(kid, KeyMaterial::new(bytes)).map_err(|_| KeySetError::KeyIdMissing { index })
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"; // bytes 0..32

    fn set(keys: &str) -> String {
        format!("{{\"keys\":[{keys}]}}")
    }

    #[test]
    fn parses_a_ring_with_primary_first() {
        let json = set(&format!(
            r#"{{"kty":"oct","kid":"new","k":"{K1}","alg":"A256GCM","use":"enc"}},{{"kty":"oct","kid":"old","k":"{K1}"}}"#
        ));
        let ring = KeyRing::from_jwk_set(&json).expect("valid ring");
        assert_eq!(ring.primary().kid(), "new");
        assert!(ring.get("old").is_some());
        assert!(ring.get("nope").is_none());
        assert_eq!(ring.kids().collect::<Vec<_>>(), ["new", "old"]);
    }

    #[test]
    fn each_defect_has_its_own_error() {
        let cases: &[(&str, KeySetError)] = &[
            ("not json", KeySetError::KeySetNotJson),
            ("[]", KeySetError::KeySetNotJson),
            ("{\"keys\":{}}", KeySetError::KeySetNotJson),
            ("{\"keys\":[]}", KeySetError::KeySetEmpty),
            (
                &set(&format!(r#"{{"kty":"RSA","kid":"a","k":"{K1}"}}"#)),
                KeySetError::KeyType { index: 0 },
            ),
            (
                &set(&format!(r#"{{"kid":"a","k":"{K1}"}}"#)),
                KeySetError::KeyType { index: 0 },
            ),
            (
                &set(&format!(r#"{{"kty":"oct","k":"{K1}"}}"#)),
                KeySetError::KeyIdMissing { index: 0 },
            ),
            (
                &set(&format!(r#"{{"kty":"oct","kid":"","k":"{K1}"}}"#)),
                KeySetError::KeyIdMissing { index: 0 },
            ),
            (
                &set(&format!(r#"{{"kty":"oct","kid":7,"k":"{K1}"}}"#)),
                KeySetError::KeyIdMissing { index: 0 },
            ),
            (
                &set(&format!(
                    r#"{{"kty":"oct","kid":"a","k":"{K1}","alg":"A128GCM"}}"#
                )),
                KeySetError::KeyAlgorithm { index: 0 },
            ),
            (
                &set(&format!(
                    r#"{{"kty":"oct","kid":"a","k":"{K1}","use":"sig"}}"#
                )),
                KeySetError::KeyAlgorithm { index: 0 },
            ),
            (
                &set(r#"{"kty":"oct","kid":"a"}"#),
                KeySetError::KeyEncoding { index: 0 },
            ),
            (
                &set(r#"{"kty":"oct","kid":"a","k":5}"#),
                KeySetError::KeyEncoding { index: 0 },
            ),
            (
                &set(r#"{"kty":"oct","kid":"a","k":"AAEC+/8="}"#),
                KeySetError::KeyEncoding { index: 0 },
            ),
            (
                &set(&format!(r#"{{"kty":"oct","kid":"a","k":"{K1}="}}"#)),
                KeySetError::KeyEncoding { index: 0 },
            ),
            (
                &set(r#"{"kty":"oct","kid":"a","k":"AAECAwQFBgcICQoLDA0ODw"}"#),
                KeySetError::KeyLength { index: 0 },
            ),
            (
                &set(&format!(r#"{{"kty":"oct","kid":"a","k":"{K1}{K1}{K1}"}}"#)),
                KeySetError::KeyLength { index: 0 },
            ),
            (
                &set(&format!(
                    r#"{{"kty":"oct","kid":"a","k":"{K1}"}},{{"kty":"oct","kid":"a","k":"{K1}"}}"#
                )),
                KeySetError::KeyIdDuplicate { index: 1 },
            ),
            (
                &set(&format!(
                    r#"{{"kty":"oct","kid":"a","k":"{K1}"}},{{"kty":"oct","kid":"b","k":"AA"}}"#
                )),
                KeySetError::KeyLength { index: 1 },
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(
                KeyRing::from_jwk_set(json).map(|_| ()),
                Err(*expected),
                "input: {json}"
            );
        }
    }

    #[test]
    fn errors_and_debug_never_show_key_material() {
        let json = set(&format!(r#"{{"kty":"oct","kid":"a","k":"{K1}"}}"#));
        let ring = KeyRing::from_jwk_set(&json).expect("valid");
        let shown = format!("{ring:?}");
        assert!(!shown.contains(K1), "{shown}");
        assert!(shown.contains("[redacted]"));
        let bad = set(&format!(r#"{{"kty":"oct","kid":"a","k":"{K1}X"}}"#));
        let err = KeyRing::from_jwk_set(&bad).expect_err("33 bytes");
        assert!(!err.to_string().contains(K1));
        assert_eq!(err.code(), "ERR_KEY_LENGTH");
    }

    #[test]
    fn generated_keys_round_trip_through_jwk_set() {
        let a = generate_key().expect("rng");
        let b = generate_key().expect("rng");
        assert_ne!(a.kid(), b.kid());
        assert_eq!(a.kid().len(), 12);
        let ring = KeyRing::from_keys(vec![a, b]).expect("distinct kids");
        let json = ring.to_jwk_set_json();
        let again = KeyRing::from_jwk_set(&json).expect("own output parses");
        assert_eq!(
            again.kids().collect::<Vec<_>>(),
            ring.kids().collect::<Vec<_>>()
        );
    }

    #[test]
    fn from_keys_checks_empty_and_duplicates() {
        assert_eq!(
            KeyRing::from_keys(vec![]).map(|_| ()),
            Err(KeySetError::KeySetEmpty)
        );
        let k = || Key::new("same", KeyMaterial::new([7; KEY_LEN])).expect("valid kid");
        assert_eq!(
            KeyRing::from_keys(vec![k(), k()]).map(|_| ()),
            Err(KeySetError::KeyIdDuplicate { index: 1 })
        );
        assert!(Key::new("has space", KeyMaterial::new([7; KEY_LEN])).is_err());
    }
}
