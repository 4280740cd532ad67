"""API tokens and UI sessions: create, verify, revoke, list; sign session cookies.

A token is ``osk_`` + 43 random URL-safe characters, shown once.  Only its
sha256 is stored: the document ``_id`` in ``<index_prefix>-tokens`` is the
hex digest, so verifying is one real-time GET and nothing stored can be
turned back into a token.  The short ``token_id`` (the first 16 hex digits
of the digest) names a token in lists, the audit log and ``token revoke``.

Public API:

* :func:`create_token` (client, prefix, role, name, expires_in_days=None) -> (token, :class:`TokenRecord`)
* :func:`verify_token` (client, prefix, token) -> :class:`TokenRecord` or None
  (None for an unknown, revoked or expired token)
* :func:`token_digest` (token) -> str or None -- the digest a presented token is stored under
* :class:`TokenCache` -- the API server's short-lived cache of verified tokens
* :func:`record_for_hash` (client, prefix, token_hash) -> :class:`TokenRecord` or None;
  :func:`token_record_steps` is the same as :mod:`search.es_steps` requests
* :func:`revoke_token` (client, prefix, token_or_id) -> :class:`TokenRecord`;
  raises :class:`config.errors.UserError` when nothing matches
* :func:`list_tokens` (client, prefix) -> list of :class:`TokenRecord`
* :func:`load_session_secret` (settings) -> bytes (created 0600 on first use, atomically);
  raises :class:`config.errors.UserError` for an empty or short secret file
* :func:`make_session_cookie` / :func:`read_session_cookie` -- the UI's
  session: the token's digest and an expiry, signed with the secret by
  :mod:`search.signing` (the same signer as the search cursors).

Roles (:data:`ROLES`, each allowed what the one before it is): ``viewer``
(search, entities, exports; reads watchlists and alerts), ``analyst`` (also
adds and removes watchlist entries and marks alerts read) and ``admin`` (also
token management).  A token may expire (``expires_at``): from then on it is
refused as a revoked one is, by every check, cached or not.  Elasticsearch
errors propagate unchanged.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from config.errors import UserError
from config.i18n import gettext
from config.schema import alias_name, token_doc_id
from search.es_steps import Get, Steps, run
from search.signing import SESSION_PURPOSE, BadSignedValue, sign_value, unsign_value

ROLES = ("viewer", "analyst", "admin")
TOKEN_PREFIX = "osk_"
TOKEN_ID_CHARS = 16
MAX_NAME_CHARS = 100
MAX_EXPIRY_DAYS = 3650
SESSION_LIFETIME_SECONDS = 12 * 3600
# 64 hex characters are made; anything shorter than 32 bytes is refused.
MIN_SESSION_SECRET_BYTES = 32


@dataclass(frozen=True)
class TokenRecord:
    token_id: str
    name: str
    role: str
    created_at: str
    revoked_at: str | None = None
    expires_at: str | None = None

    @property
    def expired(self) -> bool:
        """True once ``expires_at`` has passed (or cannot be read: a damaged expiry fails closed)."""
        if self.expires_at is None:
            return False
        try:
            expiry = datetime.fromisoformat(self.expires_at.replace("Z", "+00:00"))
        except (TypeError, ValueError):
            return True
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=timezone.utc)
        return expiry <= datetime.now(timezone.utc)

    @property
    def active(self) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and not self.expired

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def role_allows(role: str, needed: str) -> bool:
    """True when ``role`` may do what ``needed`` may (roles are ordered: viewer < analyst < admin)."""
    return role in ROLES and needed in ROLES and ROLES.index(role) >= ROLES.index(needed)


def tokens_index(prefix: str) -> str:
    """The tokens alias of ``prefix`` (the index schema's name)."""
    return alias_name(prefix, "tokens")


def hash_token(token: str) -> str:
    """sha256 hex of the token: the stored form and the document ``_id`` (:func:`config.schema.token_doc_id`)."""
    return token_doc_id(token)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def clean_name(name: str | None) -> str:
    """A token name without control characters, capped in length."""
    text = "".join(char for char in (name or "") if unicodedata.category(char)[0] != "C")
    return text.strip()[:MAX_NAME_CHARS]


def _ensure_indices(client: Any, prefix: str, templates_dir: Path | None) -> None:
    # Writing to a missing alias would create a plain index in its place and
    # block the versioned index set-up; so set the indices up first.
    try:
        from pipelines.indices import ensure_indices
    except ImportError:  # the index module has not landed in this tree
        return
    ensure_indices(client, prefix, templates_dir=templates_dir)


def create_token(
    client: Any, prefix: str, role: str, name: str | None = None, expires_in_days: float | None = None, *,
    templates_dir: Path | None = None,
) -> tuple[str, TokenRecord]:
    """Make a new token with ``role``; returns the token (shown once) and its record.

    ``expires_in_days`` (when given) sets ``expires_at`` that far from now.
    ``templates_dir`` holds the index templates (``<config_dir>/index_templates``;
    default: the config package's), used when the indices do not exist yet.

    :raises config.errors.UserError: an unknown role, or an expiry that is not
        between a minute and :data:`MAX_EXPIRY_DAYS` days away.
    """
    if role not in ROLES:
        raise UserError(gettext("unknown role {role}; choose one of: {choices}", role=repr(role),
                                choices=", ".join(ROLES)))
    expires_at = None
    if expires_in_days is not None:
        if not 1 / 1440 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise UserError(gettext("a token expires between a minute and {maximum} days from now, not {days} days",
                                    maximum=MAX_EXPIRY_DAYS, days=f"{expires_in_days:g}"))
        expires_at = (datetime.now(timezone.utc) + timedelta(days=expires_in_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _ensure_indices(client, prefix, templates_dir)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_hash = hash_token(token)
    record = TokenRecord(
        token_id=token_hash[:TOKEN_ID_CHARS],
        name=clean_name(name) or f"{role} token",
        role=role,
        created_at=_now(),
        expires_at=expires_at,
    )
    client.index(index=tokens_index(prefix), id=token_hash, document=record.to_json(), refresh="wait_for")
    return token, record


def _record(source: dict[str, Any]) -> TokenRecord | None:
    try:
        role = source["role"]
        if role not in ROLES:
            return None
        return TokenRecord(
            token_id=str(source["token_id"]),
            name=str(source.get("name") or ""),
            role=role,
            created_at=str(source.get("created_at") or ""),
            revoked_at=source.get("revoked_at"),
            expires_at=source.get("expires_at"),
        )
    except (KeyError, TypeError):
        return None


def token_record_steps(prefix: str, token_hash: str) -> Steps:
    """:func:`record_for_hash` as :mod:`search.es_steps` requests (the API's async path)."""
    if len(token_hash) != 64 or any(char not in "0123456789abcdef" for char in token_hash):
        return None
    # None: unknown token, or no token index yet (no token was ever made).
    # The digest is the document id: Elasticsearch finds it by its hash, and no
    # token is ever compared here, so the check's time says nothing about a token.
    answer = yield Get(tokens_index(prefix), token_hash)
    record = _record(answer["_source"]) if answer is not None else None
    return record if record is not None and record.active else None


def record_for_hash(client: Any, prefix: str, token_hash: str) -> TokenRecord | None:
    """The active token whose digest is ``token_hash``, or None."""
    return run(client, token_record_steps(prefix, token_hash))


def token_digest(token: str) -> str | None:
    """The stored digest of a presented token, or None when it cannot be a token at all."""
    token = token.strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return hash_token(token)


def verify_token(client: Any, prefix: str, token: str) -> TokenRecord | None:
    """The active token record for ``token``, or None (unknown, malformed or revoked)."""
    digest = token_digest(token)
    return record_for_hash(client, prefix, digest) if digest else None


class TokenCache:
    """Recently verified tokens, so a busy API does not ask Elasticsearch on every request.

    Holds at most ``max_entries`` active records keyed by token digest, each
    for ``ttl_seconds`` after it was read from the tokens index (0 turns the
    cache off).  Only active tokens are kept; an unknown or revoked token is
    asked about every time.  Cost of the cache: a token revoked by another
    process (``onionscope token revoke``, another server) keeps working here
    for up to ``ttl_seconds``; :meth:`discard` drops it at once, and the
    API's own revoke route calls it.  Thread-safe.
    """

    def __init__(self, ttl_seconds: float, max_entries: int = 1024, clock: Any = time.monotonic):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, TokenRecord]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> TokenRecord | None:
        """The cached record for ``digest`` if it is still fresh and the token not expired, else None."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if self._clock() >= entry[0] or not entry[1].active:
                del self._entries[digest]
                return None
            return entry[1]

    def put(self, digest: str, record: TokenRecord) -> None:
        if self.ttl_seconds <= 0 or not record.active:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries and digest not in self._entries:
                # Oldest first: dicts keep insertion order.
                del self._entries[next(iter(self._entries))]
            self._entries.pop(digest, None)
            self._entries[digest] = (self._clock() + self.ttl_seconds, record)

    def discard(self, token_id: str) -> None:
        """Forget every cached entry of the token ``token_id`` (it was revoked)."""
        with self._lock:
            for digest in [digest for digest, (_, record) in self._entries.items() if record.token_id == token_id]:
                del self._entries[digest]


def _find(client: Any, prefix: str, token_or_id: str) -> tuple[str, dict[str, Any]] | None:
    from elasticsearch import NotFoundError

    text = token_or_id.strip()
    if text.startswith(TOKEN_PREFIX):
        try:
            response = client.get(index=tokens_index(prefix), id=hash_token(text))
        except NotFoundError:
            return None
        return response["_id"], response["_source"]
    if not 4 <= len(text) <= TOKEN_ID_CHARS or any(char not in "0123456789abcdef" for char in text.lower()):
        return None
    try:
        client.indices.refresh(index=tokens_index(prefix))
        response = client.search(
            index=tokens_index(prefix),
            body={"query": {"prefix": {"token_id": text.lower()}}, "size": 2},
        )
    except NotFoundError:
        return None
    hits = response["hits"]["hits"]
    if len(hits) > 1:
        raise UserError(gettext("token id {text} is ambiguous; give more of it (ids have {count} characters)",
                                text=repr(text), count=TOKEN_ID_CHARS))
    return (hits[0]["_id"], hits[0]["_source"]) if hits else None


def revoke_token(client: Any, prefix: str, token_or_id: str) -> TokenRecord:
    """Withdraw a token given itself or its id.

    New checks refuse it at once; a running API server that verified it in
    the last ``api_token_cache_seconds`` refuses it when that entry expires.
    """
    found = _find(client, prefix, token_or_id)
    if found is None:
        raise UserError(gettext("no token matches {text}; `onionscope token list` shows the ids",
                                text=repr(token_or_id[:24])))
    doc_id, source = found
    revoked_at = source.get("revoked_at") or _now()
    client.update(
        index=tokens_index(prefix), id=doc_id, doc={"revoked_at": revoked_at}, refresh="wait_for"
    )
    record = _record({**source, "revoked_at": revoked_at})
    if record is None:
        raise UserError(gettext("token {text} has a damaged record; delete it from {index}", text=repr(token_or_id[:24]),
                                index=tokens_index(prefix)))
    return record


def list_tokens(client: Any, prefix: str) -> list[TokenRecord]:
    """Every token record, newest first (at most 1000)."""
    from elasticsearch import NotFoundError

    try:
        client.indices.refresh(index=tokens_index(prefix))
        response = client.search(index=tokens_index(prefix), body={"query": {"match_all": {}}, "size": 1000})
    except NotFoundError:
        return []
    records = [_record(hit["_source"]) for hit in response["hits"]["hits"]]
    return sorted((record for record in records if record), key=lambda record: record.created_at, reverse=True)


# --- UI sessions -----------------------------------------------------------------


def session_secret_path(settings: Any) -> Path:
    """Where the session secret lives: setting ``session_secret_file``, else ``<var_dir>/session_secret``."""
    configured = settings["session_secret_file"]
    return Path(configured) if configured else Path(settings["var_dir"]) / "session_secret"


def load_session_secret(settings: Any) -> bytes:
    """The secret that signs session cookies and cursors (surrounding whitespace stripped).

    Made on first use: 64 random hex characters, written 0600 under a
    temporary name and linked into place, so a reader (another server
    starting at the same time) sees either no file or the whole secret, and
    of two servers racing, one wins and both use its secret.

    :raises config.errors.UserError: the file exists but holds fewer than
        :data:`MIN_SESSION_SECRET_BYTES` bytes (an empty or short secret can
        be guessed, and with it every session cookie forged); the message
        names the file and the ``session_secret_file`` setting.
    """
    path = session_secret_path(settings)
    try:
        return _checked_secret(path, path.read_bytes())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secret + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link, unlike rename, never replaces a secret another server just made.
            os.link(temporary, path)
        except FileExistsError:
            return _checked_secret(path, path.read_bytes())
    finally:
        temporary.unlink(missing_ok=True)
    return secret


def _checked_secret(path: Path, data: bytes) -> bytes:
    secret = data.strip()
    if len(secret) < MIN_SESSION_SECRET_BYTES:
        state = (gettext("empty") if not secret
                 else gettext("only {count} bytes", count=len(secret)))
        raise UserError(gettext(
            "the session secret in {path} is {state}; it needs at least {minimum} (setting session_secret_file, "
            "ONIONSCOPE_SESSION_SECRET_FILE).  Delete the file to have a new one made on the next start, "
            "or write a long random value into it (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`).",
            path=path, state=state, minimum=MIN_SESSION_SECRET_BYTES,
        ))
    return secret


def make_session_cookie(secret: bytes, token_hash: str, lifetime: int = SESSION_LIFETIME_SECONDS) -> str:
    """A signed cookie value naming the token (by digest) until ``lifetime`` seconds from now.

    Signed by :mod:`search.signing` for the session purpose, so no cursor
    (signed with the same secret) passes for a cookie.
    """
    return sign_value(secret, SESSION_PURPOSE, {"h": token_hash, "e": int(time.time()) + lifetime})


def read_session_cookie(secret: bytes, value: str) -> str | None:
    """The token digest in a valid, unexpired cookie; None otherwise."""
    try:
        data = unsign_value(secret, SESSION_PURPOSE, value)
    except BadSignedValue:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("e"), int) or data["e"] < time.time():
        return None
    token_hash = data.get("h")
    return token_hash if isinstance(token_hash, str) else None
