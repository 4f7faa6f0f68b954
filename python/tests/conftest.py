"""Fixtures: a key ring, and the Node test suite's real OAuth 2.0 server (oidc-provider)
on loopback, started and stopped by the tests that need it."""

import json
import pathlib
import select
import subprocess

import pytest

import tokenseal

HERE = pathlib.Path(__file__).parent


@pytest.fixture
def keys():
    return tokenseal.generate_key_set()


def _standin(*args):
    process = subprocess.Popen(
        ["node", str(HERE / "standin.mjs"), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        raise RuntimeError("the OAuth server did not start (tests/backend: npm ci)")
    return process, json.loads(line)


def _serving(monkeypatch, *args):
    # oauthlib refuses http unless told (its documented switch for local testing); the
    # server is on 127.0.0.1.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    process, config = _standin(*args)
    yield config
    process.stdin.close()
    process.wait(timeout=10)


@pytest.fixture
def google(monkeypatch):
    yield from _serving(monkeypatch)


@pytest.fixture
def rotating_google(monkeypatch):
    yield from _serving(monkeypatch, "--rotate")


@pytest.fixture
def short_lived_rotating_google(monkeypatch):
    """Access tokens that live 2 s, and rotation: the automatic refresh path."""
    yield from _serving(monkeypatch, "--rotate", "--ttl=2")


@pytest.fixture
def rotating_basic_idp(monkeypatch):
    """A custom OpenID Connect provider: HTTP Basic client, rotation, and a refresh
    refused without ``scope``."""
    yield from _serving(monkeypatch, "--rotate", "--basic", "--require-scope")
