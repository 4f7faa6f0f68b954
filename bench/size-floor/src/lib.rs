//! The dependency floor of tokenseal's WebAssembly module: seal and open a compact
//! dir/A256GCM JWE under one raw key, and one serde-wasm-bindgen serialization. Size
//! benchmark only; it validates almost nothing and must not be used to protect anything.
#![forbid(unsafe_code)]

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64ct::{Base64UrlUnpadded as B64, Encoding};
use serde::Serialize;
use wasm_bindgen::prelude::*;

fn fail(code: &str) -> JsValue {
    js_sys::Error::new(code).into()
}

fn cipher(key: &str) -> Result<Aes256Gcm, JsValue> {
    let key = B64::decode_vec(key).map_err(|_| fail("ERR_KEY"))?;
    Aes256Gcm::new_from_slice(&key).map_err(|_| fail("ERR_KEY"))
}

/// Seals `token` with the base64url key `key`; the header names `sub`.
///
/// # Errors
/// A JS `Error` for a bad key or no randomness.
#[wasm_bindgen]
pub fn seal(token: &str, key: &str, sub: &str) -> Result<String, JsValue> {
    let mut iv = [0u8; 12];
    getrandom::fill(&mut iv).map_err(|_| fail("ERR_RANDOM"))?;
    let header = B64::encode_string(
        [
            "{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"sub\":\"",
            sub,
            "\"}",
        ]
        .concat()
        .as_bytes(),
    );
    let mut body = token.as_bytes().to_vec();
    let tag = cipher(key)?
        .encrypt_in_place_detached(Nonce::from_slice(&iv), header.as_bytes(), &mut body)
        .map_err(|_| fail("ERR_SEAL"))?;
    Ok([
        header.as_str(),
        "",
        &B64::encode_string(&iv),
        &B64::encode_string(&body),
        &B64::encode_string(&tag),
    ]
    .join("."))
}

/// Opens what [`seal`] made.
///
/// # Errors
/// A JS `Error` for a malformed value, a bad key or a failed decryption.
#[wasm_bindgen]
pub fn open(sealed: &str, key: &str) -> Result<String, JsValue> {
    let parts: Vec<&str> = sealed.split('.').collect();
    let [header, "", iv, body, tag] = parts[..] else {
        return Err(fail("ERR_SHAPE"));
    };
    let iv = B64::decode_vec(iv).map_err(|_| fail("ERR_SHAPE"))?;
    let tag = B64::decode_vec(tag).map_err(|_| fail("ERR_SHAPE"))?;
    let mut body = B64::decode_vec(body).map_err(|_| fail("ERR_SHAPE"))?;
    if iv.len() != 12 || tag.len() != 16 {
        return Err(fail("ERR_SHAPE"));
    }
    cipher(key)?
        .decrypt_in_place_detached(
            Nonce::from_slice(&iv),
            header.as_bytes(),
            &mut body,
            Tag::from_slice(&tag),
        )
        .map_err(|_| fail("ERR_DECRYPT"))?;
    String::from_utf8(body).map_err(|_| fail("ERR_TOKEN"))
}

#[derive(Serialize)]
struct Header<'a> {
    kid: &'a str,
    sub: &'a str,
}

/// One typed result through serde-wasm-bindgen, as `inspect` returns one.
///
/// # Errors
/// A JS `Error` if serialization fails.
#[wasm_bindgen]
pub fn header(kid: &str, sub: &str) -> Result<JsValue, JsValue> {
    Header { kid, sub }
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| fail("ERR_SERIALIZE"))
}
