"""tokenseal.oauth.SealedTokenSession (requests-oauthlib) against the real OAuth 2.0
server on loopback: refresh, no refresh while valid, a rotation handed back sealed, and
a revoked token as ERR_RECONSENT_REQUIRED."""

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
    assert tokenseal.inspect(sealed)["src"] == "rotation"
    assert google["refreshToken"] not in sealed and new_token not in sealed


def test_a_revoked_token_is_reconsent_required(google, keys):
    revoke = requests.post(google["revokeEndpoint"], data={"token": google["refreshToken"], "token_type_hint": "refresh_token", "client_id": google["clientId"], "client_secret": google["clientSecret"]})
    assert revoke.status_code == 200
    s, _ = session(google, keys, user_with(google["refreshToken"], keys), [])
    with pytest.raises(TokenSealError) as raised:
        s.get(google["userinfo"])
    assert raised.value.code == "ERR_RECONSENT_REQUIRED"
    assert google["refreshToken"] not in str(raised.value)


def test_a_value_that_does_not_open_fails_before_any_request(google, keys):
    with pytest.raises(TokenSealError) as raised:
        SealedTokenSession(user_with(google["refreshToken"], tokenseal.generate_key_set()), keys, "c", "s", on_rotated=print)
    assert raised.value.code == "ERR_KEY_UNKNOWN"
