//! Raw 256-bit key material and the one place tokenseal draws randomness. Below both
//! the key ring ([`crate::keys`]) and the derivation ([`crate::derive`]), which build
//! on it.

use core::fmt;

use aes_gcm::{Aes256Gcm, KeyInit};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// Length of every key, in bytes (AES-256, RFC 7518 §5.3).
pub const KEY_LEN: usize = 32;

/// Raw key bytes; zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyMaterial([u8; KEY_LEN]);

impl KeyMaterial {
    /// Wraps 32 bytes of key material.
    #[must_use]
    pub const fn new(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Draws a fresh key from the operating system or JavaScript host RNG.
    ///
    /// # Errors
    /// [`Error::Random`] when no randomness is available.
    pub fn random() -> Result<Self> {
        random_bytes().map(Self)
    }

    /// The raw bytes, for the key derivation and the ciphers built from them.
    pub(crate) const fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The AES-256-GCM state of this key.
    pub(crate) fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.0).into())
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `N` bytes from the operating system or JavaScript host RNG: the one place tokenseal
/// draws randomness (keys, key ids, IVs).
///
/// # Errors
/// [`Error::Random`] when no randomness is available.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| Error::Random)?;
    Ok(bytes)
}
