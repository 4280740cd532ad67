"""Login walls: a login form or a CAPTCHA where a page of content was expected.

A market that wants a logged-in session answers a content URL in one of three
ways: it redirects to its login page, it shows a login (or CAPTCHA, or
"DDoS protection") form in place of the content, or it answers 401/403.  The
crawl must not index such a page as content, and must tell the investigator
that the site needs a fresh session.

Signals (checked on saved real login, CAPTCHA and anti-DDoS pages of the
test corpus, and on its listing, vendor, category and forum pages, which carry
search boxes, contact forms with a CAPTCHA and sidebars that must not count):

* the URL: a path segment or query value such as ``login``, ``signin``,
  ``auth``, ``captcha``, ``verifyHuman`` (:func:`is_login_url`); logout URLs
  are told apart (:func:`is_logout_url`) so a crawl never ends its own session;
* the page: a form with a password field, or a CAPTCHA (an image, field or
  widget named so: reCAPTCHA, hCaptcha, Turnstile), *and* little else on the
  page -- little visible text and few links outside that form -- or a title
  that says login, sign in, captcha, robot, DDoS or verify;
* the status: 401 or 403 with such a form, or 401 with ``WWW-Authenticate``.

Public API:

* :func:`is_login_url` ``(url) -> bool``, :func:`is_logout_url` ``(url) -> bool``;
* :func:`detect_login_wall` ``(body, status=200, www_authenticate=False) -> str | None`` --
  the reason (``"password-form"``, ``"captcha"``, ``"http-auth"``) or None;
* :data:`LOGIN_WALL_REASONS`.

Pure functions; never raises on malformed HTML.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

import lxml.html
from lxml import etree

LOGIN_WALL_REASONS = ("password-form", "captcha", "http-auth")

_LOGIN_SEGMENT = re.compile(
    r"^(?:log[-_]?in|sign[-_]?in|logon|auth(?:enticate)?|captcha|verify[-_]?human\d*|challenge|"
    r"(?:anti[-_]?)?ddos(?:[-_]?protection)?|вход|vhod)(?:\.(?:php|html?|aspx?|jsp))?$",
    re.IGNORECASE,
)
_LOGOUT_SEGMENT = re.compile(r"^(?:log[-_]?out|sign[-_]?out|log[-_]?off|exit)(?:\.(?:php|html?|aspx?|jsp))?$",
                             re.IGNORECASE)
_QUERY_KEYS = ("action", "a", "page", "p", "do", "act", "mode", "module", "c", "r", "route")
_TITLE_WORDS = re.compile(
    r"\b(?:log\s?in|sign\s?in|captcha|robot|ddos|verify|verification|human|authenticat\w*|"
    r"вход|авторизац\w*|капча)\b",
    re.IGNORECASE,
)
# vBulletin names its image CAPTCHA "humanverify" (fields humanverify[input], humanverify[hash]).
_CAPTCHA = re.compile(r"captcha|g-recaptcha|h-captcha|cf-turnstile|humanverify", re.IGNORECASE)
# Cheap test on the raw bytes before anything is parsed: most pages have none of these.  Searched
# in the ASCII-lowered bytes (what a case-insensitive bytes regex matches): several times faster
# than the regex, and it runs twice per page (on the reactor thread, then in extraction).
_PREFILTER_WORDS = (b"password", b"captcha", b"turnstile", b"humanverify")

# A login page is mostly its form: outside it, at most this much text and this many links.
# The real login pages of the corpus stay under 700 characters and 25 links outside their
# form; the lightest content page with a password field or a CAPTCHA has several thousand.
MAX_TEXT_OUTSIDE_FORM = 1200
MAX_LINKS_OUTSIDE_FORM = 40
# A login page inside a site's full navigation: its main region, outside the forms, says at most this much.
MAIN_TEXT_OUTSIDE_FORM = 600
_MAX_BODY = 2 * 1024 * 1024


def _segments(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    parts = urlsplit(url)
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    return segments, parse_qsl(parts.query, keep_blank_values=True)


def is_login_url(url: str) -> bool:
    """True when ``url`` names a login, CAPTCHA or anti-DDoS page (``/login``, ``?a=signin``...)."""
    segments, query = _segments(url)
    if any(_LOGIN_SEGMENT.match(segment) for segment in segments):
        return True
    return any(key.lower() in _QUERY_KEYS and _LOGIN_SEGMENT.match(value) for key, value in query)


def is_logout_url(url: str) -> bool:
    """True when following ``url`` would end the session (``/logout``, ``?action=signout``...)."""
    segments, query = _segments(url)
    if any(_LOGOUT_SEGMENT.match(segment) for segment in segments):
        return True
    return any(key.lower() in _QUERY_KEYS and _LOGOUT_SEGMENT.match(value) for key, value in query)


def _parse(body: bytes) -> etree._Element | None:
    """The page's tree, or None.  Bytes that are valid UTF-8 are read as UTF-8 whatever the page's
    ``<meta charset>`` says: saved and re-served pages often keep a stale declaration (a vBulletin
    page re-encoded to UTF-8 still saying windows-1251), and libxml2 then stops at the first byte
    the declared charset lacks, losing the forms after it.  Other bytes are left to lxml."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        # A str with an XML encoding declaration is refused by lxml; drop the declaration.
        text = re.sub(r"^\ufeff?\s*<\?xml[^>]*\?>", "", text)
    try:
        return lxml.html.document_fromstring(text if text is not None else body)
    except (etree.ParserError, ValueError):
        return None


