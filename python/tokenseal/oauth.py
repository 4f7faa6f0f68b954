"""A requests-oauthlib session over a user's sealed Google refresh token.

The session refreshes at Google's token endpoint whenever its access token has expired
(requests-oauthlib's automatic refresh), hands a rotated refresh token back **sealed**
(as the successor of the value it replaces) through the app's ``on_rotated`` callback,
and turns a refusal into :class:`tokenseal.TokenSealError` with the core's code
(``ERR_RECONSENT_REQUIRED`` for ``invalid_grant``): the refusal is read by the same core
function as in every other binding.
"""

import json
import time

from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from requests_oauthlib import OAuth2Session

from ._tokenseal import (
    GOOGLE_PROVIDER,
    GOOGLE_TOKEN_ENDPOINT,
    SEALED_KEY,
    open_sealed,
    parse_refresh_response,
    seal_rotated,
)


class SealedTokenSession(OAuth2Session):
    """An ``OAuth2Session`` for one user whose refresh token tokenseal sealed.

    :param user: the Auth0 user, ``{"user_id": ..., "app_metadata": {...}}``
    :param keys: the JWK Set (``TOKENSEAL_KEYS``), JSON text
    :param client_id: the Google OAuth client of the Auth0 ``google-oauth2`` connection
    :param client_secret: its secret
    :param on_rotated: called with ``(user_id, sealed, replaces)`` when Google rotated the
        refresh token: store ``sealed`` in place of ``replaces`` in
        ``app_metadata.sealed_refresh_tokens["google-oauth2"]``
    :param token_endpoint: Google's by default (a loopback one in tests)
    :raises tokenseal.TokenSealError: from the constructor when the sealed value does not
        open; from requests when a refresh is refused
    """

    def __init__(self, user, keys, client_id, client_secret, on_rotated, token_endpoint=GOOGLE_TOKEN_ENDPOINT, **kwargs):
        self._user_id = user["user_id"]
        self._keys = keys
        self._on_rotated = on_rotated
        app_metadata = user.get("app_metadata") or {}
        refresh_token = open_sealed(app_metadata, keys, self._user_id)
        self._sealed = app_metadata[SEALED_KEY][GOOGLE_PROVIDER]  # it opened, so it is there
        self._refresh_token = refresh_token
        # No access token yet: the first request refreshes (see request()).
        token = {"token_type": "Bearer", "refresh_token": refresh_token}
        super().__init__(
            client_id,
            token=token,
            auto_refresh_url=token_endpoint,
            auto_refresh_kwargs={"client_id": client_id, "client_secret": client_secret},
            token_updater=self._updated,
            **kwargs,
        )

    def request(self, method, url, *args, withhold_token=False, **kwargs):
        """Refreshes first when the session has no access token yet (a new session);
        after that, requests-oauthlib refreshes an expired one by itself."""
        if not withhold_token and not self.token.get("access_token"):
            self.token = self.refresh_token(self.auto_refresh_url, **self.auto_refresh_kwargs)
            self._updated(self.token)
        return super().request(method, url, *args, withhold_token=withhold_token, **kwargs)

    def refresh_token(self, token_url, **kwargs):
        """requests-oauthlib's refresh, with refusals read by the core."""
        try:
            return super().refresh_token(token_url, **kwargs)
        except OAuth2Error as error:
            body = json.dumps({"error": error.error})
            # Always raises for an error answer: ERR_RECONSENT_REQUIRED, ERR_CLIENT_REJECTED, ...
            parse_refresh_response(error.status_code or 400, body, int(time.time()))
            raise

    def _updated(self, token):
        rotated = token.get("refresh_token")
        if rotated and rotated != self._refresh_token:
            successor = seal_rotated(rotated, self._sealed, self._keys, self._user_id)
            replaced, self._sealed, self._refresh_token = self._sealed, successor, rotated
            self._on_rotated(self._user_id, successor, replaced)
