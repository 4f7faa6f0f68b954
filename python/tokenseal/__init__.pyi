"""Type stubs of the package: the core's, and each ``ERR_...`` code as a str constant."""

from typing import Any, Dict, Optional

from ._tokenseal import *  # noqa: F401,F403
from ._tokenseal import (
    CODES as CODES,
    GOOGLE_PROVIDER as GOOGLE_PROVIDER,
    GOOGLE_TOKEN_ENDPOINT as GOOGLE_TOKEN_ENDPOINT,
    SEALED_KEY as SEALED_KEY,
    TokenSealError as TokenSealError,
    basic_authorization as basic_authorization,
    discovery_url as discovery_url,
    endpoint_allowed as endpoint_allowed,
    generate_key_set as generate_key_set,
    inspect as inspect,
    missing_scopes as missing_scopes,
    open_sealed as open_sealed,
    parse_refresh_response as parse_refresh_response,
    refresh_request_body as refresh_request_body,
    resolve_endpoints as resolve_endpoints,
    rotated_refresh_token as rotated_refresh_token,
    seal as seal,
    seal_rotated as seal_rotated,
)

def plan_clear(app_metadata: Optional[Dict[str, Any]], provider: str = ...) -> Dict[str, Any]: ...
def __getattr__(name: str) -> str: ...  # each ERR_... code, e.g. ERR_RECONSENT_REQUIRED
