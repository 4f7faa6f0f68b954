//! The OAuth 2.0 token endpoint, for the app's backend: the refresh request, a typed
//! answer, and when to refresh. Provider-neutral: what differs between providers (the
//! endpoint, what a refusal means) comes from their [`Provider`] entry.
//!
//! Refreshing follows RFC 6749 §6: `POST` to the provider's `token_endpoint` with
//! `grant_type=refresh_token`, `refresh_token`, and `scope` where the provider needs it,
//! form-encoded, the client authenticating as its [`Client::auth`] says (RFC 6749
//! §2.3.1: `client_id` and `client_secret` in the body, as Google documents in "Using
//! OAuth 2.0 for Web Server Applications", or HTTP Basic, as Bitbucket does). The answer
//! (RFC 6749 §5.1) carries `access_token`, `expires_in`, `scope`, `token_type`, maybe
//! `id_token`, a new `refresh_token` only when the provider rotates it, and, for
//! Google's time-limited access, `refresh_token_expires_in`. An error answer (RFC 6749
//! §5.2) is read through the provider's [`Provider::refusals`], then [`RFC_6749_REFUSALS`].
//!
//! Revocation follows RFC 7009: `POST` `token`, `token_type_hint=refresh_token` and the
//! client's credentials to the provider's `revoke_endpoint` (Google documents
//! `https://oauth2.googleapis.com/revoke` in "Using OAuth 2.0 for Web Server
//! Applications", revoking a token).

use core::fmt;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::form::{form_body, form_value};

use super::{ClientAuth, Provider};
use crate::error::{RefreshError, Result};
use crate::json::Json;
use crate::token::RefreshToken;

/// What RFC 6749 §5.2's error codes mean for every provider, after its own
/// [`Provider::refusals`]: `invalid_grant` (the refresh token is "invalid, expired,
/// revoked ... or was issued to another client") needs the user's consent again;
/// `invalid_client` and `unauthorized_client` are the app's configuration, never a
/// reason to clear a token.
pub const RFC_6749_REFUSALS: &[(&str, RefreshError)] = &[
    ("invalid_grant", RefreshError::ReconsentRequired),
    ("invalid_client", RefreshError::ClientRejected),
    ("unauthorized_client", RefreshError::ClientRejected),
];

/// Refresh this many seconds before an access token expires, so that a token handed to
/// a caller stays valid for the request it makes.
pub const DEFAULT_SKEW_SECONDS: u64 = 60;

/// The lifetime taken for an access token whose answer gives none (no `expires_in`, no
/// `id_token` with `exp`), in seconds. RFC 6749 §5.1 only recommends `expires_in`; five
/// minutes is shorter than any lifetime a provider in the table documents, so the token
/// is refreshed before it can have expired.
pub const ASSUMED_LIFETIME_SECONDS: u64 = 300;

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
    /// When the refresh token itself stops working, seconds since the Unix epoch: `now +
    /// refresh_token_expires_in`, when the provider says (Google does for time-limited
    /// access the user chose at consent). The app can ask for consent before then.
    pub refresh_token_expires_at: Option<u64>,
}

/// An OAuth 2.0 client of a provider's token endpoint (RFC 6749 §2): its credentials,
/// how it sends them, and the scope a refresh names. `Debug` prints the secret as
/// `[redacted]`; it is zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    /// The client identifier the provider issued.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Zeroizing<String>,
    /// How the client authenticates ([`Provider::client_auth`] unless configured).
    pub auth: ClientAuth,
    /// The space-separated scopes a refresh names, when the provider needs them
    /// ([`Provider::refresh_needs_scope`]) or the deployment sets them; RFC 6749 §6
    /// allows a subset of what was granted.
    pub scope: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("auth", &self.auth)
            .field("scope", &self.scope)
            .finish()
    }
}

