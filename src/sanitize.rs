//! The sanitizer: a copy of a user that is safe to hand to later rules, the ID token and
//! the browser.
//!
//! It works on plain JSON rather than on [`crate::User`] so that it never fails on a
//! field it does not understand: whatever it does not remove, it copies untouched.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Identity fields removed by [`sanitize`]: the IdP's tokens and their expiry data.
pub const IDENTITY_SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "access_token_secret",
    "id_token",
    "expires_in",
    "expires_at",
    "refresh_token_expires_in",
    "refresh_token_expires_at",
];

/// `app_metadata` fields removed by [`sanitize`]: the sealed values and the plaintext
/// token the old "Store Google Refresh Token" rule wrote.
pub const APP_METADATA_SECRET_FIELDS: &[&str] = &["sealed_refresh_tokens", "refresh_token"];

/// Returns a copy of `user` with every token removed: the fields in
/// [`IDENTITY_SECRET_FIELDS`] from each identity and those in
/// [`APP_METADATA_SECRET_FIELDS`] from `app_metadata`. Everything else is copied
/// unchanged. Pure and idempotent; the input is never modified (Rules may hand in frozen
/// identity objects).
///
/// Fails closed on shapes Auth0 never produces: an `identities` that is not an array,
/// or an entry of it that is not an object, cannot be shown to be token-free, so it is
/// dropped (the whole member, or the entry); an `app_metadata` that is not an object is
/// dropped for the same reason.
///
/// # Errors
/// [`Error::UserInvalid`] when `user` is not a JSON object.
pub fn sanitize(user: &Value) -> Result<Value> {
    let object = user.as_object().ok_or(Error::UserInvalid)?;
    let mut out = Map::with_capacity(object.len());
    for (name, value) in object {
        let cleaned = match name.as_str() {
            "identities" => match value {
                Value::Array(identities) => Some(Value::Array(
                    identities
                        .iter()
                        .filter_map(Value::as_object)
                        .map(|identity| Value::Object(without(identity, IDENTITY_SECRET_FIELDS)))
                        .collect(),
                )),
                _ => None,
            },
            "app_metadata" => match value {
                Value::Object(metadata) => {
                    Some(Value::Object(without(metadata, APP_METADATA_SECRET_FIELDS)))
                }
                Value::Null => Some(Value::Null),
                _ => None,
            },
            _ => Some(value.clone()),
        };
        if let Some(cleaned) = cleaned {
            out.insert(name.clone(), cleaned);
        }
    }
    Ok(Value::Object(out))
}

fn without(object: &Map<String, Value>, removed: &[&str]) -> Map<String, Value> {
    // Clone-then-remove rather than filter-and-collect: collecting into a map sorts,
    // and the sort code costs more WebAssembly bytes than the whole sanitizer.
    let mut copy = object.clone();
    for name in removed {
        copy.remove(*name);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "user_id": "google-oauth2|1",
            "name": "Ada",
            "identities": [
                {"provider": "google-oauth2", "user_id": "1", "access_token": "ya29.a", "refresh_token": "1//r",
                 "access_token_secret": "s", "id_token": "eyJ", "expires_in": 3599, "expires_at": 1,
                 "isSocial": true, "profileData": {"email": "a@example.com"}},
                {"provider": "auth0", "user_id": "x", "isSocial": false}
            ],
            "app_metadata": {"plan": "pro", "refresh_token": "1//legacy",
                             "sealed_refresh_tokens": {"google-oauth2": "eyJ..x.y.z"}},
            "user_metadata": {"refresh_token": "user-controlled, not ours to touch"},
            "unknown": [1, {"a": null}]
        })
    }

    #[test]
    fn removes_exactly_the_secret_fields() {
        let clean = sanitize(&user()).expect("object");
        assert_eq!(
            clean,
            json!({
                "user_id": "google-oauth2|1",
                "name": "Ada",
                "identities": [
                    {"provider": "google-oauth2", "user_id": "1", "isSocial": true, "profileData": {"email": "a@example.com"}},
                    {"provider": "auth0", "user_id": "x", "isSocial": false}
                ],
                "app_metadata": {"plan": "pro"},
                "user_metadata": {"refresh_token": "user-controlled, not ours to touch"},
                "unknown": [1, {"a": null}]
            })
        );
    }

    #[test]
    fn is_idempotent_and_pure() {
        let input = user();
        let snapshot = input.clone();
        let once = sanitize(&input).expect("object");
        assert_eq!(sanitize(&once).expect("object"), once);
        assert_eq!(input, snapshot);
    }

    #[test]
    fn fails_closed_on_unexpected_shapes() {
        let clean = sanitize(&json!({"user_id": "x", "identities": {"refresh_token": "1//r"}, "app_metadata": "1//r"}))
            .expect("object");
        assert_eq!(clean, json!({"user_id": "x"}));
        let clean = sanitize(&json!({"user_id": "x", "identities": ["1//r", {"refresh_token": "1//r", "provider": "p"}]}))
            .expect("object");
        assert_eq!(
            clean,
            json!({"user_id": "x", "identities": [{"provider": "p"}]})
        );
        assert_eq!(sanitize(&json!([1])), Err(Error::UserInvalid));
        assert_eq!(
            sanitize(&json!({"app_metadata": null})).expect("object"),
            json!({"app_metadata": null})
        );
    }
}