def _asks_for_email(form: etree._Element) -> bool:
    """True when ``form`` has a field for an e-mail address (``type="email"`` or a name that says e-mail)."""
    for node in form.iter("input"):
        kind = str(node.get("type") or "text").lower()
        name = str(node.get("name") or "").lower()
        if kind == "email" or (kind == "text" and ("email" in name or "e-mail" in name)):
            return True
    return False


def _has_captcha(element: etree._Element, skip: set[etree._Element] | None = None) -> bool:
    for node in element.iter("img", "input", "div", "iframe", "label"):
        if skip and any(form in skip for form in node.iterancestors("form")):
            continue
        attributes = " ".join(str(node.get(name) or "") for name in ("src", "alt", "class", "id", "name", "placeholder", "title"))
        if _CAPTCHA.search(attributes):
            return True
    return False


def _visible_text_length(element: etree._Element, skip: set[etree._Element]) -> tuple[int, int]:
    """(characters of visible text, links) in ``element`` outside the ``skip`` subtrees; the text of a
    ``<noscript>`` counts (a page read without scripts shows it)."""
    characters = links = 0
    stack = [element]
    while stack:
        node = stack.pop()
        if node in skip or not isinstance(node.tag, str):
            if not isinstance(node.tag, str) and node.tail:
                characters += len(node.tail.strip())
            continue
        tag = node.tag.lower()
        # A <noscript> is what a reader without scripts (a crawl, Tor Browser at its safest) sees: Discourse
        # prints its whole topic list there.
        if tag in ("script", "style", "template", "head"):
            if node.tail:
                characters += len(node.tail.strip())
            continue
        if tag == "a" and node.get("href"):
            links += 1
        if node.text:
            characters += len(node.text.strip())
        if node.tail and node is not element:
            characters += len(node.tail.strip())
        stack.extend(reversed(list(node)))
    return characters, links


def _may_be_a_wall(body: bytes) -> bool:
    lowered = bytes(body).lower()
    return any(word in lowered for word in _PREFILTER_WORDS)


def _main_is_the_form(root: etree._Element, password_forms: list[etree._Element]) -> bool:
    """True when the page's main region (``<main>`` or ``role="main"``) holds a password form and little
    else: a login or register page inside a site's full navigation (a shop's "My account" page)."""
    if not password_forms:
        return False
    for number, main in enumerate(root.iter("main", "div", "section")):
        if number >= 2000:
            break
        if main.tag != "main" and str(main.get("role") or "").lower() != "main":
            continue
        inside = [form for form in password_forms[:50] if any(parent is main for parent in form.iterancestors())]
        if not inside:
            continue
        forms_in_main = [form for form in main.iter("form")]
        text, links = _visible_text_length(main, set(forms_in_main))
        return text <= MAIN_TEXT_OUTSIDE_FORM and links <= MAX_LINKS_OUTSIDE_FORM
    return False


def detect_login_wall(body: bytes, status: int = 200, www_authenticate: bool = False) -> str | None:
    """Why ``body`` (an HTML page answered with ``status``) is a login wall, or None when it is content.

    Returns ``"http-auth"`` for a 401 that asks for HTTP authentication,
    ``"password-form"`` for a page that is mostly a login form, ``"captcha"``
    for one that is mostly a CAPTCHA.  A 401/403 counts only with such a form
    (or ``WWW-Authenticate``); a plain 403 is an error page, not a login wall.
    """
    if status == 401 and www_authenticate:
        return "http-auth"
    if not body or not _may_be_a_wall(body[:_MAX_BODY]):
        return None
    root = _parse(body[:_MAX_BODY])
    if root is None:
        return None
    forms = [form for form in root.iter("form")]
    password_forms = [form for form in forms if form.xpath(".//input[translate(@type,'PASSWORD','password')='password']")]
    # A CAPTCHA in a form that asks for an e-mail address and no password guards a newsletter sign-up or a
    # contact form on a page of content, not the site.
    signups = [form for form in forms if form not in password_forms and _asks_for_email(form)]
    captcha_forms = [form for form in forms if form not in signups and _has_captcha(form)]
    if not password_forms and not captcha_forms:
        # A CAPTCHA widget outside any form (script-driven challenge pages).
        if not _has_captcha(root, skip=set(signups)):
            return None
        captcha_forms = [root]
    title = " ".join(root.xpath("//title//text()"))[:300]
    wall_forms = password_forms or captcha_forms
    body_element = root.find("body") if root.find("body") is not None else root
    text_outside, links_outside = _visible_text_length(body_element, set(wall_forms) if wall_forms != [root] else set())
    small = text_outside <= MAX_TEXT_OUTSIDE_FORM and links_outside <= MAX_LINKS_OUTSIDE_FORM
    if not (small or (_TITLE_WORDS.search(title) and text_outside <= 3 * MAX_TEXT_OUTSIDE_FORM)
            or _main_is_the_form(root, password_forms)):
        return None
    return "password-form" if password_forms else "captcha"
