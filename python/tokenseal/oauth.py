"""A requests-oauthlib session over a user's sealed refresh token of one provider
(Google by default; Entra ID, Bitbucket, or a custom OAuth 2.0 connection by its key).

The session refreshes at the provider's token endpoint on its first request and whenever its
access token has expired (requests-oauthlib's automatic refresh), hands a rotated
refresh token back **sealed** (as the successor of the value it replaces) through the
app's ``on_rotated`` callback, and turns every failed refresh into
:class:`tokenseal.TokenSealError`: the token endpoint's answer is read by the core's
``parse_refresh_response`` (the same function as in every other binding), so
``invalid_grant`` is ``ERR_RECONSENT_REQUIRED`` and a 429 or 5xx, whatever its body, is
``ERR_PROVIDER_UNAVAILABLE``; no answer at all is ``ERR_PROVIDER_UNAVAILABLE`` too.

Keep one session per user (for example in a dict keyed by ``user_id``) to reuse its
access token until it expires. requests-oauthlib logs tokens and the client secret at
``DEBUG`` level: keep its loggers (``requests_oauthlib``, ``oauthlib``) above that.
"""

import json
import time

import requests
from requests.auth import AuthBase
from oauthlib.oauth2.rfc6749.errors import InsecureTransportError, OAuth2Error
from requests_oauthlib import OAuth2Session

from ._tokenseal import (
    ERR_CONFIG_INVALID,
    ERR_PROVIDER_RESPONSE,
    ERR_SAVE_FAILED,
    ERR_USER_INVALID,
    GOOGLE_PROVIDER,
    SEALED_KEY,
    TokenSealError,
    basic_authorization,
    discovery_url,
    open_sealed,
    parse_refresh_response,
    resolve_endpoints,
    rotated_refresh_token,
    seal_rotated,
)


def _error(code, message):
    """A TokenSealError with a code (one of the core's constants), as the core raises them."""
    error = TokenSealError(message)
    error.code = code
    return error


class _BasicAuth(AuthBase):
    """``client_secret_basic`` with the header the core builds (RFC 6749 §2.3.1: the id
    and secret form-encoded before base64, which requests' HTTPBasicAuth does not do)."""

    def __init__(self, client_id, client_secret):
        self._header = basic_authorization(client_id, client_secret)

    def __call__(self, request):
        request.headers["Authorization"] = self._header
        return request


