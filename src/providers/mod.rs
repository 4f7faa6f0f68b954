//! The identity providers whose refresh tokens tokenseal keeps: one [`Provider`] value
//! each, and the one table of them, [`BUILT_IN`].
//!
//! Everything tokenseal knows about a provider is a field of its entry: which Auth0
//! identities are its, where its sealed value lives, which `/authorize` parameters ask
//! it for consent (and so for a new refresh token), its token and revocation endpoints,
//! and what its token endpoint's refusals mean. The login decision
//! ([`crate::login`]), the backends' refresh ([`token_endpoint`]) and the JavaScript
//! views (`providerTable()` in the npm package) take a provider's knowledge from its
//! entry alone. Adding a provider's knowledge is one entry here (a module beside
//! [`google`]) plus its tests; which providers a login captures is still Google alone
//! ([`crate::login::plan_login`]).

pub mod google;
pub mod token_endpoint;

use crate::error::RefreshError;
use crate::user::{Identity, User};

/// One identity provider for which Auth0 keeps the upstream refresh token.
///
/// Auth0 documents which providers those are in "Identity Provider Access Tokens"
/// (docs-v2 `secure/tokens/access-tokens/identity-provider-access-tokens.mdx`).
#[derive(Debug, PartialEq, Eq)]
pub struct Provider {
    /// Where the provider's sealed value is stored,
    /// `app_metadata.sealed_refresh_tokens[key]`, and its read record,
    /// `app_metadata.tokenseal.no_token_at[key]`. For built-in connections this is
    /// Auth0's `provider` name (`"google-oauth2"`).
    pub key: &'static str,
    /// The `provider` of the provider's identities in `user.identities[]`, which is
    /// also the `strategy` of its Auth0 connection (`event.connection.strategy`,
    /// `context.connectionStrategy`).
    pub auth0_provider: &'static str,
    /// The status claim, appended to the configured namespace:
    /// `<namespace><claim_name>` is `"stored"` or `"missing"`.
    pub claim_name: &'static str,
    /// `/authorize` parameters, beyond OpenID Connect's `prompt=consent` and Auth0's
    /// `connection_scope`, that make the provider ask the user for consent again and so
    /// issue a new refresh token: `(name, value)` pairs compared exactly.
    pub consent_query: &'static [(&'static str, &'static str)],
    /// The `/authorize` parameters an app sends to have the user consent again and get
    /// a new refresh token (besides `connection=<key>`), as `(name, value)` pairs.
    pub reconsent_params: &'static [(&'static str, &'static str)],
    /// The OAuth 2.0 token endpoint a refresh is sent to (RFC 6749 §6).
    pub token_endpoint: &'static str,
    /// The token revocation endpoint (RFC 7009), when the provider has one.
    pub revoke_endpoint: Option<&'static str>,
    /// What the token endpoint's error codes (RFC 6749 §5.2 `error`) mean for this
    /// provider, read before [`token_endpoint::RFC_6749_REFUSALS`]: each listed code maps
    /// to its stable error (see [`token_endpoint::parse_refresh_response`]).
    pub refusals: &'static [(&'static str, RefreshError)],
}

/// Every provider tokenseal knows, in the order logins look at them.
pub const BUILT_IN: &[&Provider] = &[&google::GOOGLE];

/// The provider whose refresh token the old "Store Google Refresh Token" rule kept in
/// plain text at `app_metadata.refresh_token` (`crate::login::LEGACY_KEY`): the only
/// one whose legacy plaintext tokenseal migrates.
pub const LEGACY: &Provider = &google::GOOGLE;

impl Provider {
    /// The built-in provider stored under `key`, if any.
    #[must_use]
    pub fn find(key: &str) -> Option<&'static Self> {
        BUILT_IN.iter().copied().find(|p| p.key == key)
    }

    /// True when `identity` is one of this provider's.
    #[must_use]
    pub fn recognises(&self, identity: &Identity) -> bool {
        identity.provider == self.auth0_provider
    }

    /// True when a login went through this provider's connection (`strategy` is
    /// `event.connection.strategy` or `context.connectionStrategy`).
    #[must_use]
    pub fn is_connection(&self, strategy: Option<&str>) -> bool {
        strategy == Some(self.auth0_provider)
    }

    /// The identity of this provider a login captures from: the primary identity when
    /// it is this provider's, otherwise the first linked one. Auth0 does not say which
    /// linked identity a login used (docs
    /// `manage-users/user-accounts/user-account-linking`), so this is the documented
    /// choice.
    #[must_use]
    pub fn identity<'u>(&self, user: &'u User) -> Option<&'u Identity> {
        user.identities.iter().find(|i| self.recognises(i))
    }

    /// How many of this provider's identities carry a refresh token field with a
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
    fn keys_are_unique_and_found() {
        for (i, provider) in BUILT_IN.iter().enumerate() {
            assert_eq!(Provider::find(provider.key), Some(*provider));
            assert!(BUILT_IN[..i].iter().all(|p| p.key != provider.key));
        }
        assert_eq!(Provider::find("oauth2"), None);
    }

    #[test]
    fn the_shims_pass_every_consent_parameter_a_provider_reads() {
        for provider in BUILT_IN {
            for (name, _) in provider.consent_query {
                assert!(
                    crate::login::QUERY_FIELDS.contains(name),
                    "{name} of {} is not in QUERY_FIELDS, so the shims drop it",
                    provider.key
                );
            }
        }
    }

    #[test]
    fn endpoints_are_https() {
        for provider in BUILT_IN {
            assert!(provider.token_endpoint.starts_with("https://"));
            assert!(provider
                .revoke_endpoint
                .is_none_or(|e| e.starts_with("https://")));
        }
    }

    #[test]
    fn the_primary_identity_is_preferred_and_tokens_are_counted() {
        let user = User::from_value(jv!({
            "user_id": "auth0|1",
            "identities": [
                {"provider": "auth0", "user_id": "1", "refresh_token": "x"},
                {"provider": "google-oauth2", "user_id": "2", "refresh_token": "1//a"},
                {"provider": "google-oauth2", "user_id": "3", "refresh_token": null},
                {"provider": "google-oauth2", "user_id": "4", "refresh_token": "1//b"}
            ]
        }))
        .expect("a user");
        let google = &google::GOOGLE;
        assert_eq!(
            google.identity(&user).and_then(|i| i.user_id.clone()),
            Some(jv!("2"))
        );
        assert_eq!(google.identities_with_token(&user), 2);
        let none = User::from_value(Json::parse(r#"{"user_id":"auth0|1"}"#).expect("JSON"))
            .expect("a user");
        assert!(google.identity(&none).is_none());
    }
}
