"""API key tokens: the shapes that reach the database, and the ones refused before it."""

from __future__ import annotations

import pytest

from services.common.auth import KEY_PREFIX, new_secret, parse_token


def test_a_new_key_parses_back_to_its_id_and_secret():
    for _ in range(200):  # URL-safe secrets may contain "_" and "-"
        key_id, token, _digest = new_secret()
        assert parse_token(token) == (key_id, token.split("_", 2)[2])


@pytest.mark.parametrize(
    "token",
    [
        "",
        "csp",
        "csp__secret",
        "csp_abc_",
        "other_abc123_secret",
        f"{KEY_PREFIX}_%00_x",
        f"{KEY_PREFIX}_\x00_x",
        f"{KEY_PREFIX}_ABC_secret",  # id not lower-case hex
        f"{KEY_PREFIX}_abc123_sec ret",
        f"{KEY_PREFIX}_abc123_sécret",
        f"{KEY_PREFIX}_abc123_x\x00",
        f"{KEY_PREFIX}_{'a' * 65}_secret",
        f"{KEY_PREFIX}_abc123_{'s' * 257}",
    ],
)
def test_malformed_tokens_are_refused_before_any_lookup(token):
    assert parse_token(token) is None
