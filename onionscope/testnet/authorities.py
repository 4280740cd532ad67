"""Keys and identities of the private network's directory authorities.

Public API:

* :class:`AuthorityIdentity` -- ``v3ident`` (from the authority certificate)
  and ``fingerprint`` (the relay identity) of one authority;
* :func:`ensure_authority_keys` -> :class:`AuthorityIdentity`; creates the keys
  with ``tor-gencert`` and ``tor --list-fingerprint`` the first time and reuses
  them afterwards, so a network keeps its identities across restarts;
* :func:`relay_fingerprint` -> the relay identity of any node's data folder;
* :class:`AuthorityKeyError` (a :class:`~onionscope.errors.UserError`) when
  a tool is missing or fails; the message carries tor's own output.

Runs ``tor-gencert`` and ``tor --list-fingerprint`` (neither opens a socket;
tor is given an empty defaults file and a private-network torrc).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from onionscope.errors import UserError

TOR_BINARY = "tor"
TOR_GENCERT_BINARY = "tor-gencert"
CERTIFICATE_MONTHS = 12

# tor --list-fingerprint refuses TestingTorNetwork without custom authorities;
# this placeholder never carries traffic (the torrc only lists a fingerprint).
_PLACEHOLDER_AUTHORITY = (
    "DirAuthority placeholder orport=1 no-v2 v3ident=" + "0" * 40 + " 127.0.0.1:1 " + "0" * 40
)


class AuthorityKeyError(UserError):
    """Authority keys could not be made; the message says which tool failed and why."""


@dataclass(frozen=True)
class AuthorityIdentity:
    nickname: str
    v3ident: str
    fingerprint: str


def ensure_authority_keys(data_dir: Path, nickname: str, or_port: int, dir_port: int,
                          empty_defaults: Path) -> AuthorityIdentity:
    """Create (once) and read the keys of an authority whose DataDirectory is ``data_dir``.

    Returns the identity.  Raises :class:`AuthorityKeyError` when tor-gencert
    or tor is missing or fails.
    """
    keys_dir = data_dir / "keys"
    keys_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    certificate = keys_dir / "authority_certificate"
    if not certificate.exists() or f"dir-address 127.0.0.1:{dir_port}\n" not in certificate.read_text():
        _run(
            [
                _binary(TOR_GENCERT_BINARY),
                "--create-identity-key",
                "--passphrase-fd", "0",
                "-m", str(CERTIFICATE_MONTHS),
                "-a", f"127.0.0.1:{dir_port}",
                "-i", str(keys_dir / "authority_identity_key"),
                "-s", str(keys_dir / "authority_signing_key"),
                "-c", str(certificate),
            ],
            stdin_text="\n",
        )
    v3ident = read_v3ident(certificate.read_text())
    fingerprint = relay_fingerprint(data_dir, nickname, or_port, empty_defaults)
    return AuthorityIdentity(nickname, v3ident, fingerprint)


def read_v3ident(certificate_text: str) -> str:
    """The ``fingerprint`` line of an authority certificate; raises AuthorityKeyError if absent."""
    match = re.search(r"^fingerprint ([0-9A-F]{40})$", certificate_text, re.MULTILINE)
    if not match:
        raise AuthorityKeyError("the authority certificate has no fingerprint line; delete the testnet folder and retry")
    return match.group(1)


def relay_fingerprint(data_dir: Path, nickname: str, or_port: int, empty_defaults: Path) -> str:
    """Relay identity fingerprint (40 hex) of the node in ``data_dir``; creates its keys if needed."""
    torrc = data_dir / "fingerprint.torrc"
    torrc.write_text(
        "\n".join(
            [
                "TestingTorNetwork 1",
                _PLACEHOLDER_AUTHORITY,
                f"DataDirectory {data_dir}",
                f"ORPort 127.0.0.1:{or_port}",
                "Address 127.0.0.1",
                f"Nickname {nickname}",
                "Log err stderr",
            ]
        )
        + "\n"
    )
    output = _run(
        [_binary(TOR_BINARY), "--defaults-torrc", str(empty_defaults), "-f", str(torrc),
         "--list-fingerprint", "--quiet"]
    )
    return parse_list_fingerprint(output, nickname)


def parse_list_fingerprint(output: str, nickname: str) -> str:
    """``"auth0 E60A 87F2 ..."`` -> ``"E60A87F2..."``; raises AuthorityKeyError if not found."""
    for line in output.splitlines():
        name, _, rest = line.strip().partition(" ")
        digest = rest.replace(" ", "")
        if name == nickname and re.fullmatch(r"[0-9A-F]{40}", digest):
            return digest
    raise AuthorityKeyError(f"tor --list-fingerprint printed no fingerprint for {nickname}: {output.strip()!r}")


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise AuthorityKeyError(f"{name} is not installed; install Debian's tor package (`make install` does)")
    return path


def _run(command: list[str], stdin_text: str = "") -> str:
    completed = subprocess.run(command, input=stdin_text, capture_output=True, text=True, timeout=60)
    if completed.returncode != 0:
        raise AuthorityKeyError(
            f"{Path(command[0]).name} failed (exit {completed.returncode}): "
            f"{(completed.stderr or completed.stdout).strip()[-500:]}"
        )
    return completed.stdout
