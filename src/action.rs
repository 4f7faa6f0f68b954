//! What the post-login Action needs besides the login decision: its configuration, read
//! from `event.secrets`, and its Management API token (the scopes it needs, how long to
//! cache it). How each call is judged is [`crate::calls`], shared with `migrate`. The
//! JavaScript shim performs the calls; every decision about them is made here.

use zeroize::Zeroizing;

use crate::error::Error;
use crate::json::Json;
use crate::login::{valid_namespace, ReadPolicy, DEFAULT_RECHECK_SECONDS};
use crate::providers::token_endpoint::missing_scopes;
use crate::providers::Connection;

/// `api.cache` keeps entries at most 24 hours (Actions limitations).
pub const MAX_CACHE_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// Prefix of the `api.cache` key of the Management API token; the client id follows
/// (Auth0 client ids are 32 characters, so the key stays under the 64-byte limit).
pub const TOKEN_CACHE_PREFIX: &str = "tokenseal:m2m:";
/// Largest `TOKENSEAL_RECHECK_HOURS` accepted: a year.
pub const MAX_RECHECK_HOURS: u64 = 365 * 24;

/// The Action's settings, from `event.secrets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionConfig {
    /// `TOKENSEAL_FETCH=always` reads on every login through a configured provider's
    /// connection that went to the provider; otherwise only when needed.
    pub read: ReadPolicy,
    /// `TOKENSEAL_PROVIDERS`: the providers a login captures, in order, each once;
    /// `None` when unset (Google alone, as before the setting existed).
    pub providers: Option<Vec<Connection>>,
    /// `TOKENSEAL_CLAIM_NAMESPACE`, when set and valid.
    pub claim_namespace: Option<String>,
    /// `TOKENSEAL_ON_ERROR=deny` denies the login on any failure; otherwise it goes on.
    pub deny_on_error: bool,
    /// `TOKENSEAL_RECHECK_HOURS` in seconds (default
    /// [`DEFAULT_RECHECK_SECONDS`]): after a read found no token, how long until the
    /// next read that only "nothing valid is stored" asks for.
    pub recheck_seconds: u64,
    /// Where and how to call the Management API; `None` when `AUTH0_DOMAIN`,
    /// `AUTH0_CLIENT_ID` or `AUTH0_CLIENT_SECRET` is missing or invalid.
    pub management: Option<ManagementApi>,
    /// Codes of configuration problems, to log once per login.
    pub notices: Vec<&'static str>,
}

/// The Management API endpoints derived from `AUTH0_DOMAIN`, and the client to call
/// them as. `Debug` prints the client secret as `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ManagementApi {
    /// `{base}/oauth/token`, for the client-credentials grant.
    pub token_url: String,
    /// `{base}/api/v2/`: the audience of the token.
    pub audience: String,
    /// `{base}/api/v2/users/`: append the URL-encoded `user_id`.
    pub users_url: String,
    /// The `api.cache` key of the token. Its entry is sealed
    /// ([`crate::jwe::seal_cache_entry`]) bound to this key, because every Action of the
    /// trigger can read `api.cache` (Actions api object reference: "Values stored in
    /// this cache are scoped to the Trigger in which they are set").
    pub cache_key: String,
    /// `AUTH0_CLIENT_ID`, without the whitespace a paste into the dashboard may add.
    pub client_id: String,
    /// `AUTH0_CLIENT_SECRET`, trimmed likewise. Zeroized on drop.
    pub client_secret: Zeroizing<String>,
}

