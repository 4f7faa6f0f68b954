//! The OAuth 2.0 token endpoint, for the app's backend: the refresh request, a typed
//! answer, and when to refresh. Provider-neutral: what differs between providers (the
//! endpoint, what a refusal means) comes from their [`Provider`] entry.
//!
//! Refreshing follows RFC 6749 §6: `POST` to the provider's `token_endpoint` with
//! `grant_type=refresh_token`, `refresh_token`, `client_id`, `client_secret`,
//! form-encoded (`client_secret_post`, RFC 6749 §2.3.1, as Google documents in "Using
//! OAuth 2.0 for Web Server Applications", refreshing an access token). The answer
//! (RFC 6749 §5.1) carries `access_token`, `expires_in`, `scope`, `token_type`, maybe
//! `id_token`, and a new `refresh_token` only when the provider rotates it. An error
//! answer (RFC 6749 §5.2) is read through the provider's [`Provider::refusals`].

use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::Provider;
use crate::error::{RefreshError, Result};
use crate::form;
use crate::json::Json;
use crate::token::RefreshToken;

/// Refresh this many seconds before an access token expires, so that a token handed to
/// a caller stays valid for the request it makes.
pub const DEFAULT_SKEW_SECONDS: u64 = 60;

/// An access token: zeroized on drop, printed as `[redacted]`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct AccessToken(String);

impl AccessToken {
    /// The token itself, for the `Authorization: Bearer` header.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// A successful refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    /// The new access token.
    pub access_token: AccessToken,
    /// When it expires, seconds since the Unix epoch: `now + expires_in`, or the
    /// `id_token`'s `exp` when one came back and is earlier. Google issues both for an
    /// hour, and the exact `exp` avoids drift; taking the earlier of the two never
    /// hands out an access token that has already expired when the lifetimes differ.
    pub expires_at: u64,
    /// Granted scopes, space-separated, when the provider says.
    pub scope: Option<String>,
    /// A new refresh token when the provider rotated it; keep the old one otherwise.
    pub refresh_token: Option<RefreshToken>,
    /// The `id_token` when one came back (not verified here: it is used for its `exp`
    /// only, never for identity).
    pub id_token: Option<String>,
}

/// The form body of a refresh request (`application/x-www-form-urlencoded`), zeroized
/// on drop since it holds the refresh token and the client secret.
#[must_use]
pub fn refresh_request_body(
    refresh_token: &RefreshToken,
    client_id: &str,
    client_secret: &str,
) -> Zeroizing<String> {
    let mut body = Zeroizing::new(String::from("grant_type=refresh_token"));
    for (name, value) in [
        ("refresh_token", refresh_token.expose_secret()),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ] {
        body.push('&');
        body.push_str(name);
        body.push('=');
        form::form_value(value, &mut body);
    }
    body
}

/// Reads `provider`'s token endpoint answer; `status` 0 means no answer came.
///
/// # Errors
/// The error [`Provider::refusals`] maps the answer's `error` code to (for Google,
/// [`RefreshError::ReconsentRequired`] for `invalid_grant`); [`RefreshError::ProviderUnavailable`] for
/// no answer, 429 and 5xx without a listed code; [`RefreshError::ProviderRejected`] for any
/// other refusal (a wrong client, for example); [`RefreshError::ProviderResponse`] for a
/// success without a usable `access_token`, `token_type` Bearer, or expiry.
pub fn parse_refresh_response(
    provider: &Provider,
    status: u16,
    body: &str,
    now: u64,
) -> Result<AccessGrant, RefreshError> {
    let json = Json::parse(body).ok();
    if !(200..300).contains(&status) {
        let error = json
            .as_ref()
            .and_then(|j| j.get("error"))
            .and_then(Json::as_str);
        return Err(match (provider.refusal(error), status) {
            (RefreshError::ProviderRejected, 0 | 429 | 500..=599) => {
                RefreshError::ProviderUnavailable
            }
            (mapped, _) => mapped,
        });
    }
    let json = json.ok_or(RefreshError::ProviderResponse)?;
    let text = |name: &str| json.get(name).and_then(Json::as_str);
    let access_token = text("access_token")
        .filter(|t| !t.is_empty())
        .ok_or(RefreshError::ProviderResponse)?;
    if !text("token_type").is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
        return Err(RefreshError::ProviderResponse);
    }
    let id_token = text("id_token").map(str::to_owned);
    let by_lifetime = json
        .get("expires_in")
        .and_then(Json::as_u64)
        .map(|s| now.saturating_add(s));
    let by_id_token = id_token.as_deref().and_then(jwt_exp);
    let expires_at = match (by_lifetime, by_id_token) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).ok_or(RefreshError::ProviderResponse)?,
    };
    let refresh_token = match text("refresh_token") {
        Some(t) => Some(RefreshToken::new(t).map_err(|_| RefreshError::ProviderResponse)?),
        None => None,
    };
    Ok(AccessGrant {
        access_token: AccessToken(access_token.to_owned()),
        expires_at,
        scope: text("scope").map(str::to_owned),
        refresh_token,
        id_token,
    })
}

/// True when an access token expiring at `expires_at` (seconds since the epoch; `None`
/// for no token) must be refreshed now: missing, or within `skew` seconds of expiry.
#[must_use]
pub fn needs_refresh(expires_at: Option<u64>, now: u64, skew: u64) -> bool {
    expires_at.is_none_or(|at| now.saturating_add(skew) >= at)
}