impl Client {
    /// A `client_secret_post` client without a scope: Google's way.
    #[must_use]
    pub fn post(client_id: &str, client_secret: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: Zeroizing::new(client_secret.to_owned()),
            auth: ClientAuth::Post,
            scope: None,
        }
    }

    /// The `Authorization` header value of a `client_secret_basic` client: `Basic` and
    /// the base64 of the form-encoded id, `:`, and the form-encoded secret (RFC 6749
    /// §2.3.1, so that a `:` in the id cannot move the split); `None` for
    /// `client_secret_post`.
    #[must_use]
    pub fn authorization(&self) -> Option<Zeroizing<String>> {
        if self.auth != ClientAuth::Basic {
            return None;
        }
        let mut credentials = Zeroizing::new(String::new());
        form_value(&self.client_id, &mut credentials);
        credentials.push(':');
        form_value(&self.client_secret, &mut credentials);
        let mut header = Zeroizing::new(String::from("Basic "));
        header.push_str(&Base64::encode_string(credentials.as_bytes()));
        Some(header)
    }

    /// The request of `pairs` as this client sends it: its credentials in the body
    /// (`client_secret_post`) or in the `Authorization` header
    /// ([`Client::authorization`]).
    fn request(&self, pairs: &[(&str, &str)]) -> TokenRequest {
        let authorization = self.authorization();
        if authorization.is_some() {
            return TokenRequest {
                body: form_body(pairs),
                authorization,
            };
        }
        let mut all = pairs.to_vec();
        all.push(("client_id", &self.client_id));
        all.push(("client_secret", &self.client_secret));
        TokenRequest {
            body: form_body(&all),
            authorization: None,
        }
    }
}

/// One `POST` to a token or revocation endpoint, `application/x-www-form-urlencoded`:
/// the body, and the `Authorization` header value when the client authenticates with
/// HTTP Basic. Both hold secrets and are zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The form body.
    pub body: Zeroizing<String>,
    /// `Basic <credentials>`, for `client_secret_basic`.
    pub authorization: Option<Zeroizing<String>>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenRequest([redacted])")
    }
}

/// The refresh request (RFC 6749 §6): `grant_type=refresh_token`, the token, the
/// client's `scope` when it has one, and the client's credentials.
#[must_use]
pub fn refresh_request(refresh_token: &RefreshToken, client: &Client) -> TokenRequest {
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose_secret()),
    ];
    if let Some(scope) = &client.scope {
        pairs.push(("scope", scope));
    }
    client.request(&pairs)
}

/// The form body of a `client_secret_post` refresh: [`refresh_request`] for
/// [`Client::post`]'s client, as Google takes it.
#[must_use]
pub fn refresh_request_body(
    refresh_token: &RefreshToken,
    client_id: &str,
    client_secret: &str,
) -> Zeroizing<String> {
    refresh_request(refresh_token, &Client::post(client_id, client_secret)).body
}

/// The revocation request (RFC 7009 §2.1): the refresh token, its type hint, and the
/// client's credentials.
#[must_use]
pub fn revoke_request(refresh_token: &RefreshToken, client: &Client) -> TokenRequest {
    client.request(&[
        ("token", refresh_token.expose_secret()),
        ("token_type_hint", "refresh_token"),
    ])
}

/// Reads `provider`'s revocation endpoint answer; `status` 0 means no answer came.
/// RFC 7009 §2.2 answers 200 also for a token that was already invalid; Google answers
/// 400 `invalid_token` for a token that is already expired or revoked. Either way the
/// token no longer works, which is what a revocation is for, so both succeed (the
/// latter only as a 400: on any other status the body is not trusted to say so).
///
/// # Errors
/// [`RefreshError::ProviderUnavailable`] for no answer, 429 and 5xx (RFC 7009 §2.2.1:
/// retry later); otherwise the refusal as [`parse_refresh_response`] reads it
/// ([`RefreshError::ClientRejected`] for `invalid_client`, for example).
pub fn parse_revoke_response(
    provider: &Provider,
    status: u16,
    body: &str,
) -> Result<(), RefreshError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let json = Json::parse(body).ok();
    match json
        .as_ref()
        .and_then(|j| j.get("error"))
        .and_then(Json::as_str)
    {
        Some("invalid_token") if status == 400 => Ok(()),
        error => Err(refusal(provider, status, error)),
    }
}

