//! A table-driven decoder of unpadded base64url (RFC 4648 §5, as JOSE uses it: RFC 7515
//! §2) for the **public** parts of a sealed value: the protected header, the IV, the
//! ciphertext and the tag.
//!
//! Key material is decoded with `base64ct`, whose decoder runs in constant time. That
//! care buys nothing here, where every input is public (anyone who can read
//! `app_metadata` sees it), and it is the most expensive step of opening: base64ct
//! computes each character's value arithmetically, which took a fifth of `open` in
//! WebAssembly. A lookup table does the same work in a fraction of the time.
//!
//! The decoder is exactly as strict as `base64ct::Base64UrlUnpadded`, which it replaces
//! on these inputs (a differential property test holds it to that): only the 64
//! characters of the URL-safe alphabet, no padding, no length of the form 4n + 1, and
//! the unused low bits of a final partial group must be zero. Strictness is what makes
//! every character of a sealed value matter: a second spelling of the same bytes would
//! open.

use crate::error::{OpenError, Result};

/// Marks a byte outside the alphabet in [`SEXTETS`].
const INVALID: u8 = 0xff;

/// The value of each byte as a base64url digit, or [`INVALID`].
const SEXTETS: [u8; 256] = {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut table = [INVALID; 256];
    let mut value = 0;
    while value < ALPHABET.len() {
        table[ALPHABET[value] as usize] = value as u8;
        value += 1;
    }
    table
};

/// The exact number of bytes `len` base64url characters decode to, or `None` for a
/// length no canonical encoding has (4n + 1).
#[must_use]
pub const fn decoded_len(len: usize) -> Option<usize> {
    match len % 4 {
        1 => None,
        rem => Some(len / 4 * 3 + rem.saturating_sub(1)),
    }
}

/// Decodes `input`, appending to `out`; the callers size `out` with [`decoded_len`] first,
/// so it never reallocates (a buffer that will hold plaintext after in-place decryption
/// must not leave copies behind). A length of the form 4n + 1 fails at the remainder.
/// On error `out` may hold part of the output, which the caller discards.
fn decode_into(input: &str, out: &mut Vec<u8>) -> Result<(), OpenError> {
    let sextet = |byte: u8| match SEXTETS[usize::from(byte)] {
        INVALID => Err(OpenError::SealedMalformed),
        value => Ok(u32::from(value)),
    };
    let mut groups = input.as_bytes().chunks_exact(4);
    for group in &mut groups {
        let &[a, b, c, d] = group else {
            return Err(OpenError::SealedMalformed);
        };
        let bits = sextet(a)? << 18 | sextet(b)? << 12 | sextet(c)? << 6 | sextet(d)?;
        out.extend_from_slice(&bits.to_be_bytes()[1..]);
    }
    match *groups.remainder() {
        [] => {}
        [a, b] => {
            let bits = sextet(a)? << 6 | sextet(b)?;
            // 12 bits carry one byte: the low 4 must be zero (RFC 4648 §3.5).
            if bits & 0xf != 0 {
                return Err(OpenError::SealedMalformed);
            }
            out.push((bits >> 4) as u8);
        }
        [a, b, c] => {
            let bits = sextet(a)? << 12 | sextet(b)? << 6 | sextet(c)?;
            // 18 bits carry two bytes: the low 2 must be zero.
            if bits & 0x3 != 0 {
                return Err(OpenError::SealedMalformed);
            }
            out.extend_from_slice(&((bits >> 2) as u16).to_be_bytes());
        }
        _ => return Err(OpenError::SealedMalformed),
    }
    Ok(())
}

/// Decodes `input` into a new vector of exactly the decoded length.
///
/// # Errors
/// [`OpenError::SealedMalformed`] for anything but canonical unpadded base64url.
pub fn decode(input: &str) -> Result<Vec<u8>, OpenError> {
    let mut out = Vec::with_capacity(decoded_len(input.len()).ok_or(OpenError::SealedMalformed)?);
    decode_into(input, &mut out)?;
    Ok(out)
}

