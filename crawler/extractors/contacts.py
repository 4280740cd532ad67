"""Find e-mail addresses, Jabber/XMPP ids, Telegram handles and messenger ids in page text and links.

* :func:`find_emails` ``(text, hrefs=()) -> list[EmailHit]``
* :func:`find_contacts` ``(text, hrefs=()) -> list[ContactHit]`` -- XMPP,
  Telegram and messenger ids (``kind`` is ``"xmpp"``, ``"telegram"``,
  ``"telegram-invite"``, ``"wickr"``, ``"session"``, ``"threema"`` or ``"tox"``).

Rules, chosen so that nothing is guessed:

* E-mail: a local part of 1-64 usual characters, ``@``, then 1-8 dot-separated
  DNS labels ending in a 2-24 letter TLD (``.onion`` included).  Values are
  lower-cased.  ``mailto:`` hrefs count too (``source="href"``).
  Obfuscated forms are decoded when the "at" is bracketed or the "@" is
  spaced, which is unambiguous: ``name [at] host [dot] org`` /
  ``name(at)host(dot)org`` / ``name {at} host.org`` / ``name @ host.org`` /
  ``name [at] host dot org`` (once the "at" is bracketed, the domain's dots
  may be bracketed, plain or the word ``dot``).  A bare ``name at host dot
  org`` is NOT decoded: it is ordinary English too often; nor is ``me @
  host.org`` and the like (a short list of words that prose puts before a
  spaced "@").  Decoded hits have ``obfuscated=True``.
* XMPP: ``xmpp:user@host`` URIs (text or href), and ``user@host`` (plain or
  obfuscated as above) right after a ``Jabber``/``XMPP``/``JID`` label
  (``"Jabber: a@b.org"``, ``"Jabber: a @ xmpp.jp"``).  A labelled JID is
  reported as XMPP and not also as an e-mail.
* Telegram: ``t.me/<name>`` and ``telegram.me/<name>`` links
  (``t.me/+code`` and ``t.me/joinchat/code`` are ``telegram-invite``),
  ``tg://resolve?domain=<name>``, and ``@name`` right after a
  ``Telegram``/``TG`` label.  A bare ``@name`` is not reported (it could be
  any network).  Names are 5-32 characters, start with a letter, and are
  reported lower-case without ``@``.
* Messengers, each only right after its label (``"Session ID: 05..."``):
  Session ids (66 hex characters starting ``05``, after ``Session``), Tox
  ids (76 hex characters whose XOR checksum holds, after ``Tox``/``qTox``),
  Threema ids (8 characters ``[A-Z0-9]``, a gateway id starting with ``*``,
  after ``Threema``) and Wickr usernames (5-32 characters ``[A-Za-z0-9._-]``,
  after ``Wickr``/``Wickr Me``; not an e-mail, nor a word such as "available"
  that follows such a label in prose).  Hex ids are reported lower-case,
  Threema ids upper-case, Wickr names lower-case.

Never raises on arbitrary text; at most :data:`MAX_HITS` hits of each kind.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator

CONTEXT_CHARS = 80
MAX_HITS = 2_000
MAX_HREF_CHARS = 4096

_LOCAL = r"[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}"
_EMAIL = re.compile(rf"(?<![A-Za-z0-9._%+-])(?P<local>{_LOCAL})@(?P<domain>{_DOMAIN})(?![A-Za-z0-9-]|\.[A-Za-z0-9])")

_AT = r"(?:\s*(?:\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\})\s*|\s{1,3}@\s{0,3}|@\s{1,3})"
_DOT = r"(?:\s*(?:\[\s*dot\s*\]|\(\s*dot\s*\)|\{\s*dot\s*\})\s*|\.|\s{1,3}dot\s{1,3})"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![A-Za-z0-9._%+-])(?P<local>{_LOCAL}){_AT}(?P<domain>(?:{_LABEL}{_DOT}){{1,8}}[A-Za-z]{{2,24}})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_DOT_WORD = re.compile(_DOT, re.IGNORECASE)
# Cheap gate: the obfuscated pattern is only run on text that has a bracketed "at" or a spaced "@".
_BRACKETED_AT = re.compile(r"[\[({]\s*at\s*[\])}]", re.IGNORECASE)
_SPACED_AT = re.compile(r"\s@|@\s")
# Words that prose puts before a spaced "@" ("find us @ dread.forum"): never a local part there.
_PROSE_BEFORE_SPACED_AT = frozenset({
    "me", "us", "you", "him", "her", "them", "it", "we", "i", "here", "there", "now", "online", "only",
    "available", "find", "reach", "contact", "message", "email", "mail", "dm", "pm", "at", "or", "and",
    "to", "on", "in", "via", "is", "are", "hit", "ping", "join", "follow",
})

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

# Messenger ids, each right after its label; the label's words in any case (scoped
# IGNORECASE: the ids' own classes stay exact).
_MESSENGER_GAP = r"[ \t]{0,3}(?:[:=-][ \t]{0,3})?"
_SESSION = re.compile(
    r"(?<![A-Za-z0-9])(?i:session)(?:[ \t]?(?i:id|messenger))?" + _MESSENGER_GAP
    + r"(?P<value>05[0-9A-Fa-f]{64})(?![0-9A-Za-z])"
)
_TOX = re.compile(
    r"(?<![A-Za-z0-9])(?i:q?tox)(?:[ \t]?(?i:id))?" + _MESSENGER_GAP + r"(?P<value>[0-9A-Fa-f]{76})(?![0-9A-Za-z])"
)
_THREEMA = re.compile(
    r"(?<![A-Za-z0-9])(?i:threema)(?:[ \t]?(?i:id))?" + _MESSENGER_GAP
    + r"(?P<value>[A-Z0-9*][A-Z0-9]{7})(?![A-Za-z0-9])"
)
# The username is read as a whole run and checked in Python (no backtracking into it).
_WICKR = re.compile(
    r"(?<![A-Za-z0-9])(?i:wickr)(?:[ \t-]?(?i:me))?(?:[ \t]?(?i:id|username|user|name))?" + _MESSENGER_GAP
    + r"@?(?P<value>[A-Za-z0-9._-]{1,40})"
)
_WICKR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{3,30}[A-Za-z0-9]")
# Words that follow a Wickr label in prose ("Wickr: available on request").
_NOT_WICKR_NAMES = frozenset({
    "available", "unavailable", "contact", "message", "request", "please", "below", "above", "inbox",
    "private", "coming", "disabled", "removed", "offline", "online", "there", "username", "account",
    "handle", "nothing", "closed", "later", "ask-me", "upon", "only", "deleted", "banned", "changed",
    # Other labels ("Wickr: Session ...", a repeated label).
    "wickr", "wickrme", "session", "threema", "jabber", "telegram", "signal", "email",
})
_MESSENGER_PATTERNS = (("session", "session", _SESSION), ("tox", "tox", _TOX),
                       ("threema", "threema", _THREEMA), ("wickr", "wickr", _WICKR))


@dataclass(frozen=True)
class EmailHit:
    address: str
    raw: str
    obfuscated: bool
    start: int
    end: int
    context: str
    source: str
    # Inside an element the browser does not show (set by crawler.extractors.identifiers).
    hidden: bool = False

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
    obfuscated: bool = False
    # Inside an element the browser does not show (set by crawler.extractors.identifiers).
    hidden: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _context(text: str, start: int, end: int) -> str:
    return " ".join(text[max(0, start - CONTEXT_CHARS) : end + CONTEXT_CHARS].split())


def _sources(text: str, hrefs: Iterable[str]):
    yield text, "text"
    for href in hrefs:
        yield href[:MAX_HREF_CHARS], "href"


def _label_before(
    text: str, start: int, pattern: re.Pattern[str], last_chars: str, space_may_end: bool = True
) -> re.Match[str] | None:
    """``pattern`` (a label ending at ``\\Z``) searched in the window before ``start``.

    The search runs only when the character before ``start`` can end such a
    label (``last_chars``, or white space when ``space_may_end``): a necessary
    condition that costs far less than the search, which matters on pages with
    many candidates.
    """
    if start == 0:
        return None
    last = text[start - 1]
    if last not in last_chars and not (space_may_end and last.isspace()):
        return None
    return pattern.search(text, max(0, start - _LABEL_WINDOW), start)


# The characters a label can end with, in either case (IGNORECASE also lets "s" match
# the long s "ſ").
_XMPP_LABEL_ENDS = "rRpPdDsSſ:=-/"  # jabber xmpp jid id address, separators, "//"
_TELEGRAM_LABEL_ENDS = "gGmM:=-"  # tg telegram, separators
_TELEGRAM_HOST_ENDS = "tTmM"  # t.me telegram.me


def _xmpp_label(text: str, start: int) -> re.Match[str] | None:
    return _label_before(text, start, _XMPP_LABEL_BEFORE, _XMPP_LABEL_ENDS)


def _is_xmpp(text: str, start: int) -> bool:
    return _xmpp_label(text, start) is not None


def _may_have_xmpp_label(text: str, lowered: str) -> bool:
    """False when no XMPP label can be in ``text`` (``lowered`` is ``text.lower()``).

    IGNORECASE lets the "i" of "jid" match "İ" and "ı" too, which ``lower()``
    does not turn into "i".
    """
    return (
        "jabber" in lowered or "xmpp" in lowered or "jid" in lowered
        or "\u0130" in text or "\u0131" in text
    )


# The local part before an "@", read backwards from it: the pattern's lookbehind means
# an e-mail starts where the run of local-part characters before its "@" starts.
_LOCAL_RUN_REVERSED = re.compile(r"[A-Za-z0-9._%+-]{0,65}")
_MAX_LOCAL = 64
# With "@" on average closer than this, one pass of the pattern over the whole text is
# cheaper than a look around each "@".
_DENSE_AT_SPACING = 32


def _plain_emails(text: str) -> Iterator[re.Match[str]]:
    """The matches of the e-mail pattern in ``text``, in order (``_EMAIL.finditer``, faster).

    Linear in ``len(text)``: around each "@" the local part is read backwards to
    the start of its run of local-part characters (the only start the
    pattern's lookbehind allows) and the pattern is matched there once.  The
    earlier code searched a 600-character window from every "@", about 30 us
    per "@" whether or not an address was there.
    """
    at_signs = text.count("@")
    if at_signs == 0:
        return
    if at_signs * _DENSE_AT_SPACING >= len(text):
        yield from _EMAIL.finditer(text)
        return
    position = text.find("@")
    while position >= 0:
        before = text[max(0, position - _MAX_LOCAL - 1) : position][::-1]
        run = _LOCAL_RUN_REVERSED.match(before).end()
        if 0 < run <= _MAX_LOCAL:
            match = _EMAIL.match(text, position - run)
            if match is not None:
                yield match
        position = text.find("@", position + 1)


def _may_be_obfuscated(source_text: str, lowered: str) -> bool:
    """False when ``source_text`` has neither a bracketed "at" nor a spaced "@" (cheap checks first)."""
    if ("at]" in lowered or "at)" in lowered or "at}" in lowered) and _BRACKETED_AT.search(source_text):
        return True
    return ("@ " in source_text or " @" in source_text or "@\t" in source_text or "@\n" in source_text
            or _SPACED_AT.search(source_text) is not None) if "@" in source_text else False


def _obfuscated_emails(source_text: str) -> Iterator[tuple[re.Match[str], str]]:
    """(match, decoded lower-case address) of each obfuscated address, in order.

    A spaced "@" after a word that prose puts there ("find us @ dread.forum")
    is not an address.
    """
    for match in _OBFUSCATED_EMAIL.finditer(source_text):
        local = match.group("local")
        if local.lower() in _PROSE_BEFORE_SPACED_AT and "@" in match.group(0):
            continue
        domain = _DOT_WORD.sub(".", match.group("domain"))
        yield match, f"{local}@{domain}".lower()


def find_emails(text: str, hrefs: Iterable[str] = ()) -> list[EmailHit]:
    """E-mail addresses (plain and obfuscated) in text and hrefs, lower-cased; labelled XMPP ids excluded."""
    hits: list[EmailHit] = []
    for source_text, source in _sources(text, hrefs):
        has_at_sign = "@" in source_text
        lowered = source_text.lower()
        may_be_obfuscated = _may_be_obfuscated(source_text, lowered)
        if not has_at_sign and not may_be_obfuscated:
            continue
        # Spans of the plain matches, in order and disjoint, so an obfuscated match is
        # checked against them by bisection (a scan of the list was quadratic).
        taken_starts: list[int] = []
        taken_ends: list[int] = []
        may_be_xmpp = _may_have_xmpp_label(source_text, lowered)
        for match in _plain_emails(source_text) if has_at_sign else ():
            if len(hits) >= MAX_HITS:
                return hits
            start, end = match.span()
            taken_starts.append(start)
            taken_ends.append(end)
            if may_be_xmpp and _is_xmpp(source_text, start):
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
        for match, address in _obfuscated_emails(source_text) if may_be_obfuscated else ():
            if len(hits) >= MAX_HITS:
                return hits
            start, end = match.span()
            first_after = bisect.bisect_right(taken_ends, start)
            if first_after < len(taken_starts) and taken_starts[first_after] < end:
                continue  # overlaps a plain match
            if may_be_xmpp and _is_xmpp(source_text, start):
                continue  # a labelled XMPP id: reported by find_contacts
            hits.append(
                EmailHit(
                    address=address,
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


def _tox_checksum_holds(value: str) -> bool:
    """A Tox id is public key (32 bytes) + nospam (4) + checksum (2): the XOR of the first 36 bytes in pairs."""
    data = bytes.fromhex(value)
    checksum = [0, 0]
    for index, byte in enumerate(data[:36]):
        checksum[index % 2] ^= byte
    return bytes(checksum) == data[36:38]


def _wickr_name(text: str, match: re.Match[str]) -> tuple[str, int] | None:
    """(name, end) of the Wickr username a match read, or None when the run is no username."""
    run_end = match.end("value")
    if run_end < len(text) and (text[run_end] == "@" or text[run_end].isalnum() or text[run_end] in "._-"):
        return None  # an e-mail address, or a run too long for a username
    name = match.group("value").rstrip("._-")
    if not _WICKR_NAME.fullmatch(name) or name.lower() in _NOT_WICKR_NAMES:
        return None
    return name.lower(), match.start("value") + len(name)


def _messengers(source_text: str, lowered: str, source: str, room: int) -> list[ContactHit]:
    """Session, Tox, Threema and Wickr ids right after their labels, at most ``room`` of each kind."""
    found: list[ContactHit] = []
    for kind, keyword, pattern in _MESSENGER_PATTERNS:
        if keyword not in lowered:
            continue
        count = 0
        for match in pattern.finditer(source_text):
            end = match.end()
            if kind == "wickr":
                read = _wickr_name(source_text, match)
                if read is None:
                    continue
                value, end = read
            elif kind == "tox":
                if not _tox_checksum_holds(match.group("value")):
                    continue
                value = match.group("value").lower()
            elif kind == "threema":
                value = match.group("value")
            else:
                value = match.group("value").lower()
            found.append(_contact(kind, value, source_text, match, source, end=end))
            count += 1
            if count >= room:
                break
    return found


def find_contacts(text: str, hrefs: Iterable[str] = ()) -> list[ContactHit]:
    """XMPP ids, Telegram handles/links and messenger ids in text and hrefs, in order of appearance.

    Each pattern runs only on text that contains its keyword (checked with a
    plain substring search first), so ordinary pages cost a few scans.
    """
    hits: list[ContactHit] = []
    for source_text, source in _sources(text, hrefs):
        # Each pattern's hits come in order of position, so keeping the first
        # ``room`` of each keeps the first ``room`` of all of them, and a page of
        # repeated handles costs no more than MAX_HITS hits.
        room = MAX_HITS - len(hits)
        found: list[ContactHit] = []
        lowered = source_text.lower()
        if "@" in source_text:
            xmpp: list[ContactHit] = []
            emails = _plain_emails(source_text) if _may_have_xmpp_label(source_text, lowered) else ()
            for match in emails:
                label = _xmpp_label(source_text, match.start())
                if label is not None:
                    xmpp.append(_contact("xmpp", match.group(0).lower(), source_text, match, source, label.start()))
                    if len(xmpp) >= room:
                        break
            found += xmpp
        if _may_have_xmpp_label(source_text, lowered) and _may_be_obfuscated(source_text, lowered):
            obfuscated_xmpp: list[ContactHit] = []
            for match, address in _obfuscated_emails(source_text):
                label = _xmpp_label(source_text, match.start())
                if label is not None:
                    obfuscated_xmpp.append(
                        _contact("xmpp", address, source_text, match, source, label.start(), obfuscated=True)
                    )
                    if len(obfuscated_xmpp) >= room:
                        break
            found += obfuscated_xmpp
        if "@" in source_text:
            if "telegram" in lowered or "tg" in lowered:
                handles: list[ContactHit] = []
                for match in _TELEGRAM_HANDLE.finditer(source_text):
                    label = _label_before(source_text, match.start(), _TELEGRAM_LABEL_BEFORE, _TELEGRAM_LABEL_ENDS)
                    if label:
                        handles.append(
                            _contact("telegram", match.group("name").lower(), source_text, match, source, label.start())
                        )
                        if len(handles) >= room:
                            break
                found += handles
        if ".me/" in lowered:
            links: list[ContactHit] = []
            for match in _TELEGRAM_PATH.finditer(source_text):
                host = _label_before(
                    source_text, match.start(), _TELEGRAM_HOST_BEFORE, _TELEGRAM_HOST_ENDS, space_may_end=False
                )
                if host is None:
                    continue
                if match.group("invite"):
                    links.append(
                        _contact("telegram-invite", match.group("invite"), source_text, match, source, host.start())
                    )
                else:
                    links.append(
                        _contact("telegram", match.group("name").lower(), source_text, match, source, host.start())
                    )
                if len(links) >= room:
                    break
            found += links
        if "tg://" in lowered:
            for count, match in enumerate(_TELEGRAM_RESOLVE.finditer(source_text)):
                if count >= room:
                    break
                found.append(_contact("telegram", match.group("name").lower(), source_text, match, source))
        found += _messengers(source_text, lowered, source, room)
        found.sort(key=lambda hit: hit.start)
        hits.extend(found[:room])
        if len(hits) >= MAX_HITS:
            break
    return hits


def _contact(
    kind: str, value: str, text: str, match: re.Match[str], source: str, start: int | None = None,
    *, end: int | None = None, obfuscated: bool = False,
) -> ContactHit:
    """A hit spanning ``start`` (default: the match start; labels and hosts extend it) to ``end`` (the match end)."""
    start = match.start() if start is None else start
    end = match.end() if end is None else end
    return ContactHit(
        kind=kind,
        value=value,
        raw=text[start:end],
        start=start,
        end=end,
        context=_context(text, start, end),
        source=source,
        obfuscated=obfuscated,
    )
