//! Where a backend sends one provider's refreshes and revocations, and how: resolved
//! once from the deployment's options, the provider's entry and, when the deployment
//! names an issuer, the issuer's discovery document. The backends fetch the document;
//! every decision about it is made here.
//!
//! Discovery follows OpenID Connect Discovery 1.0 (§4: the document is at the issuer
//! plus `/.well-known/openid-configuration`; §4.3: its `issuer` must be exactly the
//! configured one) and RFC 8414 (§2 `revocation_endpoint`; §3.3: a document whose
//! `issuer` differs "MUST NOT be used").

use zeroize::Zeroizing;

use crate::action::secret_url_allowed;
use crate::error::{Error, Result};
use crate::json::Json;

use super::token_endpoint::Client;
use super::{ClientAuth, Connection};

/// The path OpenID Connect Discovery 1.0 §4 appends to the issuer.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The deployment's options for one provider (the backends' `providers[<key>]`), all
/// optional, none secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOptions {
    /// `tokenEndpoint`: overrides discovery and the provider's own.
    pub token_endpoint: Option<String>,
    /// `revokeEndpoint`: likewise, for RFC 7009 revocation.
    pub revoke_endpoint: Option<String>,
    /// `issuer`: the document at [`discovery_url`] names the endpoints.
    pub issuer: Option<String>,
    /// `scope`: space-separated scopes every refresh names.
    pub scope: Option<String>,
    /// `tokenEndpointAuthMethod`: `client_secret_post` or `client_secret_basic`.
    pub auth: Option<String>,
}

impl EndpointOptions {
    /// Reads `{ tokenEndpoint, revokeEndpoint, issuer, scope, tokenEndpointAuthMethod }`;
    /// other members (the client id and secret, the app's own options) are not read.
    ///
    /// # Errors
    /// [`Error::ConfigInvalid`] when the value is not an object or one of these members
    /// is present and not a non-empty string.
    pub fn from_value(value: &Json) -> Result<Self> {
        let Json::Object(_) = value else {
            return Err(Error::ConfigInvalid);
        };
        let text = |name: &str| match value.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(Error::ConfigInvalid),
        };
        Ok(Self {
            token_endpoint: text("tokenEndpoint")?,
            revoke_endpoint: text("revokeEndpoint")?,
            issuer: text("issuer")?,
            scope: text("scope")?,
            auth: text("tokenEndpointAuthMethod")?,
        })
    }
}

/// Reads a backend's OAuth client of one provider: `{ provider, clientId, clientSecret,
/// tokenEndpointAuthMethod, scope }`, where `provider` is a key ([`Connection::parse`])
/// and the last two are optional ([`Endpoints`] gives them; absent means the
/// provider's default method and no scope).
///
/// # Errors
/// [`Error::ConfigInvalid`] when the value is not an object, `provider` is not a key,
/// `clientId` or `clientSecret` is not a non-empty string, or an optional member is of
/// the wrong kind.
pub fn client_from_value(value: &Json) -> Result<(Connection, Client)> {
    let text = |name: &str| match value.get(name) {
        Some(Json::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
        None | Some(Json::Null) => Ok(None),
        Some(_) => Err(Error::ConfigInvalid),
    };
    let required = |name: &str| text(name)?.ok_or(Error::ConfigInvalid);
    let connection = Connection::parse(required("provider")?)?;
    let auth = match text("tokenEndpointAuthMethod")? {
        Some(name) => ClientAuth::parse(name)?,
        None => connection.provider().client_auth,
    };
    let client = Client {
        client_id: required("clientId")?.to_owned(),
        client_secret: Zeroizing::new(required("clientSecret")?.to_owned()),
        auth,
        scope: text("scope")?.map(str::to_owned),
    };
    Ok((connection, client))
}

/// A provider's endpoints as one deployment uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Where refreshes go.
    pub token_endpoint: String,
    /// Where revocations go, if anywhere.
    pub revoke_endpoint: Option<String>,
    /// How the client authenticates at both.
    pub auth: ClientAuth,
    /// What every refresh names as `scope`, if anything.
    pub scope: Option<String>,
}

