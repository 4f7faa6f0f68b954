//! Any other OAuth 2.0 or OpenID Connect provider, through an Auth0 custom social
//! connection (Auth0 `provider` and `strategy` `oauth2`): Authgear, Okta, Keycloak,
//! another Auth0 tenant, a company's own server.
//!
//! - Auth0 keeps the refresh token of custom OAuth 2.0 connections ("Identity Provider
//!   Access Tokens": "any other OAuth 2.0 provider").
//! - Every such identity has the provider `oauth2`, so values are stored under the
//!   connection's name ([`super::Connection`]), which is the identity's `connection`.
//! - An OpenID Connect provider issues a refresh token when `offline_access` is among
//!   the scopes (OpenID Connect Core §11, "Offline Access"); Authgear documents the same
//!   ("Authgear will omit refresh token if your initial request to the authorize URL
//!   does not include the offline_access scope"). Put it in the connection's scopes, or
//!   send `connection_scope=offline_access` at `/authorize`. The refresh token comes
//!   with every code exchange, so every login through the connection can bring a new
//!   one.
//! - `prompt=consent` asks the provider to show its consent screen again (OpenID Connect
//!   Core §3.1.2.1), which Auth0 forwards to social connections (docs-v2
//!   `authenticate/identity-providers/social-identity-providers/reprompt-permissions.mdx`).
//! - The endpoints differ per server: the deployment names the token endpoint, or the
//!   issuer, whose discovery document (`/.well-known/openid-configuration`, OpenID
//!   Connect Discovery 1.0 §4; RFC 8414 §3) gives `token_endpoint`,
//!   `revocation_endpoint` and `token_endpoint_auth_methods_supported`. The default
//!   client authentication is `client_secret_basic`, Discovery's default when that list
//!   is omitted and the one method RFC 6749 §2.3.1 obliges every server to support.
//! - Many servers rotate refresh tokens (OAuth 2.0 Security BCP, RFC 9700 §4.14.2):
//!   the backends seal and store the new one before the old can be sent again.

use super::{ClientAuth, Provider};

/// The entry of custom OAuth 2.0 connections, stored under their connection names.
pub const OAUTH2: Provider = Provider {
    name: "Custom OAuth 2.0 / OpenID Connect",
    auth0_provider: "oauth2",
    keyed_by_connection: true,
    claim_name: None,
    consent_query: &[],
    new_token_every_login: true,
    reconsent_params: &[("prompt", "consent")],
    consent_scopes: &["offline_access"],
    token_endpoint: None,
    revoke_endpoint: None,
    client_auth: ClientAuth::Basic,
    refresh_needs_scope: false,
    rotates: true,
    scope_members: &["scope"],
    refusals: &[],
};
