//! The refresh token as a secret value.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// Longest refresh token tokenseal accepts, in bytes.
///
/// Google's refresh tokens are a little over 100 bytes; 4096 leaves room for any
/// provider while keeping a sealed value far below Auth0's 32 kB per-session
/// `app_metadata` write limit, and rejects hostile megabyte-sized input early.
pub const MAX_TOKEN_LEN: usize = 4096;

/// An OAuth 2.0 refresh token: zeroized on drop, printed as `[redacted]`.
///
/// Construction validates the grammar of RFC 6749 Appendix A.17
/// (`refresh-token = 1*VSCHAR`, VSCHAR = %x20-7E) and [`MAX_TOKEN_LEN`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// Validates and wraps a refresh token.
    ///
    /// # Errors
    /// [`Error::TokenInvalid`] when the token is empty, longer than [`MAX_TOKEN_LEN`]
    /// bytes, or holds a character outside VSCHAR.
    pub fn new(token: &str) -> Result<Self> {
        if token.is_empty()
            || token.len() > MAX_TOKEN_LEN
            || !token.bytes().all(|b| (0x20..=0x7e).contains(&b))
        {
            return Err(Error::TokenInvalid);
        }
        Ok(Self(token.to_owned()))
    }

    /// Validates raw bytes (an opened plaintext) as a refresh token.
    ///
    /// # Errors
    /// [`Error::TokenInvalid`] under the same rules as [`RefreshToken::new`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        core::str::from_utf8(bytes)
            .map_err(|_| Error::TokenInvalid)
            .and_then(Self::new)
    }

    /// The token itself. The name is loud on purpose: every call site is a place where
    /// the secret leaves its wrapper.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl PartialEq for RefreshToken {
    /// Constant-time comparison: deciding whether a fresh token differs from the stored
    /// one must not leak how much of it matched.
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for RefreshToken {}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_google_shaped_token() {
        let t = RefreshToken::new("1//0gLQ-example_token.value~x").expect("valid VSCHAR");
        assert_eq!(t.expose_secret(), "1//0gLQ-example_token.value~x");
    }

    #[test]
    fn rejects_empty_long_and_non_vschar() {
        assert_eq!(RefreshToken::new(""), Err(Error::TokenInvalid));
        assert_eq!(
            RefreshToken::new(&"a".repeat(MAX_TOKEN_LEN + 1)),
            Err(Error::TokenInvalid)
        );
        assert!(RefreshToken::new(&"a".repeat(MAX_TOKEN_LEN)).is_ok());
        assert_eq!(RefreshToken::new("line\nbreak"), Err(Error::TokenInvalid));
        assert_eq!(RefreshToken::new("caf\u{e9}"), Err(Error::TokenInvalid));
        assert_eq!(
            RefreshToken::from_bytes(&[0xff, 0x41]),
            Err(Error::TokenInvalid)
        );
    }

    #[test]
    fn debug_is_redacted() {
        let t = RefreshToken::new("super-secret-refresh").expect("valid");
        let shown = format!("{t:?}");
        assert!(!shown.contains("super-secret"));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn equality_compares_content() {
        let a = RefreshToken::new("abc").expect("valid");
        assert_eq!(a, RefreshToken::new("abc").expect("valid"));
        assert_ne!(a, RefreshToken::new("abd").expect("valid"));
        assert_ne!(a, RefreshToken::new("abcd").expect("valid"));
    }
}
