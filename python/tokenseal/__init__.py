"""tokenseal for Python: open, seal and refresh the refresh tokens tokenseal seals into
Auth0 ``app_metadata``, from the same Rust core as the Auth0 Action and the npm package.

Every bad value raises :class:`TokenSealError`, whose ``code`` is the stable code of the
README's "Error codes" table (each code is also a constant of this module, and all of
them are in ``CODES``); a wrong Python type (an int where a list is expected) raises
``TypeError`` as usual.
"""

from ._tokenseal import *  # noqa: F401,F403  (the core's functions and constants)
from ._tokenseal import CODES, TokenSealError

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
    "refresh_request_body",
    "resolve_endpoints",
    "rotated_refresh_token",
    "seal",
    "seal_rotated",
    *CODES,
]
