//! Property: changing any character of a sealed value, to anything else, makes opening
//! fail with a typed error. Strict base64url decoding matters here: a decoder that
//! ignored the unused low bits of a final character would let some edits through.
use crate::{jwe, Key, KeyMaterial, KeyRing, Nonce, RefreshToken};
use proptest::prelude::*;

const SUB: &str = "google-oauth2|1234567890";

fn keys(seed: [u8; 32]) -> KeyRing {
    KeyRing::from_keys(vec![Key::new("k1", KeyMaterial::new(seed)).expect("kid")]).expect("one key")
}

/// Replacement characters: the base64url alphabet, the separator, padding, characters
/// of the other base64 alphabet, and a multi-byte one.
fn replacement() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('A', 'Z'),
        proptest::char::range('a', 'z'),
        proptest::char::range('0', '9'),
        Just('-'),
        Just('_'),
        Just('.'),
        Just('='),
        Just('+'),
        Just('/'),
        Just('é'),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_changed_character_fails_to_open(
        seed in any::<[u8; 32]>(),
        iv in any::<[u8; 12]>(),
        token in "[ -~]{1,200}",
        position in any::<prop::sample::Index>(),
        with in replacement(),
    ) {
        let ring = keys(seed);
        let token = RefreshToken::new(&token).expect("VSCHAR");
        let sealed = jwe::seal(&token, &ring, SUB, 1_763_769_600, Nonce::from_bytes(iv)).expect("seals");
        let mut chars: Vec<char> = sealed.chars().collect();
        let at = position.index(chars.len());
        prop_assume!(chars[at] != with);
        chars[at] = with;
        let tampered: String = chars.into_iter().collect();
        let result = jwe::open(&tampered, &ring, SUB);
        prop_assert!(result.is_err(), "opened after changing index {at} to {with:?}");
        let code = result.expect_err("checked above").code();
        prop_assert!(code.starts_with("ERR_"));
    }

    #[test]
    fn dropping_or_adding_a_character_fails_to_open(
        seed in any::<[u8; 32]>(),
        iv in any::<[u8; 12]>(),
        position in any::<prop::sample::Index>(),
        with in replacement(),
        insert in any::<bool>(),
    ) {
        let ring = keys(seed);
        let token = RefreshToken::new("1//0g-refresh").expect("valid");
        let sealed = jwe::seal(&token, &ring, SUB, 0, Nonce::from_bytes(iv)).expect("seals");
        let mut chars: Vec<char> = sealed.chars().collect();
        let at = position.index(chars.len());
        if insert { chars.insert(at, with); } else { chars.remove(at); }
        let tampered: String = chars.into_iter().collect();
        prop_assert!(jwe::open(&tampered, &ring, SUB).is_err());
    }
}
