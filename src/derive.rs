//! Keys derived from a ring key, one per purpose, so that no key is ever used for two
//! things: the ring key itself seals refresh tokens (any JOSE library opens those with
//! it); derived keys fingerprint tokens and seal cache entries.
//!
//! The derivation is the KDF in counter mode of NIST SP 800-108r1 §4.1 with AES-256-CMAC
//! (NIST SP 800-38B, RFC 4493) as the PRF:
//!
//! ```text
//! K(purpose) = CMAC(K, [1]₃₂ ‖ label ‖ 0x00 ‖ [256]₃₂) ‖ CMAC(K, [2]₃₂ ‖ label ‖ 0x00 ‖ [256]₃₂)
//! ```
//!
//! with an empty context. CMAC reuses the AES core the sealed format already links, so
//! the WebAssembly module gains a few hundred bytes rather than a hash function. The
//! labels are fixed constants, which no input can influence, so the key-control concern
//! SP 800-108r1 raises for CMAC with attacker-chosen fixed input does not apply.
//! `openssl kdf ... -kdfopt mac:CMAC -kdfopt mode:counter KBKDF` computes the same bytes
//! (tests/vectors/kdf-cmac.json).

use aes::Aes256;
use cmac::{Cmac, Mac};

use crate::material::{KeyMaterial, KEY_LEN};

/// Length of a token fingerprint, in bytes: one CMAC block.
pub const FINGERPRINT_LEN: usize = 16;

/// What a derived key is for. Each purpose has its own label, and so its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Keyed fingerprints of `IdP` tokens, recorded in a sealed value's header so that a
    /// later login can tell a token Auth0 received since from the copy it captured.
    Fingerprint,
    /// Sealing values tokenseal caches where other code can read them (the Action's
    /// Management API token in `api.cache`, which every Action of the trigger sees).
    CacheSeal,
}

impl Purpose {
    /// The SP 800-108 label. Changing one changes every key derived for it.
    const fn label(self) -> &'static [u8] {
        match self {
            Self::Fingerprint => b"tokenseal fingerprint",
            Self::CacheSeal => b"tokenseal cache",
        }
    }
}

/// A CMAC-AES-256 instance keyed with `key`.
pub(crate) fn cmac(key: &[u8; KEY_LEN]) -> Cmac<Aes256> {
    <Cmac<Aes256> as cmac::digest::KeyInit>::new(key.into())
}

/// Derives the key for `purpose` from a ring key (SP 800-108r1 counter mode, above).
pub(crate) fn derive(key: &KeyMaterial, purpose: Purpose) -> KeyMaterial {
    const L_BITS: [u8; 4] = (8 * KEY_LEN as u32).to_be_bytes();
    let prf = cmac(key.bytes());
    let mut out = [0u8; KEY_LEN];
    for (i, block) in (1u32..).zip(out.chunks_exact_mut(FINGERPRINT_LEN)) {
        let mut mac = prf.clone();
        mac.update(&i.to_be_bytes());
        mac.update(purpose.label());
        mac.update(&[0]);
        mac.update(&L_BITS);
        block.copy_from_slice(&mac.finalize().into_bytes());
    }
    KeyMaterial::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn key(s: &str) -> [u8; KEY_LEN] {
        hex(s).try_into().expect("32 bytes")
    }

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../tests/vectors/kdf-cmac.json")).expect("JSON")
    }

    #[test]
    fn cmac_matches_sp_800_38b_and_its_tampered_twins_do_not() {
        let file = vectors();
        assert!(file["cmac_source"].as_str().is_some_and(|s| !s.is_empty()));
        for v in file["cmac"].as_array().expect("cmac vectors") {
            let mut mac = cmac(&key(v["key"].as_str().expect("key")));
            mac.update(&hex(v["message"].as_str().expect("message")));
            let tag = mac.finalize().into_bytes().to_vec();
            assert_eq!(tag, hex(v["tag"].as_str().expect("tag")));
            // The twin: one bit of the message flipped gives another tag.
            let mut message = hex(v["message"].as_str().expect("message"));
            message.push(0);
            message[0] ^= 1;
            let mut mac = cmac(&key(v["key"].as_str().expect("key")));
            mac.update(&message);
            assert_ne!(mac.finalize().into_bytes().to_vec(), tag);
        }
    }

    #[test]
    fn derivation_matches_openssl_kbkdf() {
        let file = vectors();
        assert!(file["kdf_source"].as_str().is_some_and(|s| !s.is_empty()));
        let purposes = [Purpose::Fingerprint, Purpose::CacheSeal];
        for v in file["kdf"].as_array().expect("kdf vectors") {
            let label = v["label"].as_str().expect("label");
            let purpose = purposes
                .into_iter()
                .find(|p| p.label() == label.as_bytes())
                .expect("a purpose of this label");
            let input = KeyMaterial::new(key(v["key"].as_str().expect("key")));
            let derived = derive(&input, purpose);
            assert_eq!(
                derived.bytes().to_vec(),
                hex(v["derived"].as_str().expect("out"))
            );
            // The twin: the other purpose, or one bit of the key, gives another key.
            let other = purposes.into_iter().find(|p| *p != purpose).expect("two");
            assert_ne!(derive(&input, other).bytes(), derived.bytes());
            let mut flipped = key(v["key"].as_str().expect("key"));
            flipped[31] ^= 0x80;
            assert_ne!(
                derive(&KeyMaterial::new(flipped), purpose).bytes(),
                derived.bytes()
            );
        }
    }
}
