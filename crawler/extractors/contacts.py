"""Find e-mail addresses, Jabber/XMPP ids and Telegram handles in page text and links.

* :func:`find_emails` ``(text, hrefs=()) -> list[EmailHit]``
* :func:`find_contacts` ``(text, hrefs=()) -> list[ContactHit]`` -- XMPP and
  Telegram (``kind`` is ``"xmpp"``, ``"telegram"`` or ``"telegram-invite"``).

Rules, chosen so that nothing is guessed:

* E-mail: a local part of 1-64 usual characters, ``@``, then 1-8 dot-separated
  DNS labels ending in a 2-24 letter TLD (``.onion`` included).  Values are
  lower-cased.  ``mailto:`` hrefs count too (``source="href"``).
  Obfuscated forms are decoded only when fully bracketed, which is
  unambiguous: ``name [at] host [dot] org`` / ``name(at)host(dot)org`` /
  ``name {at} host.org``.  A bare ``name at host dot org`` is NOT decoded:
  it is ordinary English too often.  Decoded hits have ``obfuscated=True``.
* XMPP: ``xmpp:user@host`` URIs (text or href), and ``user@host`` right
  after a ``Jabber``/``XMPP``/``JID`` label (``"Jabber: a@b.org"``).  A
  labelled JID is reported as XMPP and not also as an e-mail.
* Telegram: ``t.me/<name>`` and ``telegram.me/<name>`` links
  (``t.me/+code`` and ``t.me/joinchat/code`` are ``telegram-invite``),
  ``tg://resolve?domain=<name>``, and ``@name`` right after a
  ``Telegram``/``TG`` label.  A bare ``@name`` is not reported (it could be
  any network).  Names are 5-32 characters, start with a letter, and are
  reported lower-case without ``@``.

Never raises on arbitrary text; at most :data:`MAX_HITS` hits of each kind.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable

CONTEXT_CHARS = 80
MAX_HITS = 2_000
MAX_HREF_CHARS = 4096

_LOCAL = r"[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}"
_EMAIL = re.compile(rf"(?<![A-Za-z0-9._%+-])(?P<local>{_LOCAL})@(?P<domain>{_DOMAIN})(?![A-Za-z0-9-]|\.[A-Za-z0-9])")

_AT = r"\s*(?:\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\})\s*"
_DOT = r"(?:\s*(?:\[\s*dot\s*\]|\(\s*dot\s*\)|\{\s*dot\s*\})\s*|\.)"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![A-Za-z0-9._%+-])(?P<local>{_LOCAL}){_AT}(?P<domain>(?:{_LABEL}{_DOT}){{1,8}}[A-Za-z]{{2,24}})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_DOT_WORD = re.compile(_DOT, re.IGNORECASE)
# Cheap gate: the obfuscated pattern is only run on text that has a bracketed "at".
_BRACKETED_AT = re.compile(r"[\[({]\s*at\s*[\])}]", re.IGNORECASE)

# XMPP ids are e-mail-shaped; one is an XMPP id when an "xmpp:" URI scheme or a
# Jabber/XMPP/JID label comes right before it.
_XMPP_LABEL_BEFORE = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?:jabber|xmpp|jid)(?:\s*(?:id|address))?\s*(?:[:=-]\s*)?(?://)?\Z"
)
_TELEGRAM_NAME = r"[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]"
# Telegram links are found by their ".me/" (a cheap scan), then the host
# before it is checked.
_TELEGRAM_PATH = re.compile(
    rf"[.][mM][eE]/(?:(?P<invite>\+[A-Za-z0-9_-]{{10,64}}|joinchat/[A-Za-z0-9_-]{{10,64}})|(?P<name>{_TELEGRAM_NAME}))(?![A-Za-z0-9_])"
)
_TELEGRAM_HOST_BEFORE = re.compile(r"(?i)(?<![A-Za-z0-9.])(?:https?://)?(?:www\.)?(?:t|telegram)\Z")
_TELEGRAM_RESOLVE = re.compile(rf"(?i)\btg://resolve\?domain=(?P<name>{_TELEGRAM_NAME})(?![A-Za-z0-9_])")
_TELEGRAM_HANDLE = re.compile(rf"@(?P<name>{_TELEGRAM_NAME})(?![A-Za-z0-9_])")
_TELEGRAM_LABEL_BEFORE = re.compile(r"(?i)(?<![A-Za-z0-9])(?:telegram|tg)\s*[:=-]?\s*\Z")
_LABEL_WINDOW = 32


@dataclass(frozen=True)
class EmailHit:
    address: str
    raw: str
    obfuscated: bool
    start: int
    end: int
    context: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ContactHit:
    kind: str
    value: str
    raw: str
    start: int
    end: int
    context: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _context(text: str, start: int, end: int) -> str:
    return " ".join(text[max(0, start - CONTEXT_CHARS) : end + CONTEXT_CHARS].split())


def _sources(text: str, hrefs: Iterable[str]):
    yield text, "text"
    for href in hrefs:
        yield href[:MAX_HREF_CHARS], "href"


def _is_xmpp(text: str, start: int) -> bool:
    return _XMPP_LABEL_BEFORE.search(text, max(0, start - _LABEL_WINDOW), start) is not None


_AT_SIGN = re.compile(r"@")
# Longest possible e-mail around an "@": 64 before, 8 labels of 63 + a TLD after.
_EMAIL_WINDOW_BEFORE = 66
_EMAIL_WINDOW_AFTER = 8 * 64 + 26


def _plain_emails(text: str):
    """Matches of the e-mail pattern, looked for only around each "@" (fast on long text)."""
    seen: set[tuple[int, int]] = set()
    for at_sign in _AT_SIGN.finditer(text):
        position = at_sign.start()
        # Lookbehind sees before ``pos``, and the window end cannot cut a
        # domain short because it is longer than any domain the pattern takes.
        match = _EMAIL.search(
            text, max(0, position - _EMAIL_WINDOW_BEFORE), position + _EMAIL_WINDOW_AFTER
        )
        while match is not None and match.end("local") < position:
            match = _EMAIL.search(text, match.end(), position + _EMAIL_WINDOW_AFTER)
        if match is None or match.end("local") != position or match.span() in seen:
            continue
        seen.add(match.span())
        yield match


def find_emails(text: str, hrefs: Iterable[str] = ()) -> list[EmailHit]:
    """E-mail addresses (plain and bracket-obfuscated) in text and hrefs, lower-cased."""
    hits: list[EmailHit] = []
    for source_text, source in _sources(text, hrefs):
        has_at_sign = "@" in source_text
        lowered = source_text.lower()
        has_bracketed_at = ("at]" in lowered or "at)" in lowered or "at}" in lowered) and (
            _BRACKETED_AT.search(source_text) is not None
        )
        if not has_at_sign and not has_bracketed_at:
            continue
        taken: list[tuple[int, int]] = []
        for match in _plain_emails(source_text) if has_at_sign else ():
            if len(hits) >= MAX_HITS:
                return hits
            start, end = match.span()
            taken.append((start, end))
            if _is_xmpp(source_text, start):
                continue  # a labelled XMPP id: reported by find_contacts
            hits.append(
                EmailHit(
                    address=match.group(0).lower(),
                    raw=match.group(0),
                    obfuscated=False,
                    start=start,
                    end=end,
                    context=_context(source_text, start, end),
                    source=source,
                )
            )
        for match in _OBFUSCATED_EMAIL.finditer(source_text) if has_bracketed_at else ():
            if len(hits) >= MAX_HITS:
                return hits
            start, end = match.span()
            if any(start < taken_end and taken_start < end for taken_start, taken_end in taken):
                continue
            domain = _DOT_WORD.sub(".", match.group("domain"))
            hits.append(
                EmailHit(
                    address=f"{match.group('local')}@{domain}".lower(),
                    raw=match.group(0),
                    obfuscated=True,
                    start=start,
                    end=end,
                    context=_context(source_text, start, end),
                    source=source,
                )
            )
    hits.sort(key=lambda hit: (hit.source != "text", hit.start))
    return hits


def find_contacts(text: str, hrefs: Iterable[str] = ()) -> list[ContactHit]:
    """XMPP ids and Telegram handles/links in text and hrefs, in order of appearance.

    Each pattern runs only on text that contains its keyword (checked with a
    plain substring search first), so ordinary pages cost a few scans.
    """
    hits: list[ContactHit] = []
    for source_text, source in _sources(text, hrefs):
        found: list[ContactHit] = []
        lowered = source_text.lower()
        if "@" in source_text:
            for match in _plain_emails(source_text):
                if _is_xmpp(source_text, match.start()):
                    label = _XMPP_LABEL_BEFORE.search(
                        source_text, max(0, match.start() - _LABEL_WINDOW), match.start()
                    )
                    found.append(
                        _contact("xmpp", match.group(0).lower(), source_text, match, source, label.start())
                    )
            if "telegram" in lowered or "tg" in lowered:
                for match in _TELEGRAM_HANDLE.finditer(source_text):
                    label = _TELEGRAM_LABEL_BEFORE.search(
                        source_text, max(0, match.start() - _LABEL_WINDOW), match.start()
                    )
                    if label:
                        found.append(
                            _contact("telegram", match.group("name").lower(), source_text, match, source, label.start())
                        )
        if ".me/" in lowered:
            for match in _TELEGRAM_PATH.finditer(source_text):
                host = _TELEGRAM_HOST_BEFORE.search(
                    source_text, max(0, match.start() - _LABEL_WINDOW), match.start()
                )
                if host is None:
                    continue
                if match.group("invite"):
                    found.append(
                        _contact("telegram-invite", match.group("invite"), source_text, match, source, host.start())
                    )
                else:
                    found.append(
                        _contact("telegram", match.group("name").lower(), source_text, match, source, host.start())
                    )
        if "tg://" in lowered:
            for match in _TELEGRAM_RESOLVE.finditer(source_text):
                found.append(_contact("telegram", match.group("name").lower(), source_text, match, source))
        found.sort(key=lambda hit: hit.start)
        hits.extend(found[: MAX_HITS - len(hits)])
        if len(hits) >= MAX_HITS:
            break
    return hits


def _contact(
    kind: str, value: str, text: str, match: re.Match[str], source: str, start: int | None = None
) -> ContactHit:
    """A hit spanning ``start`` (default: the match start; labels and hosts extend it) to the match end."""
    start = match.start() if start is None else start
    end = match.end()
    return ContactHit(
        kind=kind,
        value=value,
        raw=text[start:end],
        start=start,
        end=end,
        context=_context(text, start, end),
        source=source,
    )