/// The scopes of `required` that `granted` (a token answer's space-separated `scope`)
/// lacks, compared as a set of case-sensitive names (RFC 6749 §3.3). An answer without
/// `scope` grants what was asked (RFC 6749 §5.1), so nothing is missing. A non-empty
/// result is [`RefreshError::ScopeNotGranted`]; the names are not secret.
#[must_use]
pub fn missing_scopes<'a>(granted: Option<&str>, required: &[&'a str]) -> Vec<&'a str> {
    let Some(granted) = granted else {
        return Vec::new();
    };
    required
        .iter()
        .copied()
        .filter(|needed| !granted.split(' ').any(|scope| scope == *needed))
        .collect()
}

/// The error an endpoint's refusal means. No answer, a 429 or a 5xx is
/// [`RefreshError::ProviderUnavailable`] whatever the body says: a proxy's or an
/// overloaded server's body must never make an app think the token is dead. Otherwise
/// `provider`'s own reading of `error`, then RFC 6749's, else
/// [`RefreshError::ProviderRejected`].
fn refusal(provider: &Provider, status: u16, error: Option<&str>) -> RefreshError {
    if matches!(status, 0 | 429 | 500..=599) {
        return RefreshError::ProviderUnavailable;
    }
    let listed = |table: &[(&str, RefreshError)]| {
        table
            .iter()
            .find(|(code, _)| Some(*code) == error)
            .map(|(_, mapped)| *mapped)
    };
    listed(provider.refusals)
        .or_else(|| listed(RFC_6749_REFUSALS))
        .unwrap_or(RefreshError::ProviderRejected)
}

/// Reads `provider`'s token endpoint answer; `status` 0 means no answer came.
///
/// # Errors
/// The error [`Provider::refusals`], then [`RFC_6749_REFUSALS`], map the answer's
/// `error` code to ([`RefreshError::ReconsentRequired`] for `invalid_grant`,
/// [`RefreshError::ClientRejected`] for `invalid_client`, Google's
/// [`RefreshError::AdminPolicy`] for `admin_policy_enforced`, ...);
/// [`RefreshError::ProviderUnavailable`] for no answer, 429 and 5xx without a listed
/// code; [`RefreshError::ProviderRejected`] for any other refusal;
/// [`RefreshError::ProviderResponse`] for a success without a usable `access_token` or
/// `token_type` Bearer. `expires_in` is read as a number or a string of digits (some
/// servers send one), a fraction dropped; without a readable one, or an `id_token` with
/// `exp`, the token is taken to live [`ASSUMED_LIFETIME_SECONDS`].
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
        return Err(refusal(provider, status, error));
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
    // An expires_in that is not a count of seconds ("1h", -5, 3.6e3) is taken as absent:
    // the id_token's exp, or the assumed lifetime, decides.
    let by_lifetime = json
        .get("expires_in")
        .and_then(seconds)
        .map(|s| now.saturating_add(s));
    let by_id_token = id_token.as_deref().and_then(jwt_exp);
    let expires_at = match (by_lifetime, by_id_token) {
        (Some(a), Some(b)) => a.min(b),
        (Some(at), None) | (None, Some(at)) => at,
        (None, None) => now.saturating_add(ASSUMED_LIFETIME_SECONDS),
    };
    let refresh_token = match text("refresh_token") {
        Some(t) => Some(RefreshToken::new(t).map_err(|_| RefreshError::ProviderResponse)?),
        None => None,
    };
    Ok(AccessGrant {
        access_token: AccessToken(access_token.to_owned()),
        expires_at,
        scope: provider
            .scope_members
            .iter()
            .find_map(|name| text(name))
            .map(str::to_owned),
        refresh_token,
        id_token,
        refresh_token_expires_at: json
            .get("refresh_token_expires_in")
            .and_then(seconds)
            .map(|s| now.saturating_add(s)),
    })
}