/// The `exp` claim of a compact JWT, read without verifying it.
fn jwt_exp(jwt: &str) -> Option<u64> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = Base64UrlUnpadded::decode_vec(payload).ok()?;
    Json::parse(core::str::from_utf8(&bytes).ok()?)
        .ok()?
        .get("exp")?
        .as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::google::GOOGLE;

    const NOW: u64 = 1_763_769_600;

    fn jwt(payload: &str) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            Base64UrlUnpadded::encode_string(payload.as_bytes())
        )
    }

    #[test]
    fn request_body_is_form_encoded() {
        let token = RefreshToken::new("1//0g+a b&c=d").expect("valid");
        assert_eq!(
            *refresh_request_body(&token, "id.apps.googleusercontent.com", "s3c/ret"),
            "grant_type=refresh_token&refresh_token=1%2F%2F0g%2Ba+b%26c%3Dd&client_id=id.apps.googleusercontent.com&client_secret=s3c%2Fret"
        );
    }

    #[test]
    fn a_refresh_answer_is_read() {
        let body = r#"{"access_token":"ya29.new","expires_in":3599,"scope":"openid https://www.googleapis.com/auth/drive.file","token_type":"Bearer"}"#;
        let grant = parse_refresh_response(&GOOGLE, 200, body, NOW).expect("valid");
        assert_eq!(grant.access_token.expose_secret(), "ya29.new");
        assert_eq!(grant.expires_at, NOW + 3599);
        assert_eq!(
            grant.scope.as_deref(),
            Some("openid https://www.googleapis.com/auth/drive.file")
        );
        assert_eq!((grant.refresh_token, grant.id_token), (None, None));
        assert!(!format!("{:?}", grant.access_token).contains("ya29"));
    }

    #[test]
    fn the_earlier_expiry_wins_and_a_rotated_refresh_token_is_kept() {
        let body = format!(
            r#"{{"access_token":"ya29.x","expires_in":3599,"token_type":"bearer","id_token":"{}","refresh_token":"1//rotated"}}"#,
            jwt(r#"{"iss":"https://accounts.google.com","exp":1763773000}"#)
        );
        let grant = parse_refresh_response(&GOOGLE, 200, &body, NOW).expect("valid");
        assert_eq!(
            grant.expires_at, 1_763_773_000,
            "the id_token's exact exp, earlier than now + 3599"
        );
        // An id_token living longer than the access token must not extend it.
        let body = format!(
            r#"{{"access_token":"ya29.x","expires_in":2,"token_type":"Bearer","id_token":"{}"}}"#,
            jwt(r#"{"exp":1763773000}"#)
        );
        assert_eq!(
            parse_refresh_response(&GOOGLE, 200, &body, NOW)
                .expect("valid")
                .expires_at,
            NOW + 2
        );
        let body = format!(
            r#"{{"access_token":"ya29.x","token_type":"Bearer","id_token":"{}"}}"#,
            jwt(r#"{"exp":1763773000}"#)
        );
        assert_eq!(
            parse_refresh_response(&GOOGLE, 200, &body, NOW)
                .expect("valid")
                .expires_at,
            1_763_773_000
        );
        let body = format!(
            r#"{{"access_token":"ya29.x","expires_in":3599,"token_type":"bearer","id_token":"{}","refresh_token":"1//rotated"}}"#,
            jwt(r#"{"iss":"https://accounts.google.com","exp":1763773000}"#)
        );
        let grant = parse_refresh_response(&GOOGLE, 200, &body, NOW).expect("valid");
        assert_eq!(
            grant
                .refresh_token
                .map(|t| t.expose_secret().to_owned())
                .as_deref(),
            Some("1//rotated")
        );
        // An unreadable id_token falls back to expires_in.
        let body =
            r#"{"access_token":"ya29.x","expires_in":10,"token_type":"Bearer","id_token":"junk"}"#;
        assert_eq!(
            parse_refresh_response(&GOOGLE, 200, body, NOW)
                .expect("valid")
                .expires_at,
            NOW + 10
        );
    }

    #[test]
    fn errors_are_typed() {
        let cases: [(u16, &str, RefreshError); 9] = [
            (0, "", RefreshError::ProviderUnavailable),
            (
                400,
                r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
                RefreshError::ReconsentRequired,
            ),
            (
                401,
                r#"{"error":"invalid_client"}"#,
                RefreshError::ProviderRejected,
            ),
            (400, "not json", RefreshError::ProviderRejected),
            (503, "", RefreshError::ProviderUnavailable),
            (
                429,
                r#"{"error":"rate_limit_exceeded"}"#,
                RefreshError::ProviderUnavailable,
            ),
            (
                200,
                r#"{"expires_in":1,"token_type":"Bearer"}"#,
                RefreshError::ProviderResponse,
            ),
            (
                200,
                r#"{"access_token":"a","expires_in":1,"token_type":"mac"}"#,
                RefreshError::ProviderResponse,
            ),
            (
                200,
                r#"{"access_token":"a","token_type":"Bearer"}"#,
                RefreshError::ProviderResponse,
            ),
        ];
        for (status, body, expected) in cases {
            assert_eq!(
                parse_refresh_response(&GOOGLE, status, body, NOW).map(|_| ()),
                Err(expected),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn refresh_timing() {
        assert!(needs_refresh(None, NOW, 60));
        assert!(!needs_refresh(Some(NOW + 61), NOW, 60));
        assert!(needs_refresh(Some(NOW + 60), NOW, 60));
        assert!(needs_refresh(Some(NOW - 1), NOW, 0));
    }
}
