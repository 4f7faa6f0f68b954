//! Views of an Auth0 user.
//!
//! One shape covers the three places a user comes from, because Auth0 uses the same
//! field names in all of them and only the presence of token fields differs:
//!
//! - a Rule's `user`: `identities[i]` carry `access_token`, `refresh_token`, ...;
//! - an Action's `event.user`: identities carry only `connection`, `provider`,
//!   `user_id`, `profileData` and `isSocial` (Auth0 docs, "Actions limitations":
//!   upstream `IdP` tokens are not exposed);
//! - the Management API's `GET /api/v2/users/{id}` with `read:user_idp_tokens`:
//!   identities carry the tokens again.
//!
//! Every field tokenseal does not use is kept in `other`. Token fields are held as [`SecretField`]: any JSON value, printed
//! as `[redacted]`, validated only when used, so a hostile value (a number, a megabyte
//! string) becomes a typed error at that point instead of failing the whole user.

use core::fmt;

use crate::json::{Json, Object};
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::token::RefreshToken;

/// A JSON value that holds, or claims to hold, a secret. Never printed; string content
/// is zeroized on drop.
#[derive(Clone, Default, PartialEq)]
pub struct SecretField(Json);

impl SecretField {
    /// Wraps a JSON value that holds a secret.
    #[must_use]
    pub fn new(value: Json) -> Self {
        Self(value)
    }

    /// The value as a refresh token.
    ///
    /// # Errors
    /// [`Error::TokenInvalid`] when it is not a string or not a valid refresh token.
    pub fn refresh_token(&self) -> Result<RefreshToken> {
        self.0
            .as_str()
            .ok_or(Error::TokenInvalid)
            .and_then(RefreshToken::new)
    }

    /// The value as a string, when it is one. Loud like [`RefreshToken::expose_secret`]:
    /// every call site is a place where the secret leaves its wrapper.
    #[must_use]
    pub fn expose_str(&self) -> Option<&str> {
        self.0.as_str()
    }

    /// True for JSON `null`, which Auth0 uses for "no value".
    #[must_use]
    pub fn is_null(&self) -> bool {
        self.0.is_null()
    }
}

impl fmt::Debug for SecretField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for SecretField {
    fn drop(&mut self) {
        if let Json::String(s) = &mut self.0 {
            s.zeroize();
        }
    }
}

/// One entry of `user.identities`.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The identity provider, e.g. `"google-oauth2"` or `"auth0"`.
    pub provider: String,
    /// The connection name, e.g. `"google-oauth2"` or `"Username-Password-Authentication"`.
    pub connection: Option<String>,
    /// The provider's own user id (a string, or a number for some providers).
    pub user_id: Option<Json>,
    /// The `IdP` refresh token (Rules and Management API reads only).
    pub refresh_token: Option<SecretField>,
    /// The `IdP` access token (Rules and Management API reads only).
    pub access_token: Option<SecretField>,
    /// The OAuth 1.0a token secret of providers such as Twitter.
    pub access_token_secret: Option<SecretField>,
    /// The `IdP` ID token, when a provider returns one.
    pub id_token: Option<SecretField>,
    /// Every other field (`isSocial`, `profileData`, `expires_in`, ...), kept as is.
    pub other: Object,
}

impl Identity {
    /// Reads one identity from a JSON value.
    ///
    /// # Errors
    /// [`Error::UserInvalid`] when the value is not an object, or `provider` or
    /// `connection` is present and not a string.
    pub fn from_value(value: Json) -> Result<Self> {
        let Json::Object(fields) = value else {
            return Err(Error::UserInvalid);
        };
        let mut identity = Self::default();
        for (name, value) in fields {
            match (name.as_str(), value) {
                ("provider", Json::String(provider)) => identity.provider = provider,
                ("connection", Json::String(connection)) => identity.connection = Some(connection),
                ("provider" | "connection", Json::Null) => {}
                ("provider" | "connection", _) => return Err(Error::UserInvalid),
                ("user_id", value) => identity.user_id = Some(value),
                ("refresh_token", value) => identity.refresh_token = Some(SecretField(value)),
                ("access_token", value) => identity.access_token = Some(SecretField(value)),
                ("access_token_secret", value) => {
                    identity.access_token_secret = Some(SecretField(value))
                }
                ("id_token", value) => identity.id_token = Some(SecretField(value)),
                // Names come from a parsed object, so they are unique already.
                (_, value) => identity.other.push_unique(name, value),
            }
        }
        Ok(identity)
    }
}

/// The user members the login decision reads; the shims pass only these (and of
/// `app_metadata` only [`crate::login::APP_METADATA_FIELDS`]), so that nothing else of a
/// user, however large or odd, crosses into the core.
pub const LOGIN_FIELDS: [&str; 3] = ["user_id", "identities", "app_metadata"];
/// The identity members the login decision reads; the shims pass only these.
pub const IDENTITY_FIELDS: [&str; 4] = ["provider", "connection", "user_id", "refresh_token"];

/// An Auth0 user: a Rule's `user`, an Action's `event.user`, or a Management API read.
#[derive(Debug, Clone, Default)]
pub struct User {
    /// The Auth0 `user_id` of the (primary) user, e.g. `"google-oauth2|1234"` or
    /// `"auth0|abcd"` when the provider's identity is a linked one. Sealed values are bound to it.
    pub user_id: String,
    /// Primary identity first, then linked ones.
    pub identities: Vec<Identity>,
    /// The user's `app_metadata`, absent or `null` when there is none.
    pub app_metadata: Option<Object>,
    /// Every other field, kept as is.
    pub other: Object,
}

