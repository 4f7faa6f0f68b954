//! The identity providers whose refresh tokens tokenseal keeps: one [`Provider`] value
//! each, the one table of them, [`BUILT_IN`], and [`Connection`], a provider as a tenant
//! configures it (`TOKENSEAL_PROVIDERS`, the backends' `providers` option).
//!
//! Everything tokenseal knows about a provider is a field of its entry: which Auth0
//! identities are its, where its sealed value lives, which `/authorize` parameters ask
//! it for consent (and so for a new refresh token), whether every login brings a new
//! one, its token and revocation endpoints, how a client authenticates there, whether a
//! refresh names its scopes, whether it rotates refresh tokens, and what its token
//! endpoint's refusals mean. The login decision ([`crate::login`]), the backends'
//! refresh ([`token_endpoint`]) and the JavaScript views (`providerTable()` in the npm
//! package) take a provider's knowledge from its entry alone. Adding a provider is one
//! module beside [`google`] with its entry, a line in [`BUILT_IN`], and its tests.
//!
//! Auth0 documents which providers it keeps a refresh token for in "Identity Provider
//! Access Tokens" (docs-v2 `secure/tokens/access-tokens/identity-provider-access-tokens.mdx`):
//! Google, Microsoft Entra ID (Azure AD), Bitbucket, SharePoint, and any other OAuth 2.0
//! provider (custom social connections).

pub mod bitbucket;
pub mod client;
pub mod entra;
pub mod google;
pub mod oauth2;
pub mod token_endpoint;

use crate::error::{Error, RefreshError, Result};
use crate::user::{Identity, User};

/// How a client authenticates at a token or revocation endpoint with its secret
/// (RFC 6749 §2.3.1; the names are OpenID Connect Core §9's
/// `token_endpoint_auth_method` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
    /// `client_secret_basic`: `Authorization: Basic` over the form-encoded id and
    /// secret. Every RFC 6749 server supports it ("MUST support the HTTP Basic
    /// authentication scheme"), and OpenID Connect Discovery makes it the default when
    /// `token_endpoint_auth_methods_supported` is omitted.
    Basic,
}

impl ClientAuth {
    /// The OpenID Connect name: `"client_secret_post"` or `"client_secret_basic"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Post => "client_secret_post",
            Self::Basic => "client_secret_basic",
        }
    }

    /// Reads an OpenID Connect name.
    ///
    /// # Errors
    /// [`Error::ConfigInvalid`] for any other name (`private_key_jwt` and the like are
    /// not supported).
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "client_secret_post" => Ok(Self::Post),
            "client_secret_basic" => Ok(Self::Basic),
            _ => Err(Error::ConfigInvalid),
        }
    }
}

/// One identity provider for which Auth0 keeps the upstream refresh token.
#[derive(Debug, PartialEq, Eq)]
pub struct Provider {
    /// What the README and errors call it, e.g. `"Google"`.
    pub name: &'static str,
    /// The `provider` of its identities in `user.identities[]`, which is also the
    /// `strategy` of its Auth0 connections (`event.connection.strategy`,
    /// `context.connectionStrategy`).
    pub auth0_provider: &'static str,
    /// True when its values are stored under the connection's name rather than under
    /// [`Provider::auth0_provider`]: custom OAuth 2.0 connections all have the provider
    /// `oauth2`, so that name would collide (see [`Connection`]).
    pub keyed_by_connection: bool,
    /// Its own status claim, appended to the configured namespace
    /// (`<namespace>google_offline_access` is `"stored"` or `"missing"`), kept for the
    /// deployments that read it; every provider is in `<namespace>offline_access`.
    pub claim_name: Option<&'static str>,
    /// `/authorize` parameters, beyond OpenID Connect's `prompt=consent` and Auth0's
    /// `connection_scope`, that make the provider ask the user for consent again and so
    /// issue a new refresh token: `(name, value)` pairs compared exactly.
    pub consent_query: &'static [(&'static str, &'static str)],
    /// True when every login that goes to the provider can bring a new refresh token
    /// (a code exchange with offline access returns one each time), not only a first
    /// login or a consent: the Action then reads the user at every such login.
    pub new_token_every_login: bool,
    /// The `/authorize` parameters an app sends to have the user consent again and get
    /// a new refresh token (besides `connection` and `connection_scope`), as `(name,
    /// value)` pairs.
    pub reconsent_params: &'static [(&'static str, &'static str)],
    /// Scopes the provider issues a refresh token for, sent at a consent as Auth0's
    /// `connection_scope` (before the app's own): OpenID Connect's `offline_access`
    /// for custom connections (OpenID Connect Core §11).
    pub consent_scopes: &'static [&'static str],
    /// The OAuth 2.0 token endpoint a refresh is sent to (RFC 6749 §6), when it is the
    /// same for every tenant; `None` when the deployment names it (an explicit endpoint,
    /// or the issuer's discovery document).
    pub token_endpoint: Option<&'static str>,
    /// The token revocation endpoint (RFC 7009), when the provider has one for everyone.
    pub revoke_endpoint: Option<&'static str>,
    /// How a client authenticates at its endpoints unless the deployment says otherwise.
    pub client_auth: ClientAuth,
    /// True when a refresh must name the scopes it asks for (`scope`, RFC 6749 §6 makes
    /// it optional; Microsoft's v2.0 endpoint requires it).
    pub refresh_needs_scope: bool,
    /// True when a refresh can answer with a new refresh token and end the old one (the
    /// backends always seal and store a rotated token; this says what to expect).
    pub rotates: bool,
    /// The members of a token answer that list the granted scopes, space-separated, in
    /// the order they are read: RFC 6749 §5.1's `scope`, and Bitbucket's older `scopes`.
    pub scope_members: &'static [&'static str],
    /// What the token endpoint's error codes (RFC 6749 §5.2 `error`) mean for this
    /// provider, read before [`token_endpoint::RFC_6749_REFUSALS`]: each listed code maps
    /// to its stable error (see [`token_endpoint::parse_refresh_response`]).
    pub refusals: &'static [(&'static str, RefreshError)],
}