/// The discovery document's address for `issuer` (OpenID Connect Discovery 1.0 §4: a
/// trailing `/` is removed before the path is appended).
///
/// # Errors
/// [`Error::ConfigInvalid`] when `issuer` is not an https URL (or http to a loopback
/// host), or carries a query or fragment (RFC 8414 §2: "no query or fragment
/// components").
pub fn discovery_url(issuer: &str) -> Result<String> {
    if !secret_url_allowed(issuer) || issuer.contains(['?', '#']) {
        return Err(Error::ConfigInvalid);
    }
    Ok([issuer.trim_end_matches('/'), DISCOVERY_PATH].concat())
}

/// Checks what of `options` needs no discovery document (the scope the provider's
/// refresh needs, explicit endpoints, the authentication method's name, the issuer)
/// and returns the address of the document to fetch, if one is needed: a backend calls
/// it when it is configured, so that a fault shows then, not at the first refresh.
///
/// # Errors
/// As [`resolve`], for those options.
pub fn check(connection: &Connection, options: &EndpointOptions) -> Result<Option<String>> {
    if connection.provider().refresh_needs_scope && options.scope.is_none() {
        return Err(Error::ConfigIncomplete);
    }
    let explicit = [&options.token_endpoint, &options.revoke_endpoint];
    if explicit
        .into_iter()
        .flatten()
        .any(|url| !secret_url_allowed(url))
    {
        return Err(Error::ConfigInvalid);
    }
    if let Some(name) = &options.auth {
        ClientAuth::parse(name)?;
    }
    options.issuer.as_deref().map(discovery_url).transpose()
}

/// Resolves where and how `connection`'s refreshes go. `discovery` is the answer to a
/// `GET` of [`discovery_url`], `(status, body)` with status 0 for no answer, required
/// when `options.issuer` is set and read only then.
///
/// - The token endpoint is `tokenEndpoint`, else the document's `token_endpoint`, else
///   the provider's own ([`super::Provider::token_endpoint`]); the revocation endpoint
///   likewise (`revocation_endpoint`).
/// - The client authentication is `tokenEndpointAuthMethod`; else, with a document,
///   the provider's default if the document lists it in
///   `token_endpoint_auth_methods_supported` (absent means `client_secret_basic`),
///   otherwise the first of `client_secret_basic`, `client_secret_post` it lists;
///   else the provider's default.
/// - `scope` is required for a provider whose refresh needs it
///   ([`super::Provider::refresh_needs_scope`]).
/// - Every endpoint must be https (http only to a loopback host), since the client
///   secret and refresh tokens travel to it.
///
/// # Errors
/// [`Error::ConfigIncomplete`] without a token endpoint, without the scope a refresh
/// needs, or with an issuer but no document; [`Error::ProviderUnavailable`] when the
/// document did not come (no answer, 429, 5xx: try again later);
/// [`Error::ConfigInvalid`] for an endpoint
/// that is not https, an unknown authentication method, or a document whose methods
/// include neither supported one; [`Error::DiscoveryInvalid`] for another status, or
/// a document that is not a JSON object, names another issuer, or has an unusable
/// `token_endpoint` or `revocation_endpoint`.
pub fn resolve(
    connection: &Connection,
    options: &EndpointOptions,
    discovery: Option<(u16, &str)>,
) -> Result<Endpoints> {
    let provider = connection.provider();
    check(connection, options)?;
    let document = match (&options.issuer, discovery) {
        (None, _) => None,
        (Some(_), None) => return Err(Error::ConfigIncomplete),
        (Some(_), Some((0 | 429 | 500..=599, _))) => return Err(Error::ProviderUnavailable),
        (Some(issuer), Some((200, body))) => {
            let document = Json::parse(body).map_err(|_| Error::DiscoveryInvalid)?;
            Some(read_document(issuer, &document)?)
        }
        (Some(_), Some(_)) => return Err(Error::DiscoveryInvalid),
    };
    let token_endpoint = options
        .token_endpoint
        .clone()
        .or_else(|| document.as_ref().and_then(|d| d.token_endpoint.clone()))
        .or_else(|| provider.token_endpoint.map(str::to_owned))
        .ok_or(Error::ConfigIncomplete)?;
    let revoke_endpoint = options
        .revoke_endpoint
        .clone()
        .or_else(|| document.as_ref().and_then(|d| d.revoke_endpoint.clone()))
        .or_else(|| provider.revoke_endpoint.map(str::to_owned));
    if !secret_url_allowed(&token_endpoint)
        || revoke_endpoint
            .as_deref()
            .is_some_and(|e| !secret_url_allowed(e))
    {
        return Err(Error::ConfigInvalid);
    }
    let auth = match (&options.auth, &document) {
        (Some(name), _) => ClientAuth::parse(name)?,
        (None, Some(document)) => document.auth(provider.client_auth)?,
        (None, None) => provider.client_auth,
    };
    Ok(Endpoints {
        token_endpoint,
        revoke_endpoint,
        auth,
        scope: options.scope.clone(),
    })
}

