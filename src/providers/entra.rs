//! Microsoft Entra ID (Azure AD; Auth0 enterprise connection strategy `waad`).
//!
//! - Auth0 keeps the refresh token of Azure AD connections ("Identity Provider Access
//!   Tokens"). Entra issues one only when `offline_access` is among the scopes
//!   (Microsoft identity platform, "OAuth 2.0 authorization code flow",
//!   `MicrosoftDocs/entra-docs` `docs/identity-platform/v2-oauth2-auth-code-flow.md`):
//!   set it in the connection's `scope` option (Management API), and every code
//!   exchange, so every login through the connection, brings a new one.
//! - The token endpoint is per tenant, `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`,
//!   so the deployment names it, or its issuer
//!   `https://login.microsoftonline.com/<tenant>/v2.0` for discovery. The
//!   document lists no revocation endpoint.
//! - A refresh sends `scope` (the same flow, "Refresh the access token": a subset of the
//!   scopes first granted). The page marks it optional, but refreshes without it are
//!   refused in practice (AADSTS90009 reports; golang/oauth2#540), so tokenseal always
//!   sends the scope the deployment configures.
//! - The client secret goes in the form body (`client_secret_post`, the same page).
//! - Refresh tokens "replace themselves with a fresh token upon every use"
//!   (`docs/identity-platform/refresh-tokens.md`): every refresh rotates. The old token
//!   is not revoked, but it must be discarded, and tokenseal stores the new one.
//! - Refusals (`docs/identity-platform/reference-error-codes.md`): `invalid_grant`
//!   covers expired, revoked and inactive refresh tokens (AADSTS70008, AADSTS700082,
//!   AADSTS50173), read as RFC 6749 does; `interaction_required` (sign-in frequency,
//!   multi-factor, Conditional Access) and `consent_required` (AADSTS65001) also need
//!   the user at `/authorize` again.

use super::{ClientAuth, Provider};
use crate::error::RefreshError;

/// Microsoft Entra ID's entry in the provider table.
pub const ENTRA: Provider = Provider {
    name: "Microsoft Entra ID (Azure AD)",
    auth0_provider: "waad",
    keyed_by_connection: false,
    claim_name: None,
    consent_query: &[],
    new_token_every_login: true,
    reconsent_params: &[("prompt", "consent")],
    consent_scopes: &[],
    token_endpoint: None,
    revoke_endpoint: None,
    client_auth: ClientAuth::Post,
    refresh_needs_scope: true,
    rotates: true,
    scope_members: &["scope"],
    refusals: &[
        ("interaction_required", RefreshError::ReconsentRequired),
        ("consent_required", RefreshError::ReconsentRequired),
    ],
};