/// Every provider tokenseal knows, in the order a login looks at configured ones.
pub const BUILT_IN: &[&Provider] = &[
    &google::GOOGLE,
    &entra::ENTRA,
    &bitbucket::BITBUCKET,
    &oauth2::OAUTH2,
];

/// The provider whose refresh token the old "Store Google Refresh Token" rule kept in
/// plain text at `app_metadata.refresh_token` (`crate::login::LEGACY_KEY`): the only
/// one whose legacy plaintext tokenseal migrates.
pub const LEGACY: &Provider = &google::GOOGLE;

/// The longest Auth0 connection name (Management API `POST /api/v2/connections`,
/// `name`: 1 to 128 characters).
pub const MAX_CONNECTION_NAME: usize = 128;

/// A provider as a tenant uses it: the provider's knowledge, and the key its values are
/// stored under, `app_metadata.sealed_refresh_tokens[<key>]` (and its read record,
/// `app_metadata.tokenseal.no_token_at[<key>]`).
///
/// The key is Auth0's `provider` name for built-in connections (`google-oauth2`,
/// `waad`, `bitbucket`), and the connection's name for a custom OAuth 2.0 connection,
/// whose identities all have the provider `oauth2`: an identity of it is one with that
/// provider and that `connection`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    key: String,
    provider: &'static Provider,
}

impl Connection {
    /// A built-in provider stored under its Auth0 provider name.
    #[must_use]
    pub fn built_in(provider: &'static Provider) -> Self {
        Self {
            key: provider.auth0_provider.to_owned(),
            provider,
        }
    }

    /// Google's, the default when nothing is configured.
    #[must_use]
    pub fn google() -> Self {
        Self::built_in(&google::GOOGLE)
    }

    /// The connection stored under `key`: a built-in provider's name, or else the name
    /// of a custom OAuth 2.0 connection.
    ///
    /// # Errors
    /// [`Error::ConfigInvalid`] for `oauth2` itself (a custom connection is named by its
    /// connection name) and for a name Auth0 would not accept: 1 to
    /// [`MAX_CONNECTION_NAME`] ASCII letters, digits and single hyphens, starting and
    /// ending with a letter or digit.
    pub fn parse(key: &str) -> Result<Self> {
        if let Some(provider) = BUILT_IN
            .iter()
            .copied()
            .find(|p| !p.keyed_by_connection && p.auth0_provider == key)
        {
            return Ok(Self::built_in(provider));
        }
        let bytes = key.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= MAX_CONNECTION_NAME
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
            // Byte-wise: a `&str` pattern search would link core's str-slicing panic.
            && !bytes.windows(2).any(|pair| pair == b"--");
        if !valid || key == oauth2::OAUTH2.auth0_provider {
            return Err(Error::ConfigInvalid);
        }
        Ok(Self {
            key: key.to_owned(),
            provider: &oauth2::OAUTH2,
        })
    }