impl core::fmt::Debug for ManagementApi {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ManagementApi")
            .field("token_url", &self.token_url)
            .field("audience", &self.audience)
            .field("users_url", &self.users_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Reads the Action's settings. Never fails: each problem becomes a notice and the
/// safe default (no read, no claim, do not deny).
#[must_use]
pub fn action_config(secrets: &Json) -> ActionConfig {
    let mut notices = Vec::new();
    // Every setting without the whitespace a paste into the dashboard may add: a
    // `TOKENSEAL_ON_ERROR` of "deny\n" must deny, not fall back to "continue".
    let text = |name: &str| {
        secrets
            .get(name)
            .and_then(Json::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };

    let read = one_of(
        text("TOKENSEAL_FETCH"),
        ("auto", ReadPolicy::Auto),
        &[("always", ReadPolicy::Always)],
        &mut notices,
    );
    let deny_on_error = one_of(
        text("TOKENSEAL_ON_ERROR"),
        ("continue", false),
        &[("deny", true)],
        &mut notices,
    );
    let recheck_seconds = recheck_seconds(text("TOKENSEAL_RECHECK_HOURS"), &mut notices);
    let providers = text("TOKENSEAL_PROVIDERS").and_then(|list| providers(list, &mut notices));
    let claim_namespace = text("TOKENSEAL_CLAIM_NAMESPACE").and_then(|ns| {
        let ok = valid_namespace(ns);
        if !ok {
            notices.push(Error::NamespaceInvalid.code());
        }
        ok.then(|| ns.to_owned())
    });
    let management = match (
        text("AUTH0_DOMAIN"),
        text("AUTH0_CLIENT_ID"),
        text("AUTH0_CLIENT_SECRET"),
    ) {
        (Some(domain), Some(client_id), Some(client_secret)) => {
            let api = management_api(domain, client_id, client_secret);
            if api.is_none() {
                notices.push(Error::ConfigInvalid.code());
            }
            api
        }
        _ => None,
    };
    ActionConfig {
        read,
        providers,
        claim_namespace,
        deny_on_error,
        recheck_seconds,
        management,
        notices,
    }
}

/// `TOKENSEAL_PROVIDERS`, comma-separated keys ([`Connection::parse`]): each key once,
/// in order. A list holding anything that is not a key is refused as a whole
/// ([`Error::ConfigInvalid`]) and means the default (`None`: Google alone), as every
/// other setting with a value tokenseal does not know: a half-read list would capture
/// some providers and silently not others.
fn providers(list: &str, notices: &mut Vec<&'static str>) -> Option<Vec<Connection>> {
    let items = list.split(',').map(str::trim).filter(|s| !s.is_empty());
    match Connection::configured(items) {
        (connections, refused) if refused.is_empty() && !connections.is_empty() => {
            Some(connections)
        }
        _ => {
            notices.push(Error::ConfigInvalid.code());
            None
        }
    }
}

/// A setting that is one of a few words. Absent means the `default` word's value; an
/// unknown word is reported ([`Error::ConfigInvalid`]) and also means it: the default is
/// the safe choice.
fn one_of<T: Copy>(
    value: Option<&str>,
    default: (&str, T),
    others: &[(&str, T)],
    notices: &mut Vec<&'static str>,
) -> T {
    let Some(value) = value else {
        return default.1;
    };
    if value == default.0 {
        return default.1;
    }
    if let Some((_, chosen)) = others.iter().find(|(word, _)| *word == value) {
        return *chosen;
    }
    notices.push(Error::ConfigInvalid.code());
    default.1
}

/// `TOKENSEAL_RECHECK_HOURS` in seconds: whole hours up to [`MAX_RECHECK_HOURS`];
/// absent or anything else gives [`DEFAULT_RECHECK_SECONDS`] (and a notice if present).
fn recheck_seconds(value: Option<&str>, notices: &mut Vec<&'static str>) -> u64 {
    let Some(hours) = value.map(str::trim) else {
        return DEFAULT_RECHECK_SECONDS;
    };
    match hours.parse::<u64>() {
        Ok(hours) if hours <= MAX_RECHECK_HOURS => hours * 3600,
        _ => {
            notices.push(Error::ConfigInvalid.code());
            DEFAULT_RECHECK_SECONDS
        }
    }
}

/// The Management API endpoints of `domain` and the client to call them as (whitespace a
/// paste into the dashboard may add trimmed); `None` when the domain is refused (see
/// [`management_base`]).
fn management_api(domain: &str, client_id: &str, client_secret: &str) -> Option<ManagementApi> {
    let base = management_base(domain)?;
    Some(ManagementApi {
        token_url: [base.as_str(), "/oauth/token"].concat(),
        audience: [base.as_str(), "/api/v2/"].concat(),
        users_url: [base.as_str(), "/api/v2/users/"].concat(),
        cache_key: [TOKEN_CACHE_PREFIX, client_id.trim()].concat(),
        client_id: client_id.trim().to_owned(),
        client_secret: Zeroizing::new(client_secret.trim().to_owned()),
    })
}

/// The base URL of the tenant: `example.us.auth0.com` becomes
/// `https://example.us.auth0.com`; a full `https://` URL is taken as it is (without a
/// trailing slash); `http://` only for loopback hosts, for local runs, since the client
/// secret travels in the request. `None` for anything else.
#[must_use]
pub fn management_base(domain: &str) -> Option<String> {
    let domain = domain.trim().trim_end_matches('/');
    // Prefix tests rather than `split_once("://")`: a `&str` pattern search links core's
    // panicking string-slice path, and with it 9 KB of formatting code (char `Debug`,
    // Unicode tables) into the wasm (bench/size-floor, twiggy).
    let (scheme, host_port) = if let Some(rest) = domain.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = domain.strip_prefix("http://") {
        ("http", rest)
    } else if domain.as_bytes().windows(3).any(|w| w == b"://") {
        return None;
    } else {
        ("https", domain)
    };
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host_port,
    };
    let host_ok = !host.is_empty()
        && (host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            || host == "[::1]");
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    if !host_ok || (scheme == "http" && !loopback) {
        return None;
    }
    Some([scheme, "://", host_port].concat())
}

/// True when `url` may receive a secret (a client secret, a refresh token): an
/// `https://` URL, or `http://` to a loopback host, by the rule of [`management_base`]
/// for its origin. Backends check a configured token or revocation endpoint with it.
#[must_use]
pub fn secret_url_allowed(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let origin_len = url.len() - rest.len()
        + rest
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
    url.get(..origin_len).and_then(management_base).is_some()
}

/// The scopes the Action's Management API token needs: `read:users` to read the user,
/// `read:user_idp_tokens` to see the `IdP` tokens in it (without it, Auth0 answers the
/// read with the tokens left out, which would look like "no token").
pub const REQUIRED_SCOPES: [&str; 2] = ["read:users", "read:user_idp_tokens"];

/// A notice when a Management API token's `scope` (space-separated, as the token
/// endpoint returns it) lacks one of [`REQUIRED_SCOPES`]; `None` when it has them or
/// when the answer does not say.
#[must_use]
pub fn token_scope_notice(scope: Option<&str>) -> Option<Error> {
    (!missing_scopes(scope, &REQUIRED_SCOPES).is_empty()).then_some(Error::ManagementForbidden)
}

/// How long to keep a Management API token in `api.cache`: its lifetime less a margin
/// (a tenth, at least a minute), capped at Auth0's 24-hour maximum; 0 (do not cache)
/// when the lifetime is unknown or too short.
#[must_use]
pub fn token_cache_ttl_ms(expires_in_seconds: Option<u64>) -> u64 {
    let Some(lifetime) = expires_in_seconds else {
        return 0;
    };
    let margin = (lifetime / 10).max(60);
    lifetime
        .saturating_sub(margin)
        .saturating_mul(1000)
        .min(MAX_CACHE_TTL_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secrets: serde_json::Value) -> ActionConfig {
        action_config(&Json::parse(&secrets.to_string()).expect("JSON"))
    }

    const M2M: [(&str, &str); 2] = [
        ("AUTH0_CLIENT_ID", "abc"),
        ("AUTH0_CLIENT_SECRET", "s3cret"),
    ];

    fn with_domain(domain: &str) -> Option<ManagementApi> {
        let mut secrets = serde_json::json!({"AUTH0_DOMAIN": domain});
        for (k, v) in M2M {
            secrets[k] = v.into();
        }
        config(secrets).management
    }

    #[test]
    fn providers_are_read_in_order_and_a_broken_list_is_the_default() {
        let c = config(
            serde_json::json!({"TOKENSEAL_PROVIDERS": " waad ,acme-idp, waad,google-oauth2"}),
        );
        let keys: Vec<_> = c
            .providers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(Connection::key)
            .collect();
        assert_eq!(keys, ["waad", "acme-idp", "google-oauth2"]);
        assert!(c.notices.is_empty());
        // A list with anything that is not a key is the default as a whole: Google.
        for only_bad in [
            "waad,google oauth2",
            "waad,acme_idp",
            "oauth2",
            " , ",
            "no way",
        ] {
            let c = config(serde_json::json!({"TOKENSEAL_PROVIDERS": only_bad}));
            assert_eq!(c.providers, None, "{only_bad:?}: the default, Google alone");
            assert_eq!(c.notices, ["ERR_CONFIG_INVALID"], "{only_bad:?}");
        }
        assert_eq!(config(serde_json::json!({})).providers, None);
    }

    #[test]
    fn domain_becomes_endpoints() {
        let api = with_domain("example.us.auth0.com").expect("valid");
        assert_eq!(api.token_url, "https://example.us.auth0.com/oauth/token");
        assert_eq!(api.audience, "https://example.us.auth0.com/api/v2/");
        assert_eq!(api.users_url, "https://example.us.auth0.com/api/v2/users/");
        assert_eq!(api.cache_key, "tokenseal:m2m:abc");
        assert_eq!(
            (api.client_id.as_str(), api.client_secret.as_str()),
            ("abc", "s3cret")
        );
        assert_eq!(with_domain("https://example.us.auth0.com/"), Some(api));
        let local = with_domain("http://127.0.0.1:4711").expect("loopback http is fine");
        assert_eq!(local.audience, "http://127.0.0.1:4711/api/v2/");
        assert!(with_domain("http://localhost:3000").is_some());
    }

    #[test]
    fn pasted_whitespace_around_words_is_trimmed() {
        let c = config(serde_json::json!({
            "TOKENSEAL_ON_ERROR": "deny\n", "TOKENSEAL_FETCH": " always\r\n",
            "TOKENSEAL_CLAIM_NAMESPACE": "https://app.example.com/\n",
            "TOKENSEAL_PROVIDERS": " google-oauth2 \n", "TOKENSEAL_RECHECK_HOURS": " 2\n",
        }));
        assert!(c.deny_on_error);
        assert_eq!(c.read, ReadPolicy::Always);
        assert_eq!(
            c.claim_namespace.as_deref(),
            Some("https://app.example.com/")
        );
        assert_eq!(c.recheck_seconds, 2 * 3600);
        assert!(c.notices.is_empty(), "{:?}", c.notices);
    }

    #[test]
    fn pasted_whitespace_is_trimmed() {
        let c = config(
            serde_json::json!({"AUTH0_DOMAIN": " a.auth0.com\n", "AUTH0_CLIENT_ID": "id\n", "AUTH0_CLIENT_SECRET": " secret\r\n"}),
        );
        let api = c.management.expect("valid");
        assert_eq!(
            (
                api.client_id.as_str(),
                api.client_secret.as_str(),
                api.cache_key.as_str()
            ),
            ("id", "secret", "tokenseal:m2m:id")
        );
    }

    #[test]
    fn unsafe_or_odd_domains_are_refused() {
        for bad in [
            "http://example.com",
            "ftp://x",
            "HTTPS://example.com",
            "xhttps://example.com",
            "https://a://b",
            "example.com/path",
            "user@example.com",
            "exa mple.com",
            "https://",
        ] {
            assert_eq!(with_domain(bad), None, "{bad}");
        }
        let c = config(
            serde_json::json!({"AUTH0_DOMAIN": "http://evil.example", "AUTH0_CLIENT_ID": "a", "AUTH0_CLIENT_SECRET": "b"}),
        );
        assert_eq!(c.notices, ["ERR_CONFIG_INVALID"]);
    }

    #[test]
    fn secrets_go_over_https_or_to_loopback_only() {
        for allowed in [
            "https://oauth2.googleapis.com/token",
            "https://idp.example.com:8443/oauth/token?x=1",
            "http://127.0.0.1:4000/token",
            "http://localhost/token",
            "http://[::1]:9/t",
        ] {
            assert!(secret_url_allowed(allowed), "{allowed}");
        }
        for refused in [
            "http://oauth2.googleapis.com/token",
            "http://127.0.0.1.evil.example/token",
            "http://localhost@evil.example/token",
            "ftp://127.0.0.1/token",
            "oauth2.googleapis.com/token",
            "https:///token",
            "",
        ] {
            assert!(!secret_url_allowed(refused), "{refused}");
        }
    }

    #[test]
    fn recheck_hours_are_whole_hours_up_to_a_year_else_the_default() {
        let seconds = |value: &str| {
            let c = config(serde_json::json!({ "TOKENSEAL_RECHECK_HOURS": value }));
            (c.recheck_seconds, c.notices)
        };
        assert_eq!(
            config(serde_json::json!({})).recheck_seconds,
            DEFAULT_RECHECK_SECONDS
        );
        assert_eq!(seconds("0"), (0, vec![]));
        assert_eq!(seconds(" 2 "), (7200, vec![]));
        assert_eq!(
            seconds(&MAX_RECHECK_HOURS.to_string()),
            (MAX_RECHECK_HOURS * 3600, vec![])
        );
        for bad in ["-1", "1.5", "often", &(MAX_RECHECK_HOURS + 1).to_string()] {
            assert_eq!(
                seconds(bad),
                (DEFAULT_RECHECK_SECONDS, vec!["ERR_CONFIG_INVALID"]),
                "{bad}"
            );
        }
    }

    #[test]
    fn options_and_their_defaults() {
        let c = config(serde_json::json!({}));
        assert_eq!(
            (
                c.read,
                c.deny_on_error,
                c.claim_namespace.clone(),
                c.management.clone()
            ),
            (ReadPolicy::Auto, false, None, None)
        );
        assert!(c.notices.is_empty());
        let c = config(
            serde_json::json!({"TOKENSEAL_FETCH": "always", "TOKENSEAL_ON_ERROR": "deny",
                                          "TOKENSEAL_CLAIM_NAMESPACE": "https://app.example.com/"}),
        );
        assert_eq!((c.read, c.deny_on_error), (ReadPolicy::Always, true));
        assert_eq!(
            c.claim_namespace.as_deref(),
            Some("https://app.example.com/")
        );
        let c = config(
            serde_json::json!({"TOKENSEAL_FETCH": "sometimes", "TOKENSEAL_ON_ERROR": "panic",
                                          "TOKENSEAL_CLAIM_NAMESPACE": "https://x.auth0.com/"}),
        );
        assert_eq!(
            (c.read, c.deny_on_error, c.claim_namespace),
            (ReadPolicy::Auto, false, None)
        );
        assert_eq!(
            c.notices,
            [
                "ERR_CONFIG_INVALID",
                "ERR_CONFIG_INVALID",
                "ERR_NAMESPACE_INVALID"
            ]
        );
        // Missing M2M credentials: no reads, and no notice until a read is needed.
        assert_eq!(
            config(serde_json::json!({"AUTH0_DOMAIN": "a.auth0.com"})).management,
            None
        );
    }

    #[test]
    fn token_scopes_are_checked() {
        assert_eq!(
            token_scope_notice(Some("read:users read:user_idp_tokens update:users")),
            None
        );
        assert_eq!(token_scope_notice(None), None);
        assert_eq!(
            token_scope_notice(Some("read:users")),
            Some(Error::ManagementForbidden)
        );
        assert_eq!(
            token_scope_notice(Some("")),
            Some(Error::ManagementForbidden)
        );
    }

    #[test]
    fn token_cache_lifetime() {
        assert_eq!(token_cache_ttl_ms(Some(86_400)), 77_760_000); // a day less 10%
        assert_eq!(token_cache_ttl_ms(Some(600)), 540_000); // less a minute
        assert_eq!(token_cache_ttl_ms(Some(30)), 0);
        assert_eq!(token_cache_ttl_ms(None), 0);
        assert_eq!(token_cache_ttl_ms(Some(10 * 86_400)), MAX_CACHE_TTL_MS);
    }
}
