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
//!   access token, and its "Refresh token expiration" section): `invalid_grant` means
//!   the refresh token is dead (the user revoked access, it was unused for six months,
//!   the user changed a password with Gmail scopes granted, it belongs to an app in
//!   "Testing" and is older than seven days, it is beyond the per-account limit of
//!   tokens, or its time-limited access ended), so the user must go through consent
//!   again: RFC 6749's reading, in [`super::token_endpoint::RFC_6749_REFUSALS`].
//!   Google Workspace session control answers `invalid_grant` with the description
//!   "reauth related error (invalid_rapt)" when the administrator requires the user to
//!   sign in again: consent again, too, by the same entry.
//! - `admin_policy_enforced` (same guide, "Authorization errors"): the account cannot
//!   authorize the scopes because of its Google Workspace administrator's policy. A new
//!   consent will not help; the user's administrator has to allow the app.
//! - `refresh_token_expires_in` comes with a refresh when the user granted
//!   time-limited access (same guide, "Time-based access").

use super::{ClientAuth, Provider};
use crate::error::RefreshError;

/// Google's entry in the provider table.
pub const GOOGLE: Provider = Provider {
    name: "Google",
    auth0_provider: "google-oauth2",
    keyed_by_connection: false,
    claim_name: Some("google_offline_access"),
    consent_query: &[("approval_prompt", "force")],
    // Google returns a refresh token at the first consent and at a forced one only.
    new_token_every_login: false,
    reconsent_params: &[("access_type", "offline"), ("prompt", "consent")],
    consent_scopes: &[],
    token_endpoint: Some("https://oauth2.googleapis.com/token"),
    revoke_endpoint: Some("https://oauth2.googleapis.com/revoke"),
    client_auth: ClientAuth::Post,
    refresh_needs_scope: false,
    // A refresh answers without `refresh_token`; the token lasts until it is revoked or
    // expires (see "Refresh token expiration" above).
    rotates: false,
    scope_members: &["scope"],
    refusals: &[("admin_policy_enforced", RefreshError::AdminPolicy)],
};
