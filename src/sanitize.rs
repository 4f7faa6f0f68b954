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

/// Root members removed by [`sanitize`] besides the mirrors of
/// [`APP_METADATA_SECRET_FIELDS`]: anything named like a token field. Rules and Actions
/// merge `app_metadata` into the root of the user (Auth0 docs, "User Object Properties
/// in Rules"), so a migrated user has `user.refresh_token` at the root too.
pub const ROOT_SECRET_FIELDS: &[&str] = &[
    "refresh_token",
    "access_token",
    "id_token",
    "access_token_secret",
];

/// The member names of a user, which is all [`removals`] needs to decide: no value
/// crosses the boundary, so a user with megabytes of metadata costs only its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserShape {
    /// The root member names.
    pub root: Vec<String>,
    /// `identities`: the member names of each entry (`None` for an entry that is not
    /// an object).
    pub identities: MemberShape<Vec<Option<Vec<String>>>>,
    /// `app_metadata`: its member names.
    pub app_metadata: MemberShape<Vec<String>>,
}

/// The shape of a user member of a known type (an array, an object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberShape<T> {
    /// Absent or `null`: nothing to remove.
    Absent,
    /// Of the expected type, with this content.
    Is(T),
    /// Of another type (a string where an object belongs): it cannot be shown to be
    /// token-free, so it is removed whole.
    Other,
}

/// What to remove from a user before anything else sees it: root members by name,
/// whole members, identity entries, and members of each identity and of `app_metadata`.
/// The shim applies it by building copies (Rules may hand in frozen identity objects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removals {
    /// Root members to delete.
    pub root: Vec<String>,
    /// `identities`: `None` keeps the member as it is (absent or `null`); otherwise,
    /// per entry, `None` to drop the entry or the member names to delete from it.
    pub identities: Option<Vec<Option<Vec<String>>>>,
    /// `app_metadata` members to delete; `None` keeps the member as it is.
    pub app_metadata: Option<Vec<String>>,
}

impl UserShape {
    /// Reads the shape as the shims send it: `{ root: string[], identities: (string[] |
    /// null)[] | null | "other", appMetadata: string[] | null | "other" }`.
    ///
    /// # Errors
    /// [`Error::InputInvalid`] for any other shape.
    pub fn from_value(value: Json) -> Result<Self> {
        let names = |value: &Json| -> Result<Vec<String>> {
            value
                .as_array()
                .ok_or(Error::InputInvalid)?
                .iter()
                .map(|name| name.as_str().map(str::to_owned).ok_or(Error::InputInvalid))
                .collect()
        };
        let root = names(&value["root"])?;
        let identities = match &value["identities"] {
            Json::Null => MemberShape::Absent,
            Json::String(s) if s == "other" => MemberShape::Other,
            Json::Array(entries) => MemberShape::Is(
                entries
                    .iter()
                    .map(|entry| match entry {
                        Json::Null => Ok(None),
                        names_value => names(names_value).map(Some),
                    })
                    .collect::<Result<_>>()?,
            ),
            _ => return Err(Error::InputInvalid),
        };
        let app_metadata = match &value["appMetadata"] {
            Json::Null => MemberShape::Absent,
            Json::String(s) if s == "other" => MemberShape::Other,
            names_value => MemberShape::Is(names(names_value)?),
        };
        Ok(Self {
            root,
            identities,
            app_metadata,
        })
    }

    /// The shape of a user given as JSON (for [`sanitize`]).
    fn of(user: &Object) -> Self {
        let names = |object: &Object| object.iter().map(|(name, _)| name.to_owned()).collect();
        Self {
            root: names(user),
            identities: match user.get("identities") {
                None | Some(Json::Null) => MemberShape::Absent,
                Some(Json::Array(entries)) => {
                    MemberShape::Is(entries.iter().map(|e| e.as_object().map(names)).collect())
                }
                Some(_) => MemberShape::Other,
            },
            app_metadata: match user.get("app_metadata") {
                None | Some(Json::Null) => MemberShape::Absent,
                Some(Json::Object(metadata)) => MemberShape::Is(names(metadata)),
                Some(_) => MemberShape::Other,
            },
        }
    }
}

