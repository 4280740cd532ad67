"""Parsing tor-gencert certificates and tor --list-fingerprint output."""

from __future__ import annotations

import pytest

from harness.testnet.authorities import AuthorityKeyError, parse_list_fingerprint, read_v3ident


def test_v3ident_from_certificate():
    certificate = ("dir-key-certificate-version 3\ndir-address 127.0.0.1:25002\n"
                   "fingerprint 7ABB34563613F0F672EB006B68939A74B451CE4B\ndir-key-published 2026-11-28 23:30:45\n")
    assert read_v3ident(certificate) == "7ABB34563613F0F672EB006B68939A74B451CE4B"
    with pytest.raises(AuthorityKeyError):
        read_v3ident("dir-key-certificate-version 3\n")


def test_fingerprint_from_list_fingerprint_output():
    output = "auth0 E60A 87F2 87F1 FCE2 EA14 9CE4 20C1 27CA DC29 E051\n"
    assert parse_list_fingerprint(output, "auth0") == "E60A87F287F1FCE2EA149CE420C127CADC29E051"
    with pytest.raises(AuthorityKeyError, match="auth1"):
        parse_list_fingerprint(output, "auth1")


def test_certificates_close_to_expiry_are_renewed():
    from datetime import datetime, timedelta, timezone

    from harness.testnet.authorities import _expires_soon

    def certificate(days: int) -> str:
        moment = datetime.now(timezone.utc) + timedelta(days=days)
        return f"dir-key-expires {moment:%Y-%m-%d %H:%M:%S}\n"

    assert not _expires_soon(certificate(200))
    assert _expires_soon(certificate(10))
    assert _expires_soon("no expiry line\n")
