//! Google (Auth0 connection `google-oauth2`): the provider tokenseal started with.
//!
//! What Auth0 forwards to Google, checked against Auth0's documentation (docs-v2 is the
//! `auth0/docs-v2` repository under `main/docs/`; older pages are `auth0/docs` under
//! `articles/`):
//! - `access_type=offline` makes Google issue a refresh token: "To request a refresh
//!   token, include the access_type=offline parameter when calling the Auth0 /authorize
//!   endpoint" (`articles/connections/social/google.md`); docs-v2
//!   `secure/tokens/access-tokens/identity-provider-access-tokens.mdx` lists Google with
//!   "pass the parameter access_type=offline, as well the connection_scope parameter".
//! - `prompt=consent` re-prompts the user to grant permissions again (docs-v2
//!   `authenticate/identity-providers/social-identity-providers/reprompt-permissions.mdx`;
//!   its examples name Facebook and GitHub: that Google receives it is the natural
//!   reading, not spelled out for Google). `approval_prompt=force` is Google's deprecated
//!   spelling of the same request, forwarded as an additional parameter; an app never
//!   sends both, since Google rejects a request carrying the two together
//!   (thephpleague/oauth2-google#42).
//! - Refreshing (Google, "Using OAuth 2.0 for Web Server Applications", refreshing an
//!   access token): `invalid_grant` means the refresh token is dead (revoked, unused for
//!   six months, expired for apps in "Testing", or beyond the per-account limit), so the
//!   user must go through consent again.

use super::Provider;
use crate::error::RefreshError;

/// Google's entry in the provider table.
pub const GOOGLE: Provider = Provider {
    key: "google-oauth2",
    auth0_provider: "google-oauth2",
    claim_name: "google_offline_access",
    consent_query: &[("approval_prompt", "force")],
    reconsent_params: &[("access_type", "offline"), ("prompt", "consent")],
    token_endpoint: "https://oauth2.googleapis.com/token",
    revoke_endpoint: Some("https://oauth2.googleapis.com/revoke"),
    refusals: &[("invalid_grant", RefreshError::ReconsentRequired)],
};
