//! The sanitizer: a copy of a user that is safe to hand to later rules, the ID token and
//! the browser.
//!
//! It works on plain JSON rather than on [`crate::User`] so that it never fails on a
//! field it does not understand: whatever it does not remove, it copies untouched.

use crate::json::{Json, Object};

use crate::error::{Error, Result};

/// Identity fields removed by [`sanitize`]: the `IdP`'s tokens and their expiry data.
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
pub fn sanitize(user: &Json) -> Result<Json> {
    let object = user.as_object().ok_or(Error::UserInvalid)?;
    let mut out = Object::new();
    for (name, value) in object.iter() {
        let cleaned = match name {
            "identities" => match value {
                Json::Array(identities) => Some(Json::Array(
                    identities
                        .iter()
                        .filter_map(Json::as_object)
                        .map(|identity| Json::Object(without(identity, IDENTITY_SECRET_FIELDS)))
                        .collect(),
                )),
                _ => None,
            },
            "app_metadata" => match value {
                Json::Object(metadata) => {
                    Some(Json::Object(without(metadata, APP_METADATA_SECRET_FIELDS)))
                }
                Json::Null => Some(Json::Null),
                _ => None,
            },
            _ => Some(value.clone()),
        };
        if let Some(cleaned) = cleaned {
            out.insert(name, cleaned);
        }
    }
    Ok(Json::Object(out))
}

fn without(object: &Object, removed: &[&str]) -> Object {
    object
        .iter()
        .filter(|(name, _)| !removed.contains(name))
        .map(|(name, value)| (name.to_owned(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Json {
        jv!({
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
            jv!({
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
        let clean = sanitize(
            &jv!({"user_id": "x", "identities": {"refresh_token": "1//r"}, "app_metadata": "1//r"}),
        )
        .expect("object");
        assert_eq!(clean, jv!({"user_id": "x"}));
        let clean = sanitize(&jv!({"user_id": "x", "identities": ["1//r", {"refresh_token": "1//r", "provider": "p"}]}))
            .expect("object");
        assert_eq!(
            clean,
            jv!({"user_id": "x", "identities": [{"provider": "p"}]})
        );
        assert_eq!(sanitize(&jv!([1])), Err(Error::UserInvalid));
        assert_eq!(
            sanitize(&jv!({"app_metadata": null})).expect("object"),
            jv!({"app_metadata": null})
        );
    }
}
