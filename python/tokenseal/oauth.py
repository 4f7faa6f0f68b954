"""A requests-oauthlib session over a user's sealed Google refresh token.

The session refreshes at Google's token endpoint on its first request and whenever its
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

import time

import requests
from oauthlib.oauth2.rfc6749.errors import InsecureTransportError, OAuth2Error
from requests_oauthlib import OAuth2Session

from ._tokenseal import (
    ERR_CONFIG_INVALID,
    ERR_PROVIDER_RESPONSE,
    ERR_SAVE_FAILED,
    ERR_USER_INVALID,
    GOOGLE_PROVIDER,
    GOOGLE_TOKEN_ENDPOINT,
    SEALED_KEY,
    TokenSealError,
    endpoint_allowed,
    open_sealed,
    parse_refresh_response,
    seal_rotated,
)


def _error(code, message):
    """A TokenSealError with a code (one of the core's constants), as the core raises them."""
    error = TokenSealError(message)
    error.code = code
    return error


class SealedTokenSession(OAuth2Session):
    """An ``OAuth2Session`` for one user whose refresh token tokenseal sealed.

    :param user: the Auth0 user, ``{"user_id": ..., "app_metadata": {...}}``
    :param keys: the JWK Set (``TOKENSEAL_KEYS``), JSON text
    :param client_id: the Google OAuth client of the Auth0 ``google-oauth2`` connection
    :param client_secret: its secret
    :param on_rotated: called with ``(user_id, sealed, replaces)`` when Google rotated the
        refresh token: store ``sealed`` in place of ``replaces`` in
        ``app_metadata.sealed_refresh_tokens["google-oauth2"]``. If it raises, the next
        request offers the same value again before anything else (``ERR_SAVE_FAILED``
        until it succeeds).
    :param token_endpoint: Google's by default; https, or http to a loopback host
    :raises tokenseal.TokenSealError: from the constructor (``ERR_USER_INVALID``, the
        codes of ``open_sealed``, ``ERR_CONFIG_INVALID`` for an endpoint that is not
        https), and from requests when a refresh fails
    """

    def __init__(self, user, keys, client_id, client_secret, on_rotated, token_endpoint=GOOGLE_TOKEN_ENDPOINT, **kwargs):
        if not isinstance(user, dict) or not isinstance(user.get("user_id"), str):
            raise _error(ERR_USER_INVALID, "user must be a dict with a string user_id")
        if not endpoint_allowed(token_endpoint):
            raise _error(ERR_CONFIG_INVALID, "token_endpoint must be https (http only to a loopback host)")
        self._user_id = user["user_id"]
        self._keys = keys
        self._on_rotated = on_rotated
        app_metadata = user.get("app_metadata") or {}
        refresh_token = open_sealed(app_metadata, keys, self._user_id)
        self._sealed = app_metadata[SEALED_KEY][GOOGLE_PROVIDER]  # it opened, so it is there
        self._refresh_token = refresh_token
        self._unsaved = None  # (sealed, replaces) while on_rotated has not succeeded
        super().__init__(
            client_id,
            # No access token yet: the first request refreshes (see request()).
            token={"token_type": "Bearer", "refresh_token": refresh_token},
            auto_refresh_url=token_endpoint,
            auto_refresh_kwargs={"client_id": client_id, "client_secret": client_secret},
            token_updater=self._updated,
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
        """requests-oauthlib's refresh; every failure is a TokenSealError."""
        try:
            return super().refresh_token(token_url, **kwargs)
        except requests.RequestException:
            # No answer: the core's reading of status 0 (ERR_PROVIDER_UNAVAILABLE).
            parse_refresh_response(0, "", int(time.time()))
            raise
        except InsecureTransportError:
            raise _error(ERR_CONFIG_INVALID, "oauthlib refuses a token endpoint that is not https") from None
        except OAuth2Error:
            # Answers were judged by _judged: what is left is a 2xx oauthlib could not use.
            raise _error(ERR_PROVIDER_RESPONSE, "the token endpoint answered with an unexpected body") from None

    def _judged(self, response):
        if not 200 <= response.status_code < 300:
            parse_refresh_response(response.status_code, response.text, int(time.time()))  # raises
        return response

    def _updated(self, token):
        rotated = token.get("refresh_token")
        if rotated and rotated != self._refresh_token:
            # Sealed before anything else, and kept until the app has stored it.
            successor = seal_rotated(rotated, self._sealed, self._keys, self._user_id)
            self._unsaved = (successor, self._sealed)
            self._sealed, self._refresh_token = successor, rotated
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