    /// The connections of configured keys (`TOKENSEAL_PROVIDERS`, a login's
    /// `providers`), in order, each once, and the error of every key that is not one
    /// ([`Connection::parse`]): the Action reports those and goes on, a login input
    /// refuses them.
    pub fn configured<'k>(keys: impl IntoIterator<Item = &'k str>) -> (Vec<Self>, Vec<Error>) {
        let mut connections: Vec<Self> = Vec::new();
        let mut refused = Vec::new();
        for key in keys {
            match Self::parse(key) {
                Ok(connection) if !connections.contains(&connection) => {
                    connections.push(connection);
                }
                Ok(_) => {}
                Err(error) => refused.push(error),
            }
        }
        (connections, refused)
    }

    /// What its sealed values are bound to besides the user (the JWE header's `idp`):
    /// the key, except for Google, whose values were sealed before providers were bound
    /// and stay readable as they are.
    #[must_use]
    pub fn idp(&self) -> Option<&str> {
        (self.provider != LEGACY).then_some(self.key.as_str())
    }

    /// Its member of `sealed_refresh_tokens`.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The provider's knowledge.
    #[must_use]
    pub const fn provider(&self) -> &'static Provider {
        self.provider
    }

    /// The `/authorize` parameters that send the user through this provider's consent and
    /// bring a new refresh token, in order: `connection` (`connection_name` when the
    /// Auth0 connection's name is not the key, as for an Entra ID connection), the
    /// provider's [`Provider::reconsent_params`], and `connection_scope` with the
    /// provider's [`Provider::consent_scopes`] then `extra_scopes`, each once,
    /// comma-separated as Auth0 takes it (docs-v2
    /// `authenticate/identity-providers/adding-scopes-for-an-external-idp.mdx`), when
    /// there are any.
    #[must_use]
    pub fn reconsent_params(
        &self,
        connection_name: Option<&str>,
        extra_scopes: &[&str],
    ) -> Vec<(&str, String)> {
        let mut params = vec![(
            "connection",
            connection_name.unwrap_or(&self.key).to_owned(),
        )];
        params.extend(
            self.provider
                .reconsent_params
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned())),
        );
        let mut scopes: Vec<&str> = Vec::new();
        for scope in self.provider.consent_scopes.iter().chain(extra_scopes) {
            if !scope.is_empty() && !scopes.contains(scope) {
                scopes.push(scope);
            }
        }
        if !scopes.is_empty() {
            params.push(("connection_scope", scopes.join(",")));
        }
        params
    }

    /// True when `identity` is one of this connection's.
    #[must_use]
    pub fn recognises(&self, identity: &Identity) -> bool {
        identity.provider == self.provider.auth0_provider
            && (!self.provider.keyed_by_connection
                || identity.connection.as_deref() == Some(self.key.as_str()))
    }

    /// True when a login went through this connection: `strategy` is
    /// `event.connection.strategy` or `context.connectionStrategy`, `name` is
    /// `event.connection.name` or `context.connection`.
    #[must_use]
    pub fn is_connection(&self, strategy: Option<&str>, name: Option<&str>) -> bool {
        strategy == Some(self.provider.auth0_provider)
            && (!self.provider.keyed_by_connection || name == Some(self.key.as_str()))
    }

    /// The identity a login captures from: the one of the Auth0 connection the login
    /// went through (`via`, its name), when it is this provider's; otherwise the primary
    /// identity when it is this connection's, otherwise the first linked one. Auth0 does
    /// not say which linked identity a login used (docs
    /// `manage-users/user-accounts/user-account-linking`), so this is the documented
    /// choice; the connection name tells two Entra ID connections apart.
    #[must_use]
    pub fn identity<'u>(&self, user: &'u User, via: Option<&str>) -> Option<&'u Identity> {
        let mut mine = user.identities.iter().filter(|i| self.recognises(i));
        let first = mine.clone().next();
        via.and_then(|name| mine.find(|i| i.connection.as_deref() == Some(name)))
            .or(first)
    }

    /// How many of this connection's identities carry a refresh token field with a
    /// value: more than one (two linked accounts) is reported, since only one is
    /// captured.
    #[must_use]
    pub fn identities_with_token(&self, user: &User) -> usize {
        user.identities
            .iter()
            .filter(|i| {
                self.recognises(i) && i.refresh_token.as_ref().is_some_and(|t| !t.is_null())
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Json;

    #[test]
    fn built_in_keys_are_unique_and_parsed() {
        for (i, provider) in BUILT_IN.iter().enumerate() {
            assert!(BUILT_IN[..i]
                .iter()
                .all(|p| p.auth0_provider != provider.auth0_provider));
            let parsed = Connection::parse(provider.auth0_provider);
            if provider.keyed_by_connection {
                assert_eq!(parsed, Err(Error::ConfigInvalid), "named by connection");
            } else {
                assert_eq!(parsed.map(|c| c.provider()), Ok(*provider));
            }
        }
    }

    #[test]
    fn other_keys_are_custom_connection_names() {
        let acme = Connection::parse("acme-idp").expect("a connection name");
        assert_eq!((acme.key(), acme.provider()), ("acme-idp", &oauth2::OAUTH2));
        let long = "a".repeat(MAX_CONNECTION_NAME);
        assert!(Connection::parse(&long).is_ok());
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "a b",
            "a_b",
            "ä",
            &format!("{long}a"),
        ] {
            assert_eq!(Connection::parse(bad), Err(Error::ConfigInvalid), "{bad:?}");
        }
    }

    #[test]
    fn the_shims_pass_every_consent_parameter_a_provider_reads() {
        for provider in BUILT_IN {
            for (name, _) in provider.consent_query {
                assert!(
                    crate::login::QUERY_FIELDS.contains(name),
                    "{name} of {} is not in QUERY_FIELDS, so the shims drop it",
                    provider.name
                );
            }
        }
    }

    #[test]
    fn endpoints_are_https_and_scope_members_listed() {
        for provider in BUILT_IN {
            assert!(provider
                .token_endpoint
                .is_none_or(|e| e.starts_with("https://")));
            assert!(provider
                .revoke_endpoint
                .is_none_or(|e| e.starts_with("https://")));
            assert_eq!(provider.scope_members.first(), Some(&"scope"));
        }
    }

    #[test]
    fn identities_are_matched_by_provider_and_for_custom_connections_by_name() {
        let user = User::from_value(jv!({
            "user_id": "auth0|1",
            "identities": [
                {"provider": "auth0", "user_id": "1", "refresh_token": "x"},
                {"provider": "google-oauth2", "user_id": "2", "refresh_token": "1//a"},
                {"provider": "google-oauth2", "user_id": "3", "refresh_token": null},
                {"provider": "google-oauth2", "user_id": "4", "refresh_token": "1//b"},
                {"provider": "oauth2", "connection": "other-idp", "user_id": "5"},
                {"provider": "oauth2", "connection": "acme-idp", "user_id": "6"}
            ]
        }))
        .expect("a user");
        let google = Connection::google();
        assert_eq!(
            google.identity(&user, None).and_then(|i| i.user_id.clone()),
            Some(jv!("2"))
        );
        assert_eq!(google.identities_with_token(&user), 2);
        let acme = Connection::parse("acme-idp").expect("valid");
        assert_eq!(
            acme.identity(&user, None).and_then(|i| i.user_id.clone()),
            Some(jv!("6"))
        );
        assert!(acme.is_connection(Some("oauth2"), Some("acme-idp")));
        assert!(!acme.is_connection(Some("oauth2"), Some("other-idp")));
        assert!(!acme.is_connection(Some("acme-idp"), Some("acme-idp")));
        let entra = Connection::parse("waad").expect("valid");
        assert!(entra.is_connection(Some("waad"), Some("any-connection-name")));
        let none = User::from_value(Json::parse(r#"{"user_id":"auth0|1"}"#).expect("JSON"))
            .expect("a user");
        assert!(google.identity(&none, None).is_none());
        // Two Entra ID connections: the one the login went through is captured.
        let two = User::from_value(jv!({
            "user_id": "auth0|1",
            "identities": [
                {"provider": "waad", "connection": "contoso", "user_id": "c"},
                {"provider": "waad", "connection": "fabrikam", "user_id": "f"}
            ]
        }))
        .expect("a user");
        let pick = |via| entra.identity(&two, via).and_then(|i| i.user_id.clone());
        assert_eq!(pick(Some("fabrikam")), Some(jv!("f")));
        assert_eq!(pick(Some("elsewhere")), Some(jv!("c")));
        assert_eq!(pick(None), Some(jv!("c")));
    }

    #[test]
    fn reconsent_asks_each_provider_for_a_new_refresh_token() {
        let pairs = |c: &Connection, name: Option<&str>, extra: &[&str]| {
            c.reconsent_params(name, extra)
                .into_iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
        };
        let google = Connection::google();
        assert_eq!(
            pairs(&google, None, &["drive", "calendar"]),
            [
                "connection=google-oauth2",
                "access_type=offline",
                "prompt=consent",
                "connection_scope=drive,calendar"
            ]
        );
        let acme = Connection::parse("acme-idp").expect("valid");
        assert_eq!(
            pairs(&acme, None, &["offline_access", "email"]),
            [
                "connection=acme-idp",
                "prompt=consent",
                "connection_scope=offline_access,email"
            ]
        );
        let entra = Connection::parse("waad").expect("valid");
        assert_eq!(
            pairs(&entra, Some("contoso"), &[]),
            ["connection=contoso", "prompt=consent"]
        );
    }
}