/// Decides what to remove from a user of this shape so that no token and no sealed
/// value reaches later rules, the ID token or the browser:
/// - from each identity, the fields in [`IDENTITY_SECRET_FIELDS`];
/// - from `app_metadata`, the fields in [`APP_METADATA_SECRET_FIELDS`];
/// - at the root, their mirrors and [`ROOT_SECRET_FIELDS`].
///
/// Fails closed on shapes Auth0 never produces: an identity entry that is not an object
/// is dropped, and an `identities` that is not an array or an `app_metadata` that is not
/// an object is dropped whole.
#[must_use]
pub fn removals(shape: &UserShape) -> Removals {
    let secret_root = |name: &str| {
        ROOT_SECRET_FIELDS.contains(&name) || APP_METADATA_SECRET_FIELDS.contains(&name)
    };
    let mut root: Vec<String> = shape
        .root
        .iter()
        .filter(|name| secret_root(name))
        .cloned()
        .collect();
    let secret_names = |names: &[String], secrets: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|name| secrets.contains(&name.as_str()))
            .cloned()
            .collect()
    };
    let identities = match &shape.identities {
        MemberShape::Absent => None,
        MemberShape::Is(entries) => Some(
            entries
                .iter()
                .map(|entry| {
                    entry
                        .as_ref()
                        .map(|names| secret_names(names, IDENTITY_SECRET_FIELDS))
                })
                .collect(),
        ),
        MemberShape::Other => {
            root.push("identities".to_owned());
            None
        }
    };
    let app_metadata = match &shape.app_metadata {
        MemberShape::Absent => None,
        MemberShape::Is(names) => Some(secret_names(names, APP_METADATA_SECRET_FIELDS)),
        MemberShape::Other => {
            root.push("app_metadata".to_owned());
            None
        }
    };
    Removals {
        root,
        identities,
        app_metadata,
    }
}

impl Removals {
    /// Applies the removals to a copy of `user` (the JavaScript shims do the same with
    /// their own objects).
    fn apply(&self, user: &Object) -> Object {
        let mut out = Object::new();
        for (name, value) in user.iter() {
            if self.root.iter().any(|r| r == name) {
                continue;
            }
            let cleaned = match (name, value, &self.identities, &self.app_metadata) {
                ("identities", Json::Array(entries), Some(plan), _) => Json::Array(
                    entries
                        .iter()
                        .zip(plan)
                        .filter_map(|(entry, drop)| Some((entry.as_object()?, drop.as_ref()?)))
                        .map(|(entry, drop)| Json::Object(without(entry, drop)))
                        .collect(),
                ),
                ("app_metadata", Json::Object(metadata), _, Some(drop)) => {
                    Json::Object(without(metadata, drop))
                }
                _ => value.clone(),
            };
            // Names come from an object, so they are unique already.
            out.push_unique(name.to_owned(), cleaned);
        }
        out
    }
}

/// Returns a copy of `user` with every token removed, as [`removals`] decides.
/// Everything else is copied unchanged. Pure and idempotent; the input is never
/// modified.
///
/// # Errors
/// [`Error::UserInvalid`] when `user` is not a JSON object.
pub fn sanitize(user: &Json) -> Result<Json> {
    let object = user.as_object().ok_or(Error::UserInvalid)?;
    Ok(Json::Object(removals(&UserShape::of(object)).apply(object)))
}

fn without(object: &Object, removed: &[String]) -> Object {
    let mut copy = object.clone();
    copy.retain(|name, _| !removed.iter().any(|r| r == name));
    copy
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
    fn root_mirrors_of_app_metadata_and_token_named_members_go() {
        // Rules and Actions merge app_metadata into the root of the user.
        let clean = sanitize(&jv!({
            "user_id": "google-oauth2|1",
            "refresh_token": "1//legacy",
            "sealed_refresh_tokens": {"google-oauth2": "eyJ..x.y.z"},
            "access_token": "ya29", "id_token": "eyJ", "access_token_secret": "s",
            "plan": "pro",
            "app_metadata": {"plan": "pro", "refresh_token": "1//legacy"}
        }))
        .expect("object");
        assert_eq!(
            clean,
            jv!({"user_id": "google-oauth2|1", "plan": "pro", "app_metadata": {"plan": "pro"}})
        );
    }

    #[test]
    fn removals_come_from_names_alone() {
        let shape = UserShape::from_value(jv!({
            "root": ["user_id", "refresh_token", "identities", "app_metadata", "user_metadata"],
            "identities": [["provider", "refresh_token", "expires_in"], null],
            "appMetadata": ["sealed_refresh_tokens", "roles"]
        }))
        .expect("shape");
        assert_eq!(
            removals(&shape),
            Removals {
                root: vec!["refresh_token".into()],
                identities: Some(vec![
                    Some(vec!["refresh_token".into(), "expires_in".into()]),
                    None
                ]),
                app_metadata: Some(vec!["sealed_refresh_tokens".into()]),
            }
        );
        let odd = UserShape::from_value(jv!({"root": ["identities", "app_metadata"], "identities": "other", "appMetadata": "other"}))
            .expect("shape");
        assert_eq!(removals(&odd).root, ["identities", "app_metadata"]);
        for bad in [
            jv!({"root": "x"}),
            jv!({"root": [], "identities": 5}),
            jv!({"root": [1]}),
        ] {
            assert_eq!(UserShape::from_value(bad), Err(Error::InputInvalid));
        }
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
