//! Known-answer vectors of the sealed format (tests/vectors/tokenseal-v1.json, made by
//! an independent node:crypto implementation): tokenseal must reproduce every sealed
//! value byte for byte, open it, and reject its tampered twin with the stated code.
use crate::{jwe, KeyRing, Nonce, RefreshToken};
use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let file: Value = serde_json::from_str(include_str!("../../tests/vectors/tokenseal-v1.json"))
        .expect("vector file is JSON");
    assert!(
        file["source"].as_str().is_some_and(|s| !s.is_empty()),
        "vectors must name their source"
    );
    file["vectors"].as_array().expect("vectors array").clone()
}

fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("member {name} is a string"))
}

#[test]
fn seal_reproduces_every_vector() {
    let vectors = vectors();
    assert!(vectors.len() >= 4);
    for v in &vectors {
        let keys =
            KeyRing::from_jwk_set(&v["key_set"].to_string()).expect("vector key set is valid");
        let iv: [u8; 12] = Base64UrlUnpadded::decode_vec(text(v, "iv"))
            .expect("b64")
            .try_into()
            .expect("12 bytes");
        let token = RefreshToken::new(text(v, "token")).expect("vector token is valid");
        let sealed = jwe::seal(
            &token,
            &keys,
            text(v, "sub"),
            v["iat"].as_u64().expect("iat"),
            Nonce::from_bytes(iv),
        )
        .expect("seals");
        assert_eq!(sealed, text(v, "sealed"), "vector {}", text(v, "name"));
        let opened = jwe::open(&sealed, &keys, text(v, "sub")).expect("opens");
        assert_eq!(opened.expose_secret(), text(v, "token"));
    }
}

#[test]
fn every_tampered_twin_fails_with_its_code() {
    for v in &vectors() {
        let keys = KeyRing::from_jwk_set(&v["key_set"].to_string()).expect("valid");
        let twin = &v["tampered"];
        assert_ne!(text(twin, "sealed"), text(v, "sealed"));
        let sub = twin["open_as"].as_str().unwrap_or_else(|| text(v, "sub"));
        let error = jwe::open(text(twin, "sealed"), &keys, sub)
            .expect_err("a tampered value must not open");
        assert_eq!(
            error.code(),
            text(twin, "code"),
            "vector {} ({})",
            text(v, "name"),
            text(twin, "what")
        );
    }
}
