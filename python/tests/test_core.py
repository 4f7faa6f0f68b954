"""The core through the Python boundary: round trips, interop with an independent JOSE
library (jwcrypto), and every error code a Python caller can meet."""

import json

import pytest
from jwcrypto import jwe, jwk

import tokenseal
from tokenseal import TokenSealError

USER = "google-oauth2|1001"
TOKEN = "1//0g-python-refresh-token"


def code_of(call, *args):
    with pytest.raises(TokenSealError) as raised:
        call(*args)
    return raised.value.code


def test_seal_open_inspect_round_trip(keys):
    sealed = tokenseal.seal(TOKEN, keys, USER)
    assert tokenseal.open_sealed(sealed, keys, USER) == TOKEN
    app_metadata = {"sealed_refresh_tokens": {"google-oauth2": sealed}}
    assert tokenseal.open_sealed(app_metadata, keys, USER) == TOKEN
    assert tokenseal.open_sealed({"user_id": USER, "app_metadata": app_metadata}, keys, USER) == TOKEN
    header = tokenseal.inspect(sealed)
    assert (header["typ"], header["alg"], header["enc"], header["sub"]) == ("tokenseal.v1+jwe", "dir", "A256GCM", USER)
    assert header["kid"] == json.loads(keys)["keys"][0]["kid"]


def test_a_value_sealed_here_opens_in_jwcrypto_and_one_made_there_opens_here(keys):
    key = json.loads(keys)["keys"][0]
    sealed = tokenseal.seal(TOKEN, keys, USER)
    token = jwe.JWE()
    token.deserialize(sealed, key=jwk.JWK(**key))
    assert token.payload.decode() == TOKEN
    assert json.loads(token.objects["protected"])["sub"] == USER

    header = {"typ": "tokenseal.v1+jwe", "alg": "dir", "enc": "A256GCM", "kid": key["kid"], "sub": USER}
    made = jwe.JWE(TOKEN.encode(), protected=json.dumps(header))
    made.add_recipient(jwk.JWK(**key))
    assert tokenseal.open_sealed(made.serialize(compact=True), keys, USER) == TOKEN

    # The tampered twin: one changed character of the ciphertext never opens.
    parts = sealed.split(".")
    parts[3] = ("B" if parts[3][0] != "B" else "C") + parts[3][1:]
    assert code_of(tokenseal.open_sealed, ".".join(parts), keys, USER) == "ERR_DECRYPT"


def test_every_code_is_a_constant_and_the_errors_carry_them(keys):
    assert "ERR_DECRYPT" in tokenseal.CODES and tokenseal.ERR_DECRYPT == "ERR_DECRYPT"
    assert all(getattr(tokenseal, code) == code for code in tokenseal.CODES)
    assert len(set(tokenseal.CODES)) == len(tokenseal.CODES)
    other_keys = tokenseal.generate_key_set()
    sealed = tokenseal.seal(TOKEN, keys, USER)
    cases = [
        (tokenseal.open_sealed, ("not a jwe", keys, USER), "ERR_SEALED_MALFORMED"),
        (tokenseal.open_sealed, (42, keys, USER), "ERR_SEALED_MALFORMED"),
        (tokenseal.open_sealed, ({}, keys, USER), "ERR_SEALED_MISSING"),
        (tokenseal.open_sealed, (sealed, keys, "auth0|someone-else"), "ERR_SUBJECT_MISMATCH"),
        (tokenseal.open_sealed, (sealed, other_keys, USER), "ERR_KEY_UNKNOWN"),
        (tokenseal.open_sealed, (sealed, "not json", USER), "ERR_KEYSET_JSON"),
        (tokenseal.open_sealed, (sealed, '{"keys":[]}', USER), "ERR_KEYSET_EMPTY"),
        (tokenseal.seal, ("", keys, USER), "ERR_TOKEN_INVALID"),
        (tokenseal.seal, (TOKEN, keys, ""), "ERR_USER_ID_INVALID"),
        (tokenseal.seal_rotated, (TOKEN, sealed, keys, "auth0|x"), "ERR_SUBJECT_MISMATCH"),
        (tokenseal.inspect, ("a.b.c.d.e",), "ERR_SEALED_MALFORMED"),
        (tokenseal.refresh_request_body, ("", "id", "secret"), "ERR_TOKEN_INVALID"),
        (tokenseal.parse_refresh_response, (400, '{"error":"invalid_grant"}', 0), "ERR_RECONSENT_REQUIRED"),
        (tokenseal.parse_refresh_response, (401, '{"error":"invalid_client"}', 0), "ERR_CLIENT_REJECTED"),
        (tokenseal.parse_refresh_response, (400, '{"error":"admin_policy_enforced"}', 0), "ERR_ADMIN_POLICY"),
        (tokenseal.parse_refresh_response, (400, '{"error":"invalid_scope"}', 0), "ERR_PROVIDER_REJECTED"),
        (tokenseal.parse_refresh_response, (503, "", 0), "ERR_PROVIDER_UNAVAILABLE"),
        (tokenseal.parse_refresh_response, (200, "{}", 0), "ERR_PROVIDER_RESPONSE"),
    ]
    for call, args, expected in cases:
        assert code_of(call, *args) == expected, (call.__name__, expected)
    # Messages are fixed text: never the input.
    with pytest.raises(TokenSealError) as raised:
        tokenseal.open_sealed(sealed, keys, "auth0|someone-else")
    assert TOKEN not in str(raised.value) and sealed not in str(raised.value)