/// A count of seconds: a non-negative number written with digits and an optional
/// fraction (dropped), as a JSON number or a string (`3599`, `3599.0`, `"3600"`). No
/// float is parsed: the WebAssembly module carries no float code.
fn seconds(value: &Json) -> Option<u64> {
    let text = match value {
        Json::String(text) => text.as_str(),
        Json::Number(number) => number.as_str(),
        _ => return None,
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return None;
    }
    whole.parse().ok()
}

/// The refresh token a successful (2xx) answer carries, if it is one, whatever else the
/// answer holds: a provider that rotates has consumed the token it was sent, so the one
/// it gave back must be kept even when the rest of the answer is unusable.
#[must_use]
pub fn rotated_refresh_token(status: u16, body: &str) -> Option<RefreshToken> {
    if !(200..300).contains(&status) {
        return None;
    }
    let json = Json::parse(body).ok()?;
    RefreshToken::new(json.get("refresh_token")?.as_str()?).ok()
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
        let request = refresh_request(
            &token,
            &Client::post("id.apps.googleusercontent.com", "s3c/ret"),
        );
        assert_eq!(
            *request.body,
            "grant_type=refresh_token&refresh_token=1%2F%2F0g%2Ba+b%26c%3Dd&client_id=id.apps.googleusercontent.com&client_secret=s3c%2Fret"
        );
        assert_eq!(request.authorization, None);
        assert!(!format!("{request:?}").contains("s3c"));
    }

    #[test]
    fn basic_credentials_are_form_encoded_then_base64() {
        // RFC 6749 §2.3.1: id and secret are form-encoded before Basic's base64, so a
        // ':' in the id cannot shift the split. Expected value computed independently:
        // printf 'a%%3Ab:s3c%%2Fr+t' | base64
        let token = RefreshToken::new("r1").expect("valid");
        let client = Client {
            client_id: "a:b".to_owned(),
            client_secret: Zeroizing::new("s3c/r t".to_owned()),
            auth: ClientAuth::Basic,
            scope: Some("offline_access https://graph.microsoft.com/Mail.Read".to_owned()),
        };
        let request = refresh_request(&token, &client);
        assert_eq!(
            *request.body,
            "grant_type=refresh_token&refresh_token=r1&scope=offline_access+https%3A%2F%2Fgraph.microsoft.com%2FMail.Read"
        );
        assert_eq!(
            request.authorization.as_deref().map(String::as_str),
            Some("Basic YSUzQWI6czNjJTJGcit0")
        );
        let revoke = revoke_request(&token, &client);
        assert_eq!(*revoke.body, "token=r1&token_type_hint=refresh_token");
        assert_eq!(revoke.authorization, request.authorization);
        assert!(!format!("{client:?}").contains("s3c"));
    }

    #[test]
    fn granted_scopes_are_read_from_the_provider_s_members() {
        use crate::providers::bitbucket::BITBUCKET;
        let old = r#"{"access_token":"a","expires_in":7200,"token_type":"bearer","scopes":"repository account"}"#;
        let grant = parse_refresh_response(&BITBUCKET, 200, old, NOW).expect("valid");
        assert_eq!(grant.scope.as_deref(), Some("repository account"));
        let new = r#"{"access_token":"a","expires_in":7200,"token_type":"bearer","scope":"account","scopes":"x"}"#;
        let grant = parse_refresh_response(&BITBUCKET, 200, new, NOW).expect("valid");
        assert_eq!(grant.scope.as_deref(), Some("account"));
        // Google's answer has no `scopes`: one there is not a grant.
        let grant = parse_refresh_response(&GOOGLE, 200, old, NOW).expect("valid");
        assert_eq!(grant.scope, None);
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
        let cases: [(u16, &str, RefreshError); 8] = [
            (0, "", RefreshError::ProviderUnavailable),
            (
                400,
                r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
                RefreshError::ReconsentRequired,
            ),
            (
                401,
                r#"{"error":"invalid_client"}"#,
                RefreshError::ClientRejected,
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
    fn each_refusal_means_what_its_documentation_says() {
        let cases: [(&str, RefreshError); 6] = [
            ("invalid_grant", RefreshError::ReconsentRequired),
            ("admin_policy_enforced", RefreshError::AdminPolicy),
            ("invalid_client", RefreshError::ClientRejected),
            ("unauthorized_client", RefreshError::ClientRejected),
            ("invalid_scope", RefreshError::ProviderRejected),
            ("invalid_request", RefreshError::ProviderRejected),
        ];
        // Google's session control (RAPT) answers invalid_grant, its reason only in the
        // description.
        let rapt = r#"{"error":"invalid_grant","error_description":"reauth related error (invalid_rapt)"}"#;
        assert_eq!(
            parse_refresh_response(&GOOGLE, 400, rapt, NOW).map(|_| ()),
            Err(RefreshError::ReconsentRequired)
        );
        for (error, expected) in cases {
            let body = format!(r#"{{"error":"{error}","error_description":"x"}}"#);
            assert_eq!(
                parse_refresh_response(&GOOGLE, 400, &body, NOW).map(|_| ()),
                Err(expected),
                "{error}"
            );
        }
        // Google's own codes are Google's: another provider reads them by RFC 6749 only.
        let other = Provider {
            refusals: &[],
            ..GOOGLE
        };
        let body = r#"{"error":"admin_policy_enforced"}"#;
        assert_eq!(
            parse_refresh_response(&other, 400, body, NOW).map(|_| ()),
            Err(RefreshError::ProviderRejected)
        );
        // A 429 or 5xx is unavailability whatever its body says: a proxy's error page
        // must never read as a dead token.
        for status in [429, 502, 503] {
            let body = r#"{"error":"invalid_grant"}"#;
            assert_eq!(
                parse_refresh_response(&GOOGLE, status, body, NOW).map(|_| ()),
                Err(RefreshError::ProviderUnavailable)
            );
        }
    }

    #[test]
    fn time_limited_access_is_surfaced() {
        let body = r#"{"access_token":"ya29.t","expires_in":3599,"token_type":"Bearer","refresh_token_expires_in":86400}"#;
        let grant = parse_refresh_response(&GOOGLE, 200, body, NOW).expect("valid");
        assert_eq!(grant.refresh_token_expires_at, Some(NOW + 86_400));
        let body = r#"{"access_token":"ya29.t","expires_in":3599,"token_type":"Bearer"}"#;
        let grant = parse_refresh_response(&GOOGLE, 200, body, NOW).expect("valid");
        assert_eq!(grant.refresh_token_expires_at, None);
        // Read as expires_in is: a string of digits too.
        let body = r#"{"access_token":"ya29.t","expires_in":3599,"token_type":"Bearer","refresh_token_expires_in":"86400"}"#;
        let grant = parse_refresh_response(&GOOGLE, 200, body, NOW).expect("valid");
        assert_eq!(grant.refresh_token_expires_at, Some(NOW + 86_400));
    }

    #[test]
    fn an_answer_without_a_lifetime_is_taken_as_five_minutes_and_a_string_lifetime_is_read() {
        // RFC 6749 §5.1 only recommends expires_in.
        let body = r#"{"access_token":"a","token_type":"Bearer"}"#;
        let grant = parse_refresh_response(&GOOGLE, 200, body, NOW).expect("valid");
        assert_eq!(grant.expires_at, NOW + ASSUMED_LIFETIME_SECONDS);
        let body = r#"{"access_token":"a","token_type":"Bearer","expires_in":null}"#;
        let grant = parse_refresh_response(&GOOGLE, 200, body, NOW).expect("valid");
        assert_eq!(grant.expires_at, NOW + ASSUMED_LIFETIME_SECONDS);
        for lifetime in [r#""3600""#, "3600.0", r#""3600.75""#] {
            let body =
                format!(r#"{{"access_token":"a","token_type":"Bearer","expires_in":{lifetime}}}"#);
            let grant = parse_refresh_response(&GOOGLE, 200, &body, NOW).expect("valid");
            assert_eq!(grant.expires_at, NOW + 3600, "{lifetime}");
        }
        // One that is not a count of seconds is taken as absent, never a failure.
        for odd in [r#""1h""#, "-5", "3.6e3", "{}", r#""""#, r#"".5""#] {
            let body =
                format!(r#"{{"access_token":"a","token_type":"Bearer","expires_in":{odd}}}"#);
            let grant = parse_refresh_response(&GOOGLE, 200, &body, NOW).expect("valid");
            assert_eq!(grant.expires_at, NOW + ASSUMED_LIFETIME_SECONDS, "{odd}");
        }
    }

    #[test]
    fn a_successful_answers_refresh_token_is_found_whatever_else_it_holds() {
        let rotated = |status, body| {
            rotated_refresh_token(status, body).map(|t| t.expose_secret().to_owned())
        };
        assert_eq!(
            rotated(200, r#"{"refresh_token":"rt-2","expires_in":"soon"}"#).as_deref(),
            Some("rt-2")
        );
        assert_eq!(rotated(200, r#"{"access_token":"a"}"#), None);
        assert_eq!(rotated(200, r#"{"refresh_token":""}"#), None);
        assert_eq!(rotated(200, "not json"), None);
        assert_eq!(rotated(400, r#"{"refresh_token":"rt-2"}"#), None);
    }

    #[test]
    fn missing_scopes_are_a_set_difference() {
        let required = ["openid", "https://www.googleapis.com/auth/drive.file"];
        assert_eq!(
            missing_scopes(
                Some("https://www.googleapis.com/auth/drive.file openid"),
                &required
            ),
            Vec::<&str>::new()
        );
        assert_eq!(
            missing_scopes(Some("openid email"), &required),
            vec!["https://www.googleapis.com/auth/drive.file"]
        );
        // Names are compared whole and case-sensitively, never as substrings.
        assert_eq!(
            missing_scopes(
                Some("OPENID https://www.googleapis.com/auth/drive.file.x"),
                &required
            ),
            required.to_vec()
        );
        assert_eq!(missing_scopes(None, &required), Vec::<&str>::new());
    }

    #[test]
    fn revocation_request_and_answers() {
        let token = RefreshToken::new("1//0g+a b").expect("valid");
        assert_eq!(
            *revoke_request(&token, &Client::post("id", "s3c/ret")).body,
            "token=1%2F%2F0g%2Ba+b&token_type_hint=refresh_token&client_id=id&client_secret=s3c%2Fret"
        );
        assert_eq!(parse_revoke_response(&GOOGLE, 200, ""), Ok(()));
        let gone = r#"{"error":"invalid_token","error_description":"Token expired or revoked"}"#;
        assert_eq!(parse_revoke_response(&GOOGLE, 400, gone), Ok(()));
        assert_eq!(
            parse_revoke_response(&GOOGLE, 401, gone),
            Err(RefreshError::ProviderRejected)
        );
        assert_eq!(
            parse_revoke_response(&GOOGLE, 0, ""),
            Err(RefreshError::ProviderUnavailable)
        );
        assert_eq!(
            parse_revoke_response(&GOOGLE, 503, ""),
            Err(RefreshError::ProviderUnavailable)
        );
        assert_eq!(
            parse_revoke_response(&GOOGLE, 401, r#"{"error":"invalid_client"}"#),
            Err(RefreshError::ClientRejected)
        );
        assert_eq!(
            parse_revoke_response(&GOOGLE, 400, r#"{"error":"unsupported_token_type"}"#),
            Err(RefreshError::ProviderRejected)
        );
    }

    #[test]
    fn refresh_timing() {
        assert!(needs_refresh(None, NOW, 60));
        assert!(!needs_refresh(Some(NOW + 61), NOW, 60));
        assert!(needs_refresh(Some(NOW + 60), NOW, 60));
        assert!(needs_refresh(Some(NOW - 1), NOW, 0));
    }
}