/// Decodes `input` into an array it must fill exactly (an IV or a tag).
///
/// # Errors
/// [`OpenError::SealedMalformed`] when `input` is not canonical base64url of `N` bytes.
pub fn decode_exact<const N: usize>(input: &str) -> Result<[u8; N], OpenError> {
    if decoded_len(input.len()) != Some(N) {
        return Err(OpenError::SealedMalformed);
    }
    let mut bytes = Vec::with_capacity(N);
    decode_into(input, &mut bytes)?;
    bytes.try_into().map_err(|_| OpenError::SealedMalformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64UrlUnpadded, Encoding};

    /// RFC 4648 §10's vectors, in the URL-safe alphabet without padding.
    #[test]
    fn rfc_4648_vectors() {
        for (text, encoded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(decode(encoded), Ok(text.as_bytes().to_vec()), "{encoded}");
        }
        // The two characters where base64url differs from base64.
        assert_eq!(decode("-_8"), Ok(vec![0xfb, 0xff]));
        assert_eq!(decode("+/8"), Err(OpenError::SealedMalformed));
    }

    #[test]
    fn non_canonical_spellings_are_refused() {
        // "Zg" is "f"; "Zh" has a low bit set that carries nothing.
        for bad in [
            "Zh", "Zm9", "Zm9=", "Zg==", "Z", "Zm9vY", " Zm9v", "Zm9v\n", "Zm 9v",
        ] {
            assert_eq!(decode(bad), Err(OpenError::SealedMalformed), "{bad:?}");
            assert!(Base64UrlUnpadded::decode_vec(bad).is_err(), "{bad:?}");
        }
        assert_eq!(decode("Zm8"), Ok(b"fo".to_vec()));
        assert_eq!(
            decode("Zm9"),
            Err(OpenError::SealedMalformed),
            "the low two bits of 9 are set"
        );
    }

    #[test]
    fn exact_lengths() {
        assert_eq!(decode_exact::<2>("Zm8"), Ok(*b"fo"));
        assert_eq!(decode_exact::<3>("Zm8"), Err(OpenError::SealedMalformed));
        assert_eq!(decode_exact::<1>("Zm8"), Err(OpenError::SealedMalformed));
        assert_eq!(decode_exact::<12>("AAAAAAAAAAAAAAAA"), Ok([0; 12]));
    }

    #[test]
    fn lengths_match_the_output() {
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let encoded = Base64UrlUnpadded::encode_string(&bytes);
            assert_eq!(decoded_len(encoded.len()), Some(len as usize));
            let decoded = decode(&encoded).expect("canonical");
            assert_eq!(
                (decoded.len(), decoded.capacity()),
                (len as usize, len as usize)
            );
            assert_eq!(decoded, bytes);
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod differential {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            /// Over the alphabet, padding, the other base64 alphabet and whitespace, this
            /// decoder accepts exactly what base64ct accepts, with the same bytes.
            #[test]
            fn agrees_with_base64ct(text in "[A-Za-z0-9_=+/ -]{0,24}") {
                prop_assert_eq!(decode(&text).ok(), Base64UrlUnpadded::decode_vec(&text).ok(), "{:?}", text);
            }

            /// Every encoding of random bytes, and every one-character change to it.
            #[test]
            fn agrees_on_encodings_and_their_edits(
                bytes in prop::collection::vec(any::<u8>(), 0..40),
                position in any::<prop::sample::Index>(),
                replacement in "[A-Za-z0-9_-]",
            ) {
                let encoded = Base64UrlUnpadded::encode_string(&bytes);
                prop_assert_eq!(decode(&encoded), Ok(bytes));
                if !encoded.is_empty() {
                    let at = position.index(encoded.len());
                    let edited = [&encoded[..at], replacement.as_str(), &encoded[at + 1..]].concat();
                    prop_assert_eq!(decode(&edited).ok(), Base64UrlUnpadded::decode_vec(&edited).ok(), "{:?}", edited);
                }
            }
        }
    }
}