def test_secrets_python_cannot_encode_and_odd_containers_are_typed_errors(keys):
    secret = "1//0g-SECRET\ud800"
    with pytest.raises(TokenSealError) as raised:
        tokenseal.seal(secret, keys, USER)
    assert raised.value.code == "ERR_TOKEN_INVALID"
    assert "SECRET" not in repr(raised.value) and raised.value.__cause__ is None and raised.value.__context__ is None
    sealed = tokenseal.seal(TOKEN, keys, USER)
    # Only the sealed value's own members are read: the rest of app_metadata may hold
    # anything Python cannot serialise.
    odd = {"sealed_refresh_tokens": {"google-oauth2": sealed}, "when": object(), "nan": float("nan")}
    assert tokenseal.open_sealed(odd, keys, USER) == TOKEN
    assert code_of(tokenseal.open_sealed, {"sealed_refresh_tokens": "x"}, keys, USER) == "ERR_SEALED_MISSING"
    assert code_of(tokenseal.open_sealed, {"sealed_refresh_tokens": {"google-oauth2": 5}}, keys, USER) == "ERR_SEALED_MALFORMED"
    assert tokenseal.endpoint_allowed("https://oauth2.googleapis.com/token")
    assert not tokenseal.endpoint_allowed("http://oauth2.googleapis.com/token")


def test_the_refresh_model():
    body = tokenseal.refresh_request_body("1//a b", "id", "s3c/ret")
    assert body == "grant_type=refresh_token&refresh_token=1%2F%2Fa+b&client_id=id&client_secret=s3c%2Fret"
    grant = tokenseal.parse_refresh_response(200, '{"access_token":"ya29.x","expires_in":60,"token_type":"Bearer","scope":"openid email"}', 1000)
    assert (grant["access_token"], grant["expires_at"], grant["refresh_token"]) == ("ya29.x", 1060, None)
    assert tokenseal.missing_scopes(grant["scope"], ["email", "https://www.googleapis.com/auth/drive.file"]) == ["https://www.googleapis.com/auth/drive.file"]


def test_plan_clear_removes_the_value_and_records_its_capture(keys):
    sealed = tokenseal.seal("1//0g-cleared", keys, "google-oauth2|7")
    other = tokenseal.seal("0.AAAA-entra", keys, "google-oauth2|7", "waad")
    writes = tokenseal.plan_clear({"plan": "pro", "sealed_refresh_tokens": {"google-oauth2": sealed, "waad": other}})
    # seal() records no capture: the record is {} (a login then seals only at a first or
    # consent login); Entra's value is kept.
    assert writes == {"sealed_refresh_tokens": {"waad": other}, "tokenseal": {"cleared": {"google-oauth2": {}}}}
    assert tokenseal.plan_clear({"plan": "pro"}) == {}
    assert tokenseal.plan_clear(None) == {}
    last = tokenseal.plan_clear({"sealed_refresh_tokens": {"waad": other}}, "waad")
    assert last == {"sealed_refresh_tokens": None, "tokenseal": {"cleared": {"waad": {}}}}
    with pytest.raises(TokenSealError) as raised:
        tokenseal.plan_clear({"sealed_refresh_tokens": "not an object"})
    assert raised.value.code == "ERR_USER_INVALID"
