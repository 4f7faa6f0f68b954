"""tokenseal.oauth.SealedTokenSession (requests-oauthlib) against the real OAuth 2.0
server on loopback: refresh, no refresh while valid, a rotation handed back sealed, and
a revoked token as ERR_RECONSENT_REQUIRED."""

import http.server
import json
import socket
import threading
import time

import pytest
import requests

import tokenseal
from tokenseal import TokenSealError
from tokenseal.oauth import SealedTokenSession

USER = "google-oauth2|2002"


def user_with(refresh_token, keys):
    return {"user_id": USER, "app_metadata": {"sealed_refresh_tokens": {"google-oauth2": tokenseal.seal(refresh_token, keys, USER)}}}


def session(google, keys, user, rotated):
    s = SealedTokenSession(user, keys, google["clientId"], google["clientSecret"], on_rotated=lambda *a: rotated.append(a), token_endpoint=google["tokenEndpoint"])
    refreshes = []
    s.hooks["response"].append(lambda r, *a, **k: refreshes.append(r) if r.request.url == google["tokenEndpoint"] else None)
    return s, refreshes


def test_refreshes_once_then_reuses_the_access_token(google, keys):
    rotated = []
    s, refreshes = session(google, keys, user_with(google["refreshToken"], keys), rotated)
    first = s.get(google["userinfo"])
    assert first.status_code == 200 and first.json()["sub"] == "python-account"
    assert s.get(google["userinfo"]).status_code == 200
    assert len(refreshes) == 1, "no refresh while the access token is valid"
    assert rotated == []


def test_a_rotated_token_is_handed_back_sealed(rotating_google, keys):
    google = rotating_google
    user = user_with(google["refreshToken"], keys)
    rotated = []
    s, _ = session(google, keys, user, rotated)
    assert s.get(google["userinfo"]).status_code == 200
    [(user_id, sealed, replaces)] = rotated
    assert user_id == USER and replaces == user["app_metadata"]["sealed_refresh_tokens"]["google-oauth2"]
    new_token = tokenseal.open_sealed(sealed, keys, USER)
    assert new_token != google["refreshToken"]
    header = tokenseal.inspect(sealed)
    assert (header["src"], header["sub"]) == ("rotation", USER)


def test_a_revoked_token_is_reconsent_required(google, keys):
    revoke = requests.post(google["revokeEndpoint"], data={"token": google["refreshToken"], "token_type_hint": "refresh_token", "client_id": google["clientId"], "client_secret": google["clientSecret"]})
    assert revoke.status_code == 200
    s, _ = session(google, keys, user_with(google["refreshToken"], keys), [])
    with pytest.raises(TokenSealError) as raised:
        s.get(google["userinfo"])
    assert raised.value.code == "ERR_RECONSENT_REQUIRED"
    assert google["refreshToken"] not in str(raised.value)


def test_a_value_that_does_not_open_fails_in_the_constructor(keys):
    with pytest.raises(TokenSealError) as raised:
        SealedTokenSession(user_with("1//0g-x", tokenseal.generate_key_set()), keys, "c", "s", on_rotated=print)
    assert raised.value.code == "ERR_KEY_UNKNOWN"
    with pytest.raises(TokenSealError) as raised:
        SealedTokenSession(user_with("1//0g-x", keys), keys, "c", "s", on_rotated=print, token_endpoint="http://oauth2.example.com/token")
    assert raised.value.code == "ERR_CONFIG_INVALID"


def test_expiry_refreshes_automatically_and_every_rotation_is_handed_back(short_lived_rotating_google, keys):
    google = short_lived_rotating_google
    user = user_with(google["refreshToken"], keys)
    rotated = []
    s, refreshes = session(google, keys, user, rotated)
    assert s.get(google["userinfo"]).status_code == 200
    time.sleep(3)  # the access token (2 s) has expired: requests-oauthlib refreshes by itself
    assert s.get(google["userinfo"]).status_code == 200
    assert len(refreshes) == 2
    assert len(rotated) == 2
    # Each rotation names the value it replaces: a chain from the stored value.
    assert rotated[0][2] == user["app_metadata"]["sealed_refresh_tokens"]["google-oauth2"]
    assert rotated[1][2] == rotated[0][1]
    assert tokenseal.open_sealed(rotated[1][1], keys, USER) not in (google["refreshToken"], tokenseal.open_sealed(rotated[0][1], keys, USER))


def test_a_failing_on_rotated_is_retried_before_anything_else(rotating_google, keys):
    google = rotating_google
    calls = []

    def on_rotated(*args):
        calls.append(args)
        if len(calls) == 1:
            raise OSError("database down")

    s = SealedTokenSession(user_with(google["refreshToken"], keys), keys, google["clientId"], google["clientSecret"], on_rotated=on_rotated, token_endpoint=google["tokenEndpoint"])
    with pytest.raises(TokenSealError) as raised:
        s.get(google["userinfo"])
    assert raised.value.code == "ERR_SAVE_FAILED"
    assert s.get(google["userinfo"]).status_code == 200
    assert len(calls) == 2 and calls[0] == calls[1], "the same sealed value is offered again"


