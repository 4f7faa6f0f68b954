"""Type stubs of the compiled core (python/src/lib.rs)."""

from typing import Any, Dict, List, Optional, Tuple, TypedDict, Union

class TokenSealError(Exception):
    """Every tokenseal failure; ``code`` is one of ``CODES``."""

    code: str

class SealedHeader(TypedDict):
    typ: str
    alg: str
    enc: str
    kid: str
    sub: str
    idp: Optional[str]
    iat: Optional[int]
    src: Optional[str]
    cap_kid: Optional[str]

class Endpoints(TypedDict):
    token_endpoint: str
    revoke_endpoint: Optional[str]
    token_endpoint_auth_method: str
    scope: Optional[str]

class AccessGrant(TypedDict):
    access_token: str
    expires_at: int
    scope: Optional[str]
    refresh_token: Optional[str]
    id_token: Optional[str]
    refresh_token_expires_at: Optional[int]

CODES: Tuple[str, ...]
SEALED_KEY: str
GOOGLE_PROVIDER: str
GOOGLE_TOKEN_ENDPOINT: str

def seal(token: str, key_set_json: str, user_id: str, provider: str = ...) -> str: ...
def seal_rotated(token: str, previous: str, key_set_json: str, user_id: str, provider: str = ...) -> str: ...
def open_sealed(sealed: Union[str, Dict[str, Any]], key_set_json: str, user_id: str, provider: str = ...) -> str: ...
def inspect(sealed: str) -> SealedHeader: ...
def generate_key_set() -> str: ...
def refresh_request_body(refresh_token: str, client_id: str, client_secret: str) -> str: ...
def parse_refresh_response(status: int, body: str, now: int, provider: str = ...) -> AccessGrant: ...
def rotated_refresh_token(status: int, body: str) -> Optional[str]: ...
def _plan_clear_json(app_metadata_json: str, provider: str = ...) -> str: ...
def basic_authorization(client_id: str, client_secret: str) -> str: ...
def discovery_url(
    provider: str,
    token_endpoint: Optional[str] = ...,
    revoke_endpoint: Optional[str] = ...,
    issuer: Optional[str] = ...,
    scope: Optional[str] = ...,
    token_endpoint_auth_method: Optional[str] = ...,
) -> Optional[str]: ...
def resolve_endpoints(
    provider: str,
    token_endpoint: Optional[str] = ...,
    revoke_endpoint: Optional[str] = ...,
    issuer: Optional[str] = ...,
    scope: Optional[str] = ...,
    token_endpoint_auth_method: Optional[str] = ...,
    discovery: Optional[Tuple[int, str]] = ...,
) -> Endpoints: ...
def missing_scopes(scope: Optional[str], required: List[str]) -> List[str]: ...
def endpoint_allowed(url: str) -> bool: ...
def __getattr__(name: str) -> str: ...  # each ERR_... code is a constant of its own name
