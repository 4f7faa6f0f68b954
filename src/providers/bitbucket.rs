//! Bitbucket Cloud (Auth0 social connection `bitbucket`).
//!
//! - Auth0 keeps Bitbucket's refresh token ("Identity Provider Access Tokens").
//!   Bitbucket returns one with every code exchange, so every login through the
//!   connection can bring a new one.
//! - Token endpoint `https://bitbucket.org/site/oauth2/access_token`; the client
//!   authenticates with HTTP Basic (Atlassian, "OAuth on Bitbucket Cloud",
//!   developer.atlassian.com/cloud/bitbucket/oauth-2). No revocation endpoint is
//!   documented.
//! - Access tokens last two hours. Since 4 May 2026 every refresh issues a new refresh
//!   token and unused ones expire after three months (Atlassian developer community,
//!   "Bitbucket Cloud OAuth 2.0 changes"); the granted scopes came as `scopes` and now
//!   come as `scope`, so both are read.

use super::{ClientAuth, Provider};

/// Bitbucket's entry in the provider table.
pub const BITBUCKET: Provider = Provider {
    name: "Bitbucket",
    auth0_provider: "bitbucket",
    keyed_by_connection: false,
    claim_name: None,
    consent_query: &[],
    new_token_every_login: true,
    reconsent_params: &[],
    consent_scopes: &[],
    token_endpoint: Some("https://bitbucket.org/site/oauth2/access_token"),
    revoke_endpoint: None,
    client_auth: ClientAuth::Basic,
    refresh_needs_scope: false,
    rotates: true,
    scope_members: &["scope", "scopes"],
    refusals: &[],
};