/// What tokenseal reads of a discovery document.
struct Document {
    token_endpoint: Option<String>,
    revoke_endpoint: Option<String>,
    /// `token_endpoint_auth_methods_supported`; `None` when absent.
    methods: Option<Vec<String>>,
}

impl Document {
    /// The method to use: `preferred` when listed, else the first supported one listed.
    fn auth(&self, preferred: ClientAuth) -> Result<ClientAuth> {
        // OpenID Connect Discovery 1.0 §3: "If omitted, the default is
        // client_secret_basic".
        let listed = |auth: ClientAuth| {
            self.methods
                .as_ref()
                .map_or(auth == ClientAuth::Basic, |m| {
                    m.iter().any(|name| name == auth.as_str())
                })
        };
        [preferred, ClientAuth::Basic, ClientAuth::Post]
            .into_iter()
            .find(|auth| listed(*auth))
            .ok_or(Error::ConfigInvalid)
    }
}

/// Reads the members tokenseal uses, after checking the document is the issuer's own.
fn read_document(issuer: &str, document: &Json) -> Result<Document> {
    let Json::Object(_) = document else {
        return Err(Error::DiscoveryInvalid);
    };
    if document.get("issuer").and_then(Json::as_str) != Some(issuer) {
        return Err(Error::DiscoveryInvalid);
    }
    // A document fetched over https names https endpoints only: the loopback exception
    // of secret_url_allowed is for an issuer the deployment itself runs on loopback, not
    // for whatever a remote document points at on the backend's own host.
    let loopback_issuer = !issuer.starts_with("https://");
    let endpoint = |name: &str| match document.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(url))
            if secret_url_allowed(url) && (loopback_issuer || url.starts_with("https://")) =>
        {
            Ok(Some(url.clone()))
        }
        Some(_) => Err(Error::DiscoveryInvalid),
    };
    let methods = match document.get("token_endpoint_auth_methods_supported") {
        None | Some(Json::Null) => None,
        Some(Json::Array(items)) => Some(
            items
                .iter()
                .map(|m| m.as_str().map(str::to_owned).ok_or(Error::DiscoveryInvalid))
                .collect::<Result<Vec<_>>>()?,
        ),
        Some(_) => return Err(Error::DiscoveryInvalid),
    };
    Ok(Document {
        token_endpoint: endpoint("token_endpoint")?,
        revoke_endpoint: endpoint("revocation_endpoint")?,
        methods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(value: serde_json::Value) -> EndpointOptions {
        EndpointOptions::from_value(&Json::parse(&value.to_string()).expect("JSON"))
            .expect("valid options")
    }

    fn connection(key: &str) -> Connection {
        Connection::parse(key).expect("a key")
    }

    const ISSUER: &str = "https://id.example.com/tenant";

    fn document(value: serde_json::Value) -> Json {
        Json::parse(&value.to_string()).expect("JSON")
    }

    /// A discovery answer: 200 and the document's text.
    fn answer(value: &serde_json::Value) -> String {
        value.to_string()
    }

    #[test]
    fn built_in_endpoints_are_the_default_and_options_override_them() {
        let google = resolve(&Connection::google(), &options(serde_json::json!({})), None)
            .expect("resolves");
        assert_eq!(google.token_endpoint, "https://oauth2.googleapis.com/token");
        assert_eq!(
            google.revoke_endpoint.as_deref(),
            Some("https://oauth2.googleapis.com/revoke")
        );
        assert_eq!((google.auth, google.scope), (ClientAuth::Post, None));
        let bitbucket = resolve(
            &connection("bitbucket"),
            &options(serde_json::json!({})),
            None,
        )
        .expect("resolves");
        assert_eq!(bitbucket.auth, ClientAuth::Basic);
        let local = resolve(
            &Connection::google(),
            &options(
                serde_json::json!({"tokenEndpoint": "http://127.0.0.1:9/token",
                                        "tokenEndpointAuthMethod": "client_secret_basic"}),
            ),
            None,
        )
        .expect("resolves");
        assert_eq!(
            (local.token_endpoint.as_str(), local.auth),
            ("http://127.0.0.1:9/token", ClientAuth::Basic)
        );
    }

    #[test]
    fn what_a_provider_needs_must_be_configured() {
        let none = options(serde_json::json!({}));
        assert_eq!(
            resolve(&connection("acme-idp"), &none, None),
            Err(Error::ConfigIncomplete),
            "a custom connection has no endpoint of its own"
        );
        let entra = options(serde_json::json!({
            "tokenEndpoint": "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"}));
        assert_eq!(
            resolve(&connection("waad"), &entra, None),
            Err(Error::ConfigIncomplete),
            "Entra's refresh needs a scope"
        );
        let mut scoped = entra;
        scoped.scope = Some("offline_access User.Read".into());
        assert!(resolve(&connection("waad"), &scoped, None).is_ok());
        for bad in [
            serde_json::json!({"tokenEndpoint": "http://idp.example.com/token"}),
            serde_json::json!({"tokenEndpoint": "https://idp.example.com/token",
                               "revokeEndpoint": "http://idp.example.com/revoke"}),
            serde_json::json!({"tokenEndpoint": "https://idp.example.com/token",
                               "tokenEndpointAuthMethod": "private_key_jwt"}),
        ] {
            assert_eq!(
                resolve(&connection("acme-idp"), &options(bad.clone()), None),
                Err(Error::ConfigInvalid),
                "{bad}"
            );
        }
        assert_eq!(
            EndpointOptions::from_value(&document(serde_json::json!({"scope": 7}))),
            Err(Error::ConfigInvalid)
        );
    }

    #[test]
    fn a_client_is_read_with_the_provider_s_defaults() {
        let (connection, client) = client_from_value(&document(serde_json::json!({
            "provider": "bitbucket", "clientId": "id", "clientSecret": "s3cret"})))
        .expect("a client");
        assert_eq!(connection.key(), "bitbucket");
        assert_eq!((client.auth, client.scope), (ClientAuth::Basic, None));
        let (_, client) = client_from_value(&document(serde_json::json!({
            "provider": "waad", "clientId": "id", "clientSecret": "s3cret",
            "tokenEndpointAuthMethod": "client_secret_basic", "scope": "offline_access"})))
        .expect("a client");
        assert_eq!(
            (client.auth, client.scope.as_deref()),
            (ClientAuth::Basic, Some("offline_access"))
        );
        for bad in [
            serde_json::json!({"clientId": "id", "clientSecret": "s"}),
            serde_json::json!({"provider": "oauth2", "clientId": "id", "clientSecret": "s"}),
            serde_json::json!({"provider": "waad", "clientId": "", "clientSecret": "s"}),
            serde_json::json!({"provider": "waad", "clientId": "id", "clientSecret": 5}),
            serde_json::json!({"provider": "waad", "clientId": "id", "clientSecret": "s",
                               "tokenEndpointAuthMethod": "none"}),
        ] {
            assert_eq!(
                client_from_value(&document(bad.clone())).map(|_| ()),
                Err(Error::ConfigInvalid),
                "{bad}"
            );
        }
    }

    #[test]
    fn discovery_names_the_endpoints_of_its_own_issuer_only() {
        assert_eq!(
            discovery_url(&format!("{ISSUER}/")).as_deref(),
            Ok("https://id.example.com/tenant/.well-known/openid-configuration")
        );
        assert_eq!(
            discovery_url("http://id.example.com"),
            Err(Error::ConfigInvalid)
        );
        assert_eq!(
            discovery_url("https://id.example.com/?a=b"),
            Err(Error::ConfigInvalid)
        );
        let with_issuer = options(serde_json::json!({"issuer": ISSUER}));
        let acme = connection("acme-idp");
        assert_eq!(
            resolve(&acme, &with_issuer, None),
            Err(Error::ConfigIncomplete)
        );
        // What needs no document is checked before it is fetched.
        assert_eq!(
            check(&acme, &with_issuer),
            Ok(Some(
                "https://id.example.com/tenant/.well-known/openid-configuration".to_owned()
            ))
        );
        assert_eq!(
            check(&connection("waad"), &with_issuer),
            Err(Error::ConfigIncomplete),
            "Entra's scope"
        );
        assert_eq!(
            check(&Connection::google(), &options(serde_json::json!({}))),
            Ok(None)
        );
        let good = answer(&serde_json::json!({
            "issuer": ISSUER,
            "token_endpoint": "https://id.example.com/tenant/token",
            "revocation_endpoint": "https://id.example.com/tenant/revoke",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"]
        }));
        let resolved = resolve(&acme, &with_issuer, Some((200, &good))).expect("resolves");
        assert_eq!(
            resolved.token_endpoint,
            "https://id.example.com/tenant/token"
        );
        assert_eq!(
            resolved.revoke_endpoint.as_deref(),
            Some("https://id.example.com/tenant/revoke")
        );
        assert_eq!(
            resolved.auth,
            ClientAuth::Post,
            "the one supported method listed"
        );
        // Omitted methods mean client_secret_basic (Discovery §3).
        let plain = answer(&serde_json::json!({"issuer": ISSUER,
            "token_endpoint": "https://id.example.com/tenant/token"}));
        let resolved = resolve(
            &connection("waad"),
            &options(serde_json::json!({
            "issuer": ISSUER, "scope": "offline_access"})),
            Some((200, &plain)),
        )
        .expect("resolves");
        assert_eq!(resolved.auth, ClientAuth::Basic);
        for bad in [
            serde_json::json!({"issuer": "https://evil.example.com/tenant",
                               "token_endpoint": "https://evil.example.com/token"}),
            serde_json::json!({"issuer": format!("{ISSUER}/"),
                               "token_endpoint": "https://id.example.com/tenant/token"}),
            serde_json::json!({"issuer": ISSUER, "token_endpoint": "http://id.example.com/token"}),
            serde_json::json!({"issuer": ISSUER, "token_endpoint": "http://127.0.0.1:8080/token"}),
            serde_json::json!({"issuer": ISSUER, "token_endpoint": "https://id.example.com/t",
                               "revocation_endpoint": "http://localhost/revoke"}),
            serde_json::json!({"issuer": ISSUER, "token_endpoint": "https://id.example.com/t",
                               "token_endpoint_auth_methods_supported": "client_secret_post"}),
            serde_json::json!([ISSUER]),
        ] {
            assert_eq!(
                resolve(&acme, &with_issuer, Some((200, &answer(&bad)))),
                Err(Error::DiscoveryInvalid),
                "{bad}"
            );
        }
        let no_method = answer(&serde_json::json!({"issuer": ISSUER,
            "token_endpoint": "https://id.example.com/t",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"]}));
        assert_eq!(
            resolve(&acme, &with_issuer, Some((200, &no_method))),
            Err(Error::ConfigInvalid)
        );
        let no_endpoint = answer(&serde_json::json!({"issuer": ISSUER}));
        assert_eq!(
            resolve(&acme, &with_issuer, Some((200, &no_endpoint))),
            Err(Error::ConfigIncomplete)
        );
        // How the fetch went is decided here too.
        for (status, body, expected) in [
            (0, "", Error::ProviderUnavailable),
            (503, "{}", Error::ProviderUnavailable),
            (429, "", Error::ProviderUnavailable),
            (404, "", Error::DiscoveryInvalid),
            (200, "<html>", Error::DiscoveryInvalid),
        ] {
            assert_eq!(
                resolve(&acme, &with_issuer, Some((status, body))),
                Err(expected),
                "{status}"
            );
        }
    }
}