class SealedTokenSession(OAuth2Session):
    """An ``OAuth2Session`` for one user whose refresh token tokenseal sealed.

    :param user: the Auth0 user, ``{"user_id": ..., "app_metadata": {...}}``
    :param keys: the JWK Set (``TOKENSEAL_KEYS``), JSON text
    :param client_id: the provider's OAuth client of the Auth0 connection
    :param client_secret: its secret
    :param on_rotated: called with ``(user_id, sealed, replaces)`` when the provider rotated
        the refresh token: store ``sealed`` in place of ``replaces`` in
        ``app_metadata.sealed_refresh_tokens[provider]``. If it raises, the next request
        offers the same value again before anything else (``ERR_SAVE_FAILED`` until it
        succeeds).
    :param token_endpoint: the provider's own by default (Google's, Bitbucket's); https,
        or http to a loopback host
    :param provider: the key of ``sealed_refresh_tokens``: ``"google-oauth2"`` (default),
        ``"waad"``, ``"bitbucket"`` or a custom OAuth 2.0 connection's name
    :param issuer: an OpenID Connect issuer whose discovery document names the endpoints
        (fetched once, here)
    :param scope: sent with every refresh (Entra ID requires it)
    :param token_endpoint_auth_method: ``client_secret_post`` or ``client_secret_basic``;
        by default the provider's (or what the discovery document allows)
    :raises tokenseal.TokenSealError: from the constructor (``ERR_USER_INVALID``, the
        codes of ``open_sealed``, and of ``resolve_endpoints``: ``ERR_CONFIG_INVALID`` for
        an endpoint that is not https, ``ERR_CONFIG_INCOMPLETE`` without an endpoint or a
        scope the provider needs, ``ERR_DISCOVERY_INVALID``, ``ERR_PROVIDER_UNAVAILABLE``),
        and from requests when a refresh fails
    """

    def __init__(
        self,
        user,
        keys,
        client_id,
        client_secret,
        on_rotated,
        token_endpoint=None,
        provider=GOOGLE_PROVIDER,
        issuer=None,
        scope=None,
        token_endpoint_auth_method=None,
        **kwargs,
    ):
        if not isinstance(user, dict) or not isinstance(user.get("user_id"), str):
            raise _error(ERR_USER_INVALID, "user must be a dict with a string user_id")
        if isinstance(scope, (list, tuple)):
            scope = " ".join(scope)  # as OAuth2Session takes it
        options = {
            "token_endpoint": token_endpoint,
            "issuer": issuer,
            "scope": scope,
            "token_endpoint_auth_method": token_endpoint_auth_method,
        }
        # Everything the document is not needed for is checked before it is fetched.
        document_url = discovery_url(provider, **options)
        discovery = None
        if document_url is not None:
            try:
                answer = requests.get(document_url, timeout=10, allow_redirects=False)
                discovery = (answer.status_code, answer.text)
            except requests.RequestException:
                discovery = (0, "")
        endpoints = resolve_endpoints(provider, discovery=discovery, **options)
        self._provider = provider
        self._user_id = user["user_id"]
        self._keys = keys
        self._on_rotated = on_rotated
        app_metadata = user.get("app_metadata") or {}
        refresh_token = open_sealed(app_metadata, keys, self._user_id, provider)
        self._sealed = app_metadata[SEALED_KEY][provider]  # it opened, so it is there
        self._refresh_token = refresh_token
        self._unsaved = None  # (sealed, replaces) while on_rotated has not succeeded
        basic = endpoints["token_endpoint_auth_method"] == "client_secret_basic"
        self._client_auth = _BasicAuth(client_id, client_secret) if basic else None
        super().__init__(
            client_id,
            # No access token yet: the first request refreshes (see request()).
            token={"token_type": "Bearer", "refresh_token": refresh_token},
            auto_refresh_url=endpoints["token_endpoint"],
            auto_refresh_kwargs={} if basic else {"client_id": client_id, "client_secret": client_secret},
            token_updater=self._updated,
            # oauthlib sends the session's scope with every refresh.
            scope=endpoints["scope"],
            **kwargs,
        )
        # Every answer of the token endpoint is judged by the core before oauthlib reads it.
        self.register_compliance_hook("refresh_token_response", self._judged)

    def request(self, method, url, *args, withhold_token=False, **kwargs):
        """Stores a rotation still waiting, refreshes first when the session has no access
        token yet (a new session), then makes the request; after that requests-oauthlib
        refreshes an expired access token by itself."""
        if not withhold_token:
            self._store_rotation()
            if not self.token.get("access_token"):
                options = {k: kwargs[k] for k in ("timeout", "verify", "proxies") if k in kwargs}
                self.token = self.refresh_token(self.auto_refresh_url, **options)
                self._updated(self.token)
        return super().request(method, url, *args, withhold_token=withhold_token, **kwargs)

    def refresh_token(self, token_url, **kwargs):
        """requests-oauthlib's refresh, authenticated as the client's method says; every
        failure is a TokenSealError."""
        if self._client_auth is not None and kwargs.get("auth") is None:
            kwargs["auth"] = self._client_auth
        answer = None
        try:
            return super().refresh_token(token_url, **kwargs)
        except Warning as changed:
            # oauthlib refuses an answer whose scope differs from the one asked for (Entra
            # never echoes offline_access back); the grant is what the provider says, so
            # the answer is taken as it is. The exception holds the tokens: it is
            # consumed here, and the answer handled after this block, so that no later
            # exception can carry it as its context.
            if not isinstance(getattr(changed, "token", None), dict):
                raise
            answer = dict(changed.token)
        except requests.RequestException:
            # No answer: the core's reading of status 0 (ERR_PROVIDER_UNAVAILABLE).
            parse_refresh_response(0, "", int(time.time()), self._provider)
            raise
        except InsecureTransportError:
            raise _error(ERR_CONFIG_INVALID, "oauthlib refuses a token endpoint that is not https") from None
        except (OAuth2Error, ValueError):
            # Answers were judged by _judged: what is left is a 2xx oauthlib could not use.
            # A rotation it carried was kept there: offered to on_rotated now (if that
            # fails, again before the next request, as always).
            try:
                self._store_rotation()
            except TokenSealError:
                pass
            raise _error(ERR_PROVIDER_RESPONSE, "the token endpoint answered with an unexpected body") from None
        return self._accept(answer)

    def _accept(self, token):
        """What requests-oauthlib does with a refresh answer it accepts: the old refresh
        token is kept when the answer has none."""
        if "refresh_token" not in token:
            token["refresh_token"] = self._refresh_token
        self.token = token  # OAuth2Session's setter also hands it to the oauthlib client
        return self.token

    def _judged(self, response):
        now = int(time.time())
        if not 200 <= response.status_code < 300:
            parse_refresh_response(response.status_code, response.text, now, self._provider)  # raises
        # A rotated refresh token is sealed before anything reads the rest of the answer:
        # the provider has consumed the old one, so it must be kept even if the answer is
        # then refused (it is offered to on_rotated either way).
        self._keep(rotated_refresh_token(response.status_code, response.text))
        try:
            grant = parse_refresh_response(response.status_code, response.text, now, self._provider)
        except TokenSealError:
            try:
                self._store_rotation()
            except TokenSealError:
                pass  # offered again before the next request
            raise
        # The core's reading of the lifetime (a digit string, a fraction, none at all: the
        # assumed one) is what oauthlib schedules the next refresh by, as requests-oauthlib's
        # own compliance fixes rewrite an answer's body.
        answer = response.json()
        answer["expires_in"] = max(0, grant["expires_at"] - now)
        response._content = json.dumps(answer).encode("utf-8")
        response.encoding = "utf-8"
        return response

    def _keep(self, rotated):
        """Seals a rotated refresh token as the successor of the stored value, before
        anything else, and keeps it until the app has stored it; the session sends it
        from now on."""
        if rotated and rotated != self._refresh_token:
            successor = seal_rotated(rotated, self._sealed, self._keys, self._user_id, self._provider)
            self._unsaved = (successor, self._sealed)
            self._sealed, self._refresh_token = successor, rotated
            if self.token.get("refresh_token") != rotated:
                self.token = {**self.token, "refresh_token": rotated}

    def _updated(self, token):
        self._keep(token.get("refresh_token"))
        self._store_rotation()

    def _store_rotation(self):
        if self._unsaved is None:
            return
        sealed, replaces = self._unsaved
        try:
            self._on_rotated(self._user_id, sealed, replaces)
        except Exception:
            raise _error(ERR_SAVE_FAILED, "on_rotated failed to store the rotated refresh token") from None
        self._unsaved = None