impl User {
    /// Reads a user from a JSON value.
    ///
    /// The view is read by hand rather than by `#[derive(Deserialize)]`: every derived
    /// deserializer is compiled once per input format and drags serde's formatted error
    /// messages (float printing included) into the WebAssembly module, which tripled
    /// its size. Reading from one `Value` type keeps the module small.
    ///
    /// # Errors
    /// [`Error::UserInvalid`] when the value does not have Auth0's user shape: not an
    /// object, no string `user_id`, `identities` not an array of objects, or
    /// `app_metadata` not an object. The error never repeats the input.
    pub fn from_value(value: Json) -> Result<Self> {
        let Json::Object(fields) = value else {
            return Err(Error::UserInvalid);
        };
        let mut user_id = None;
        let mut identities = Vec::new();
        let mut app_metadata = None;
        let mut other = Object::new();
        for (name, value) in fields {
            match (name.as_str(), value) {
                ("user_id", Json::String(id)) => user_id = Some(id),
                ("identities", Json::Array(items)) => {
                    identities = items
                        .into_iter()
                        .map(Identity::from_value)
                        .collect::<Result<_>>()?;
                }
                ("identities", Json::Null) => {}
                ("app_metadata", Json::Object(map)) => app_metadata = Some(map),
                ("app_metadata", Json::Null) => {}
                ("user_id" | "identities" | "app_metadata", _) => return Err(Error::UserInvalid),
                (_, value) => other.push_unique(name, value),
            }
        }
        Ok(Self {
            user_id: user_id.ok_or(Error::UserInvalid)?,
            identities,
            app_metadata,
            other,
        })
    }

    /// Reads a user from JSON text. Nesting deeper than [`crate::json::MAX_DEPTH`] is refused, so deep
    /// hostile input is a typed error, not a stack overflow.
    ///
    /// # Errors
    /// [`Error::UserInvalid`], as for [`User::from_value`], and for text that is not JSON.
    pub fn from_json(json: &str) -> Result<Self> {
        Json::parse(json)
            .map_err(|_| Error::UserInvalid)
            .and_then(Self::from_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_user() -> Json {
        jv!({
            "user_id": "google-oauth2|111",
            "email": "ada@example.com",
            "identities": [{
                "provider": "google-oauth2", "connection": "google-oauth2", "user_id": "111",
                "isSocial": true, "access_token": "ya29.access", "refresh_token": "1//refresh",
                "expires_in": 3599, "custom": {"deep": [1, 2]}
            }],
            "app_metadata": {"plan": "pro"},
            "user_metadata": {"theme": "dark"}
        })
    }

    #[test]
    fn reads_the_three_shapes() {
        let rule = User::from_value(rule_user()).expect("rule user");
        let token = rule.identities[0]
            .refresh_token
            .as_ref()
            .expect("has token");
        assert_eq!(
            token.refresh_token().expect("valid").expose_secret(),
            "1//refresh"
        );

        let action = User::from_value(jv!({
            "user_id": "google-oauth2|111",
            "identities": [{"connection": "google-oauth2", "provider": "google-oauth2", "user_id": "111",
                            "isSocial": true, "profileData": {"email": "ada@example.com"}}],
            "app_metadata": {}
        }))
        .expect("action user");
        assert!(action.identities[0].refresh_token.is_none());

        let linked = User::from_value(jv!({
            "user_id": "auth0|abc",
            "identities": [
                {"provider": "auth0", "connection": "Username-Password-Authentication", "user_id": "abc", "isSocial": false},
                {"provider": "google-oauth2", "connection": "google-oauth2", "user_id": 222, "isSocial": true,
                 "refresh_token": "1//linked", "profileData": {"name": "Ada"}}
            ]
        }))
        .expect("management API user with a linked identity");
        assert_eq!(linked.identities[1].user_id.clone(), Some(jv!(222)));
    }

    #[test]
    fn hostile_shapes_are_typed_errors() {
        for bad in [
            jv!("a string"),
            jv!({"identities": []}),
            jv!({"user_id": 5}),
            jv!({"user_id": "x", "identities": {"0": {}}}),
            jv!({"user_id": "x", "identities": ["str"]}),
            jv!({"user_id": "x", "app_metadata": "str"}),
        ] {
            assert_eq!(User::from_value(bad).map(|_| ()), Err(Error::UserInvalid));
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let json = format!(r#"{{"user_id":"x","nested":{deep}}}"#);
        assert_eq!(User::from_json(&json).map(|_| ()), Err(Error::UserInvalid));
    }

    #[test]
    fn bad_token_values_fail_only_when_used() {
        let user = User::from_value(jv!({
            "user_id": "x",
            "identities": [{"provider": "google-oauth2", "refresh_token": 42, "access_token": {"a": 1}}]
        }))
        .expect("shape is fine");
        let identity = &user.identities[0];
        assert_eq!(
            identity
                .refresh_token
                .as_ref()
                .map(SecretField::refresh_token),
            Some(Err(Error::TokenInvalid))
        );
        let huge = "x".repeat(1 << 20);
        let user = User::from_value(jv!({"user_id": "x", "identities": [{"provider": "google-oauth2", "refresh_token": huge}]}))
            .expect("shape is fine");
        let field = user.identities[0].refresh_token.as_ref().expect("present");
        assert_eq!(field.refresh_token().map(|_| ()), Err(Error::TokenInvalid));
    }

    #[test]
    fn debug_hides_tokens() {
        let user = User::from_value(rule_user()).expect("valid");
        let shown = format!("{user:?}");
        assert!(
            !shown.contains("1//refresh") && !shown.contains("ya29.access"),
            "{shown}"
        );
    }
}
