//! The old rule's encrypted values: what its commented-out advice,
//! `crypto.createCipher('aes-256-cbc', password)` with `'hex'` output, left in
//! `app_metadata.refresh_token`.
//!
//! `createCipher` derives the key and IV from the password with OpenSSL's
//! `EVP_BytesToKey` (MD5, one iteration, no salt) and is gone from current Node, so
//! tenants that followed the advice cannot read these values any more. `tokenseal
//! migrate` opens them with `TOKENSEAL_LEGACY_PASSWORD` and seals the token. Command line
//! only (feature `cli`): the WebAssembly module never links MD5 or CBC.
//!
//! Known-answer vectors: `tests/vectors/legacy-createcipher.json`, made with `openssl enc
//! -aes-256-cbc -md md5 -nosalt -k PASSWORD`, each with a wrong-password twin.

use aes::Aes256;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use md5::{Digest, Md5};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::login::is_cbc_hex;
use crate::token::RefreshToken;

/// The password of the old rule's `createCipher` call, zeroized on drop and never
/// printed.
pub struct LegacyPassword(Zeroizing<Vec<u8>>);

impl LegacyPassword {
    /// Wraps the password (`TOKENSEAL_LEGACY_PASSWORD`) as bytes, as `createCipher`
    /// took a string and hashed its UTF-8.
    #[must_use]
    pub fn new(password: &str) -> Self {
        Self(Zeroizing::new(password.as_bytes().to_vec()))
    }

    /// Decrypts one legacy value and checks that it is a refresh token.
    ///
    /// # Errors
    /// [`Error::LegacyDecrypt`] when `hex` is not the ciphertext shape (whole AES blocks
    /// of hex), when the padding is wrong (almost always: a wrong password), or when the
    /// plaintext is not a refresh token. One error for all three, as for any decryption.
    pub fn decrypt(&self, hex: &str) -> Result<RefreshToken> {
        if !is_cbc_hex(hex) {
            return Err(Error::LegacyDecrypt);
        }
        let mut buffer = Zeroizing::new(decode_hex(hex));
        let (mut key, mut iv) = evp_bytes_to_key(&self.0);
        let decryptor = cbc::Decryptor::<Aes256>::new(&key.into(), &iv.into());
        key.zeroize();
        iv.zeroize();
        let plaintext = decryptor
            .decrypt_padded_mut::<Pkcs7>(&mut buffer)
            .map_err(|_| Error::LegacyDecrypt)?;
        RefreshToken::from_bytes(plaintext).map_err(|_| Error::LegacyDecrypt)
    }
}

impl core::fmt::Debug for LegacyPassword {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LegacyPassword([redacted])")
    }
}

/// OpenSSL's `EVP_BytesToKey` with MD5, one iteration and no salt, for AES-256-CBC:
/// `D_1 = MD5(password)`, `D_i = MD5(D_{i-1} || password)`; the key is the first 32
/// bytes of `D_1 || D_2 || D_3`, the IV the next 16.
fn evp_bytes_to_key(password: &[u8]) -> ([u8; 32], [u8; 16]) {
    let mut material = Zeroizing::new([0u8; 48]);
    let mut previous: Option<[u8; 16]> = None;
    for block in material.chunks_exact_mut(16) {
        let mut md5 = Md5::new();
        if let Some(previous) = &previous {
            md5.update(previous);
        }
        md5.update(password);
        let digest: [u8; 16] = md5.finalize().into();
        block.copy_from_slice(&digest);
        previous = Some(digest);
    }
    if let Some(previous) = &mut previous {
        previous.zeroize();
    }
    let mut key = [0u8; 32];
    let mut iv = [0u8; 16];
    key.copy_from_slice(&material[..32]);
    iv.copy_from_slice(&material[32..]);
    (key, iv)
}

/// Hex digits (either case) to bytes; the caller has checked the shape.
fn decode_hex(hex: &str) -> Vec<u8> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    };
    hex.as_bytes()
        .chunks_exact(2)
        .map(|pair| digit(pair[0]) << 4 | digit(pair[1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let file: Value =
            serde_json::from_str(include_str!("../tests/vectors/legacy-createcipher.json"))
                .expect("JSON");
        assert!(file["source"].as_str().is_some_and(|s| !s.is_empty()));
        file["vectors"].as_array().expect("vectors").clone()
    }

    #[test]
    fn decrypts_what_openssl_and_create_cipher_wrote() {
        let vectors = vectors();
        assert!(vectors.len() >= 3);
        for v in &vectors {
            let password = LegacyPassword::new(v["password"].as_str().expect("password"));
            let hex = v["hex"].as_str().expect("hex");
            let token = password.decrypt(hex).expect("decrypts");
            assert_eq!(token.expose_secret(), v["token"].as_str().expect("token"));
            assert_eq!(
                password
                    .decrypt(&hex.to_uppercase())
                    .map(|t| t.expose_secret().to_owned()),
                Ok(token.expose_secret().to_owned()),
                "hex in either case"
            );
        }
    }

    #[test]
    fn every_wrong_password_twin_fails_with_one_code() {
        for v in &vectors() {
            let wrong = LegacyPassword::new(v["wrong_password"].as_str().expect("twin"));
            assert_eq!(
                wrong.decrypt(v["hex"].as_str().expect("hex")).map(|_| ()),
                Err(Error::LegacyDecrypt)
            );
        }
    }

    #[test]
    fn tampered_or_misshapen_values_fail() {
        let v = &vectors()[0];
        let password = LegacyPassword::new(v["password"].as_str().expect("password"));
        let hex = v["hex"].as_str().expect("hex");
        // The last block's last byte flipped: the padding (or the token) is wrong.
        let mut tampered = hex.to_owned();
        let last = if tampered.ends_with('0') { "1" } else { "0" };
        tampered.replace_range(tampered.len() - 1.., last);
        assert_eq!(
            password.decrypt(&tampered).map(|_| ()),
            Err(Error::LegacyDecrypt)
        );
        for bad in ["", "abc", &hex[..hex.len() - 2], "zz".repeat(16).as_str()] {
            assert_eq!(password.decrypt(bad).map(|_| ()), Err(Error::LegacyDecrypt));
        }
        assert_eq!(format!("{password:?}"), "LegacyPassword([redacted])");
    }
}