def _send_json(handler, status, value):
    """Answers an http.server request with `status` and the JSON `value`."""
    body = json.dumps(value).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _answering(status, answer):
    """A loopback token endpoint's handler (http.server) that answers every POST with
    `status` and the JSON `answer`, and every GET (an API call) with 200."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_POST(self):  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("content-length", 0)))
            _send_json(self, status, answer)

        def log_message(self, *args):
            pass

    return Handler


# A token endpoint behind a failing proxy: 503 with a body that looks like a refusal.
_Outage = _answering(503, {"error": "invalid_grant"})


def test_an_outage_is_unavailable_never_reconsent(keys, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    server = http.server.HTTPServer(("127.0.0.1", 0), _Outage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        for endpoint in (f"http://127.0.0.1:{server.server_address[1]}/token", f"http://127.0.0.1:{closed_port}/token"):
            s = SealedTokenSession(user_with("1//0g-outage", keys), keys, "c", "s", on_rotated=print, token_endpoint=endpoint)
            with pytest.raises(TokenSealError) as raised:
                s.get("http://127.0.0.1:9/api", timeout=2)
            assert raised.value.code == "ERR_PROVIDER_UNAVAILABLE", endpoint
    finally:
        server.shutdown()


# A rotating token endpoint whose 200 answer has no access_token: oauthlib refuses it,
# but the provider has already consumed the token it was sent.
_RotatesWithoutAccessToken = _answering(200, {"token_type": "Bearer", "refresh_token": "1//0g-rotated-next", "expires_in": 3600})


def test_a_rotation_in_an_answer_oauthlib_refuses_is_still_handed_back(keys, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    server = http.server.HTTPServer(("127.0.0.1", 0), _RotatesWithoutAccessToken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        user = user_with("1//0g-before-rotation", keys)
        rotated = []
        s = SealedTokenSession(user, keys, "c", "s", on_rotated=lambda *a: rotated.append(a),
                               token_endpoint=f"http://127.0.0.1:{server.server_address[1]}/token")
        with pytest.raises(TokenSealError) as raised:
            s.get("http://127.0.0.1:9/api", timeout=2)
        assert raised.value.code == "ERR_PROVIDER_RESPONSE"
        [(user_id, sealed, replaces)] = rotated
        assert (user_id, replaces) == (USER, user["app_metadata"]["sealed_refresh_tokens"]["google-oauth2"])
        assert tokenseal.open_sealed(sealed, keys, USER) == "1//0g-rotated-next"
        assert tokenseal.rotated_refresh_token(400, '{"refresh_token":"1//0g-x"}') is None
    finally:
        server.shutdown()


def test_a_lifetime_the_answer_does_not_give_readably_is_the_cores_reading(keys, monkeypatch):
    # expires_in absent, or "1h": the core takes the assumed five minutes (RFC 6749 §5.1
    # only recommends expires_in), and oauthlib schedules the next refresh by it; the
    # rotation in the answer is handed back.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    for extra in ({}, {"expires_in": "1h"}, {"expires_in": "3600.0"}):
        answer = {"access_token": "at-1", "token_type": "Bearer", "refresh_token": "1//0g-rotated-lifetime", **extra}
        server = http.server.HTTPServer(("127.0.0.1", 0), _answering(200, answer))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            rotated = []
            s = SealedTokenSession(user_with("1//0g-lifetime", keys), keys, "c", "s", on_rotated=lambda *a: rotated.append(a),
                                   token_endpoint=f"{base}/token")
            before = time.time()
            assert s.get(f"{base}/api", timeout=2).status_code == 200
            lifetime = 3600 if extra.get("expires_in") == "3600.0" else 300
            assert before + lifetime - 2 <= s.token["expires_at"] <= time.time() + lifetime + 1, extra
            [(_, sealed, _)] = rotated
            assert tokenseal.open_sealed(sealed, keys, USER) == "1//0g-rotated-lifetime"
        finally:
            server.shutdown()


def test_a_custom_connection_by_discovery_with_basic_auth_scope_and_rotation(rotating_basic_idp, keys):
    idp = rotating_basic_idp
    user = {"user_id": USER, "app_metadata": {"sealed_refresh_tokens": {"acme-idp": tokenseal.seal(idp["refreshToken"], keys, USER, "acme-idp")}}}
    rotated = []

    def connect(**options):
        return SealedTokenSession(user, keys, idp["clientId"], idp["clientSecret"], on_rotated=lambda *a: rotated.append(a), provider="acme-idp", issuer=idp["issuer"], **options)

    # The server refuses a refresh without scope, and a client that does not use Basic.
    with pytest.raises(TokenSealError) as raised:
        connect(token_endpoint_auth_method="client_secret_post", scope="openid email offline_access").get(idp["userinfo"])
    assert raised.value.code == "ERR_CLIENT_REJECTED"
    s = connect(scope="openid email offline_access")
    assert s.get(idp["userinfo"]).status_code == 200
    [(user_id, sealed, replaces)] = rotated
    assert user_id == USER and replaces == user["app_metadata"]["sealed_refresh_tokens"]["acme-idp"]
    assert tokenseal.open_sealed(sealed, keys, USER, "acme-idp") != idp["refreshToken"]
    assert tokenseal.inspect(sealed)["src"] == "rotation"
    # An issuer without a discovery document (a 404) is refused before anything is sent.
    with pytest.raises(TokenSealError) as raised:
        SealedTokenSession(user, keys, "c", "s", on_rotated=print, provider="acme-idp", issuer=idp["issuer"] + "/elsewhere")
    assert raised.value.code == "ERR_DISCOVERY_INVALID"


def test_what_a_provider_needs_is_checked_before_any_request(keys):
    user = {"user_id": USER, "app_metadata": {"sealed_refresh_tokens": {"waad": tokenseal.seal("0.entra", keys, USER, "waad")}}}
    endpoint = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    with pytest.raises(TokenSealError) as raised:
        SealedTokenSession(user, keys, "c", "s", on_rotated=print, provider="waad", token_endpoint=endpoint)
    assert raised.value.code == "ERR_CONFIG_INCOMPLETE"
    s = SealedTokenSession(user, keys, "c", "s", on_rotated=print, provider="waad", token_endpoint=endpoint, scope="offline_access User.Read")
    assert s.scope == "offline_access User.Read"
    with pytest.raises(TokenSealError) as raised:
        SealedTokenSession(user, keys, "c", "s", on_rotated=print, provider="oauth2")
    assert raised.value.code == "ERR_CONFIG_INVALID"


class _EntraLike(http.server.BaseHTTPRequestHandler):
    """A token endpoint that answers as Entra ID does: every refresh rotates, and the
    granted scope never echoes offline_access. Also serves a discovery document that
    names another issuer (RFC 8414 §3.3: it must not be used)."""

    requests = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        form = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        _EntraLike.requests.append(form)
        self._json(200, {"access_token": "eyJ0.entra-access", "token_type": "Bearer", "expires_in": 3600,
                         "scope": "https://graph.microsoft.com/User.Read", "refresh_token": "0.AXEA-rotated-secret"})

    def do_GET(self):  # noqa: N802
        self._json(200, {"issuer": "https://login.example.com/another-tenant/v2.0", "token_endpoint": "https://login.example.com/token"})

    def _json(self, status, value):
        _send_json(self, status, value)

    def log_message(self, *args):
        pass


def test_an_entra_answer_with_another_scope_is_taken_and_its_rotation_sealed(keys, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    server = http.server.HTTPServer(("127.0.0.1", 0), _EntraLike)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        first = tokenseal.seal("0.AXEA-first", keys, USER, "waad")
        user = {"user_id": USER, "app_metadata": {"sealed_refresh_tokens": {"waad": first}}}
        rotated = []
        s = SealedTokenSession(user, keys, "c", "s", on_rotated=lambda *a: rotated.append(a), provider="waad",
                               token_endpoint=f"{base}/token", scope=["offline_access", "https://graph.microsoft.com/User.Read"])
        # The first request refreshes (the session's own path), then goes out.
        assert s.get(f"{base}/api").status_code == 200
        assert s.token["access_token"] == "eyJ0.entra-access"
        assert "scope=offline_access+https%3A%2F%2Fgraph.microsoft.com%2FUser.Read" in _EntraLike.requests[-1]
        [(user_id, sealed, replaces)] = rotated
        assert (user_id, replaces) == (USER, first)
        assert tokenseal.open_sealed(sealed, keys, USER, "waad") == "0.AXEA-rotated-secret"
        assert tokenseal.inspect(sealed)["idp"] == "waad"
        # The rotated value is Entra's: it does not open as Google's.
        with pytest.raises(TokenSealError) as raised:
            tokenseal.open_sealed(sealed, keys, USER)
        assert raised.value.code == "ERR_PROVIDER_MISMATCH"
        # A discovery document that names another issuer is refused.
        with pytest.raises(TokenSealError) as raised:
            SealedTokenSession(user, keys, "c", "s", on_rotated=print, provider="waad", issuer=base, scope="offline_access")
        assert raised.value.code == "ERR_DISCOVERY_INVALID"
    finally:
        server.shutdown()


def test_what_needs_no_document_is_checked_before_it_is_fetched(keys):
    user = {"user_id": USER, "app_metadata": {"sealed_refresh_tokens": {"waad": tokenseal.seal("0.entra", keys, USER, "waad")}}}
    # An issuer nobody listens on: a fetch would be ERR_PROVIDER_UNAVAILABLE.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(TokenSealError) as raised:
        SealedTokenSession(user, keys, "c", "s", on_rotated=print, provider="waad", issuer=f"http://127.0.0.1:{port}")
    assert raised.value.code == "ERR_CONFIG_INCOMPLETE", "Entra's scope, before any fetch"
    assert tokenseal.discovery_url("acme-idp", issuer="https://id.example.com/") == "https://id.example.com/.well-known/openid-configuration"
    assert tokenseal.discovery_url("google-oauth2") is None
