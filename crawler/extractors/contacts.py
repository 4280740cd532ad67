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

_XMPP_URI = re.compile(rf"(?i)\bxmpp:(?://)?(?P<jid>{_LOCAL}@{_DOMAIN})(?![A-Za-z0-9-])")
_XMPP_LABELLED = re.compile(
    rf"(?i)\b(?:jabber|xmpp|jid)(?:\s*(?:id|address))?\s*[:=-]?\s*(?P<jid>{_LOCAL}@{_DOMAIN})(?![A-Za-z0-9-])"
)
_TELEGRAM_NAME = r"[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]"
_TELEGRAM_LINK = re.compile(
    rf"(?i)(?<![A-Za-z0-9.])(?:https?://)?(?:www\.)?(?:t|telegram)\.me/"
    rf"(?:(?P<invite>\+[A-Za-z0-9_-]{{10,64}}|joinchat/[A-Za-z0-9_-]{{10,64}})|(?P<name>{_TELEGRAM_NAME}))(?![A-Za-z0-9_])"
)
_TELEGRAM_RESOLVE = re.compile(rf"(?i)\btg://resolve\?domain=(?P<name>{_TELEGRAM_NAME})(?![A-Za-z0-9_])")
_TELEGRAM_LABELLED = re.compile(
    rf"(?i)\b(?:telegram|tg)\s*[:=-]?\s*@(?P<name>{_TELEGRAM_NAME})(?![A-Za-z0-9_])"
)


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


def _labelled_jid_spans(text: str) -> list[tuple[int, int]]:
    spans = [match.span("jid") for match in _XMPP_LABELLED.finditer(text)]
    spans += [match.span("jid") for match in _XMPP_URI.finditer(text)]
    return spans


def find_emails(text: str, hrefs: Iterable[str] = ()) -> list[EmailHit]:
    """E-mail addresses (plain and bracket-obfuscated) in text and hrefs, lower-cased."""
    hits: list[EmailHit] = []
    for source_text, source in _sources(text, hrefs):
        has_at_sign = "@" in source_text
        has_bracketed_at = _BRACKETED_AT.search(source_text) is not None
        if not has_at_sign and not has_bracketed_at:
            continue
        jid_spans = set(_labelled_jid_spans(source_text))
        taken: list[tuple[int, int]] = []
        if has_at_sign:
            for match in _EMAIL.finditer(source_text):
                if len(hits) >= MAX_HITS:
                    return hits
                if match.span() in jid_spans:
                    continue
                start, end = match.span()
                taken.append((start, end))
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
    """XMPP ids and Telegram handles/links in text and hrefs, in order of appearance."""
    hits: list[ContactHit] = []
    for source_text, source in _sources(text, hrefs):
        found: list[ContactHit] = []
        seen_jids: set[tuple[int, int]] = set()
        lowered = source_text.lower()
        if "@" in source_text and ("xmpp" in lowered or "jabber" in lowered or "jid" in lowered):
            for pattern in (_XMPP_URI, _XMPP_LABELLED):
                for match in pattern.finditer(source_text):
                    span = match.span("jid")
                    if span in seen_jids:
                        continue
                    seen_jids.add(span)
                    found.append(_contact("xmpp", match.group("jid").lower(), source_text, match, source))
        if "t.me" in lowered or "telegram" in lowered or "tg" in lowered:
            for match in _TELEGRAM_LINK.finditer(source_text):
                if match.group("invite"):
                    found.append(_contact("telegram-invite", match.group("invite"), source_text, match, source))
                else:
                    found.append(_contact("telegram", match.group("name").lower(), source_text, match, source))
            for pattern in (_TELEGRAM_RESOLVE, _TELEGRAM_LABELLED):
                for match in pattern.finditer(source_text):
                    found.append(_contact("telegram", match.group("name").lower(), source_text, match, source))
        found.sort(key=lambda hit: hit.start)
        hits.extend(found[: MAX_HITS - len(hits)])
        if len(hits) >= MAX_HITS:
            break
    return hits


def _contact(kind: str, value: str, text: str, match: re.Match[str], source: str) -> ContactHit:
    start, end = match.span()
    return ContactHit(
        kind=kind,
        value=value,
        raw=match.group(0),
        start=start,
        end=end,
        context=_context(text, start, end),
        source=source,
    )
