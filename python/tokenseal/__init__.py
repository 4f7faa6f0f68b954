"""tokenseal for Python: open, seal and refresh the refresh tokens tokenseal seals into
Auth0 ``app_metadata``, from the same Rust core as the Auth0 Action and the npm package.

Every bad value raises :class:`TokenSealError`, whose ``code`` is the stable code of the
README's "Error codes" table (each code is also a constant of this module, and all of
them are in ``CODES``); a wrong Python type (an int where a list is expected) raises
``TypeError`` as usual.
"""

import json as _json

from ._tokenseal import *  # noqa: F401,F403  (the core's functions and constants)
from ._tokenseal import CODES, TokenSealError
from ._tokenseal import _plan_clear_json


def plan_clear(app_metadata, provider="google-oauth2"):
    """What clearing ``provider``'s sealed value writes to the user's ``app_metadata``
    (a dict, or None): the members to set, ``None`` deleting one, in one update; ``{}``
    when nothing is stored. ``sealed_refresh_tokens`` loses the value,
    ``tokenseal.cleared`` keeps its capture record, so that no login seals Auth0's copy
    of the cleared token again, and for Google the old rule's plaintext token in
    ``refresh_token`` goes too (the Node backend's ``clearSealed`` writes the same)."""
    return _json.loads(_plan_clear_json(_json.dumps(app_metadata if app_metadata is not None else {}), provider))

__all__ = [
    "CODES",
    "GOOGLE_PROVIDER",
    "GOOGLE_TOKEN_ENDPOINT",
    "SEALED_KEY",
    "TokenSealError",
    "basic_authorization",
    "discovery_url",
    "endpoint_allowed",
    "generate_key_set",
    "inspect",
    "missing_scopes",
    "open_sealed",
    "parse_refresh_response",
    "plan_clear",
    "refresh_request_body",
    "resolve_endpoints",
    "rotated_refresh_token",
    "seal",
    "seal_rotated",
    *CODES,
]
