"""Keys and identities of the private network's directory authorities.

Public API:

* :class:`AuthorityIdentity` -- ``v3ident`` (from the authority certificate)
  and ``fingerprint`` (the relay identity) of one authority;
* :func:`ensure_authority_keys` -> :class:`AuthorityIdentity`; creates the keys
  with ``tor-gencert`` and ``tor --list-fingerprint`` the first time and reuses
  them afterwards, so a network keeps its identities across restarts (and,
  with a key cache folder, so new networks skip the slow RSA generation);
* :func:`relay_fingerprint` -> the relay identity of any node's data folder;
* :class:`AuthorityKeyError` (a :class:`~config.errors.UserError`) when
  a tool is missing or fails; the message carries tor's own output.

Runs ``tor-gencert`` and ``tor --list-fingerprint`` (neither opens a socket;
tor is given an empty defaults file and a private-network torrc).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from config.errors import UserError

TOR_BINARY = "tor"
TOR_GENCERT_BINARY = "tor-gencert"
CERTIFICATE_MONTHS = 12
TOOL_TIMEOUT_SECONDS = 300.0

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


def ensure_authority_keys(data_dir: Path, nickname: str, or_port: int, empty_defaults: Path,
                          key_cache: Path | None = None) -> AuthorityIdentity:
    """Create (once) and read the keys of an authority whose DataDirectory is ``data_dir``.

    With ``key_cache``, keys made once are copied from ``key_cache/<nickname>``
    instead of generated again (RSA-3072 generation takes seconds, minutes on
    a busy machine), and freshly made keys are stored there.  The keys name no
    address or port, so any network may reuse them.

    Returns the identity.  Raises :class:`AuthorityKeyError` when tor-gencert
    or tor is missing, fails or takes longer than :data:`TOOL_TIMEOUT_SECONDS`.
    """
    keys_dir = data_dir / "keys"
    keys_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    certificate = keys_dir / "authority_certificate"
    cached = key_cache / nickname if key_cache is not None else None
    fingerprint_file = data_dir / "fingerprint"
    if not _usable_keys(keys_dir) and cached is not None and _usable_keys(cached):
        shutil.copytree(cached, keys_dir, dirs_exist_ok=True)
        fingerprint_file.unlink(missing_ok=True)
        if (cached / "fingerprint").exists():
            shutil.copy2(cached / "fingerprint", fingerprint_file)
    if not certificate.exists() or _expires_soon(certificate.read_text()):
        # No -a: the certificate then names no directory address and stays valid on any port.
        _run(
            [
                _binary(TOR_GENCERT_BINARY),
                "--create-identity-key",
                "--passphrase-fd", "0",
                "-m", str(CERTIFICATE_MONTHS),
                "-i", str(keys_dir / "authority_identity_key"),
                "-s", str(keys_dir / "authority_signing_key"),
                "-c", str(certificate),
            ],
            stdin_text="\n",
        )
    v3ident = read_v3ident(certificate.read_text())
    try:
        # tor writes "<nickname> <fingerprint>" here; starting a tor just to ask again costs seconds.
        fingerprint = parse_list_fingerprint(fingerprint_file.read_text(), nickname)
    except (FileNotFoundError, AuthorityKeyError):
        fingerprint = relay_fingerprint(data_dir, nickname, or_port, empty_defaults)
    if cached is not None and not _usable_keys(cached):
        _store_in_cache(keys_dir, fingerprint_file, cached)
    elif cached is not None and not (cached / "fingerprint").exists() and fingerprint_file.exists():
        shutil.copy2(fingerprint_file, cached / "fingerprint")  # a cache made before fingerprints were kept
    return AuthorityIdentity(nickname, v3ident, fingerprint)


def _usable_keys(keys_dir: Path) -> bool:
    certificate = keys_dir / "authority_certificate"
    return (
        certificate.exists()
        and (keys_dir / "secret_id_key").exists()
        and (keys_dir / "authority_signing_key").exists()
        and not _expires_soon(certificate.read_text())
    )


def _expires_soon(certificate_text: str, margin_days: int = 30) -> bool:
    """True when the certificate's ``dir-key-expires`` is missing or within ``margin_days``."""
    match = re.search(r"^dir-key-expires (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$", certificate_text, re.MULTILINE)
    if not match:
        return True
    expires = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    return expires - datetime.now(timezone.utc) < timedelta(days=margin_days)


def _store_in_cache(keys_dir: Path, fingerprint_file: Path, cached: Path) -> None:
    # Copy then rename, so a network starting at the same moment never reads half a key set.
    cached.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{cached.name}-", dir=cached.parent))
    try:
        for name in ("authority_certificate", "authority_identity_key", "authority_signing_key",
                     "secret_id_key", "ed25519_master_id_public_key", "ed25519_master_id_secret_key",
                     "ed25519_signing_cert", "ed25519_signing_secret_key"):
            if (keys_dir / name).exists():
                shutil.copy2(keys_dir / name, staging / name)
        if fingerprint_file.exists():
            shutil.copy2(fingerprint_file, staging / "fingerprint")
        staging.chmod(0o700)
        if cached.exists():
            shutil.rmtree(cached, ignore_errors=True)
        os.rename(staging, cached)
    except OSError:
        pass  # another network stored its keys first; ours stay in the data folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
    try:
        completed = subprocess.run(command, input=stdin_text, capture_output=True, text=True,
                                   timeout=TOOL_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise AuthorityKeyError(
            f"{Path(command[0]).name} took longer than {TOOL_TIMEOUT_SECONDS:.0f} s; the machine is too busy, retry"
        ) from None
    if completed.returncode != 0:
        raise AuthorityKeyError(
            f"{Path(command[0]).name} failed (exit {completed.returncode}): "
            f"{(completed.stderr or completed.stdout).strip()[-500:]}"
        )
    return completed.stdout
