"""Forum threads without a profile: is this page a thread, and what are its posts.

Public API:

* :func:`read_thread` ``(tree, page_url) -> ForumThread``: the posts of the
  page (author, time, text) and how strongly the page looks like a forum.
* :class:`ForumThread` -- ``posts`` and ``is_thread`` (posts found and forum
  markup around them, or enough posts on their own).
* :class:`ForumPost` -- ``author``, ``posted_at`` (ISO 8601 in UTC, only when
  the page states the zone: ``<time datetime="...Z">`` or an explicit offset),
  ``posted_local`` (naive ISO when the page prints an absolute time without a
  zone), ``posted_text`` (the time as displayed, may be relative) and ``text``.
* :func:`parse_post_time` -- the (UTC, local) reading of one time element.

Posts are found like listing cards (:func:`crawler.extractors.record_mining.find_repeated_units`):
repeated same-shaped blocks that each hold a link to a member profile and a
time, grown to the widest block that holds no other post; a quoted post
inside a post is part of it.  A post's time is its ``<time datetime>`` where
it has one, else an element marked as a time (class "DateTime", a Unix ``data-time``
read as UTC), never a "Last edited" time, and only then a plain date (which may be
the author's join date); the author's signature is never the post's text.  Blocks
that print thread and message counts are a forum index's nodes, not posts.  A page is a thread when it has such posts, forum markup around them (post /
message / comment classes with reply, quote or thread links in English,
Russian or German, or a forum generator tag), and at most half of the posts
hold a price tag (a market's card grid has seller links and dates too).  Thread pages never
yield listings: prices quoted in a post are talk, not offers.

Cost: linear in the page tree; text per post is capped at ``MAX_POST_CHARS``.
Never raises.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from crawler.extractors.page_tree import PageTree
from crawler.extractors.record_mining import find_repeated_units

MAX_POSTS = 500
MAX_POST_CHARS = 20_000
MAX_AUTHOR_CHARS = 80

# Links to a member's page, in the URL shapes of the common forum engines
# (MyBB "User-name" and member.php, phpBB memberlist, vBulletin/Invision/XenForo
# /members/ and /profile/, SMF action=profile, plain /user/ and /u/).
_MEMBER_HREF = re.compile(
    r"(?i)(?:^|/)(?:user-|member\.php|memberlist\.php|profile\.php|showuser=|u=\d)"
    r"|[/?](?:user|users|member|members|profile|profiles|u)/"  # XenForo 1 without rewrites: "index.php?members/x.1/"
    r"|[?&](?:action=profile|mode=viewprofile|showuser=|uid=|u=)"
)
_POST_CLASS = re.compile(r"(?i)(?:^|[\s_-])(?:post|posts|message|messages|comment|reply|topic|ipscomment|cpost|postbody|post_body|postbit|bbwrapper|messagecontent)(?:$|[\s_-])")
_FORUM_ACTION = re.compile(
    r"(?i)^(?:reply|quote|multi-?quote|report|ответить|цитата|цитировать|жалоба|antworten|zitieren|melden)$"
)
_FORUM_HREF = re.compile(r"(?i)newreply|replyto|do=reply|action=post|posting\.php|showthread|viewtopic|/thread|/topic|/forum")
_GENERATORS = re.compile(r"(?i)mybb|vbulletin|phpbb|invision|xenforo|simple machines|smf|discourse|flarum|nodebb|ipb")
_DATE_CLASS = re.compile(r"(?i)date|time|posted|когда|datum")
# A forum index's node or a board's thread row prints its counts ("Темы 3,090 Сообщения 14,650",
# "Threads: 12 Messages: 40", "Replies: 3 Views: 120"); a post does not.  Bounded: one try per word.
_NODE_COUNTS = re.compile(
    r"(?i)(?:threads|topics|темы|тем|themen|replies|ответы|ответов|antworten) ?:? ?\d[\d,. ]{0,12}"
    r"(?:messages|posts|сообщения|сообщений|beiträge|views|просмотры|просмотров|aufrufe)\b")

_MONTHS = {name: number for number, names in enumerate((
    ("jan", "january", "янв", "января", "januar"), ("feb", "february", "фев", "февраля", "februar"),
    ("mar", "march", "мар", "марта", "märz", "maerz"), ("apr", "april", "апр", "апреля"),
    ("may", "мая", "май", "mai"), ("jun", "june", "июн", "июня", "juni"), ("jul", "july", "июл", "июля", "juli"),
    ("aug", "august", "авг", "августа"), ("sep", "sept", "september", "сен", "сентября"),
    ("oct", "october", "окт", "октября", "okt", "oktober"), ("nov", "november", "ноя", "ноября"),
    ("dec", "december", "дек", "декабря", "dez", "dezember"),
), start=1) for name in names}
_ISO_TIME = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$", re.I)
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,4})[-./](\d{1,2})[-./](\d{2,4})(?:,?\s+(?:at\s+|в\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?(?!\d)")
_WORD_DATE = re.compile(r"(?<![\w])(?:(\d{1,2})\s+([^\W\d_]{3,9})\.?|([^\W\d_]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?)\s+(\d{4})(?:,?\s+(?:at\s+|в\s+)?(\d{1,2}):(\d{2})\s*([AaPp][Mm])?)?")


@dataclass(frozen=True)
class ForumPost:
    author: str
    posted_at: str | None = None
    posted_local: str | None = None
    posted_text: str | None = None
    text: str = ""

    def to_doc(self) -> dict[str, Any]:
        return {"author": self.author, "posted_at": self.posted_at, "posted_local": self.posted_local,
                "posted_text": self.posted_text, "text": self.text}


@dataclass
class ForumThread:
    posts: list[ForumPost] = field(default_factory=list)
    forum_markup: bool = False

    priced_posts: int = 0  # posts that hold a price tag: a grid of cards with seller links and dates

    counted_posts: int = 0  # "posts" that print thread/message counts: a forum index's nodes

    @property
    def is_thread(self) -> bool:
        return (bool(self.posts) and self.forum_markup and self.priced_posts * 2 <= len(self.posts)
                and self.counted_posts * 2 <= len(self.posts))


def _hour(hour: int, meridiem: str | None) -> int:
    if meridiem:
        meridiem = meridiem.lower()
        if meridiem == "pm" and hour < 12:
            return hour + 12
        if meridiem == "am" and hour == 12:
            return 0
    return hour


def _local_from_text(text: str) -> str | None:
    """A naive ISO time from an absolute date printed without a zone ("02-23-2013, 12:21 PM")."""
    text = text[:200]
    match = _NUMERIC_DATE.search(text)
    try:
        if match:
            first, second, third = match.group(1), match.group(2), match.group(3)
            if len(first) == 4:
                year, month, day = int(first), int(second), int(third)
            else:
                year = int(third) if len(third) == 4 else 2000 + int(third)
                a, b = int(first), int(second)
                # Day-month or month-day: only a day above 12 tells; dots mean day first.
                if a > 12 or (b <= 12 and "." in match.group(0)):
                    day, month = a, b
                else:
                    month, day = a, b
            hour = _hour(int(match.group(4)), match.group(7)) if match.group(4) else None
            minute = int(match.group(5)) if match.group(5) else 0
            moment = datetime(year, month, day, hour or 0, minute)
            return moment.strftime("%Y-%m-%dT%H:%M") if hour is not None else moment.strftime("%Y-%m-%d")
        match = _WORD_DATE.search(text)
        if match:
            day_text = match.group(1) or match.group(4)
            month_text = (match.group(2) or match.group(3)).casefold()
            month = _MONTHS.get(month_text) or _MONTHS.get(month_text[:3])
            if not month:
                return None
            hour = _hour(int(match.group(6)), match.group(8)) if match.group(6) else None
            moment = datetime(int(match.group(5)), month, int(day_text), hour or 0, int(match.group(7) or 0))
            return moment.strftime("%Y-%m-%dT%H:%M") if hour is not None else moment.strftime("%Y-%m-%d")
    except ValueError:
        return None
    return None


def parse_post_time(datetime_attr: str | None, visible: str | None) -> tuple[str | None, str | None]:
    """(posted_at in UTC, posted_local naive) from a ``datetime`` attribute and/or the visible text.

    Only a stated zone ("Z", "+03:00") gives ``posted_at``; a bare date gives ``posted_local``.
    """
    if datetime_attr:
        match = _ISO_TIME.match(datetime_attr[:64])
        if match:
            year, month, day, hour, minute, second, zone = match.groups()
            try:
                moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
            except ValueError:
                moment = None
            if moment is not None:
                if zone:
                    if zone.upper() == "Z":
                        offset = timedelta(0)
                    else:
                        sign = 1 if zone[0] == "+" else -1
                        digits = zone[1:].replace(":", "")
                        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
                    utc = (moment - offset).replace(tzinfo=timezone.utc)
                    return utc.isoformat(), None
                return None, moment.strftime("%Y-%m-%dT%H:%M:%S" if hour else "%Y-%m-%d")
    if visible:
        return None, _local_from_text(visible)
    return None, None


def _member_links(tree: PageTree) -> set[int]:
    found = set()
    for index in range(len(tree)):
        if tree.tag[index] != "a" or tree.link[index] != index or tree.hidden[index]:
            continue
        href = tree.elements[index].get("href") or ""
        if len(href) > 500 or not _MEMBER_HREF.search(href):
            continue
        text = tree.element_text(index, limit=MAX_AUTHOR_CHARS + 1)
        if text and len(text) <= MAX_AUTHOR_CHARS:
            found.add(index)
    return found


def _time_marks(tree: PageTree) -> set[int]:
    """``<time>`` elements, and short elements with a date class or an absolute date in their text."""
    found = set()
    for index in range(len(tree)):
        if tree.hidden[index]:
            continue
        if tree.tag[index] == "time":
            found.add(index)
            continue
        text = tree.small_text[index]
        if not text or len(text) > 60 or not any(character.isdigit() for character in text):
            continue
        classes = tree.elements[index].get("class") or ""
        if _DATE_CLASS.search(classes) or tree.elements[index].get("title") and _DATE_CLASS.search(
                tree.elements[index].get("title") or ""):
            found.add(index)
        elif _local_from_text(text):
            found.add(index)
    # Keep the innermost: a dated element inside a dated block is the time, the block is not.
    outer: set[int] = set()
    for index in found:
        for ancestor in tree.ancestors(index, limit=4):
            outer.add(ancestor)
    return {index for index in found if index not in outer or tree.tag[index] == "time"}


def _forum_markup(tree: PageTree, min_post_classes: int = 3) -> bool:
    post_classes = 0
    actions = 0
    for index in range(len(tree)):
        if tree.hidden[index]:
            continue
        element = tree.elements[index]
        tag = tree.tag[index]
        if tag == "meta" and (element.get("name") or "").lower() == "generator" and _GENERATORS.search(element.get("content") or ""):
            return True
        classes = element.get("class")
        if classes and _POST_CLASS.search(classes):
            post_classes += 1
        if tag == "a":
            text = tree.element_text(index, limit=30)
            href = element.get("href") or ""
            if (text and _FORUM_ACTION.match(text)) or (href and len(href) < 500 and _FORUM_HREF.search(href)):
                actions += 1
        if post_classes >= min_post_classes and actions >= 1:
            return True
    return False


# Class tokens (or their "_"/"-" parts) that engines give the message block; "smalltext" is not one.
_BODY_CLASS = re.compile(
    r"(?i)(?:^|[\s_-])(?:body|postbody|message|messagecontent|content|text|entry|richtext|bbwrapper|msg|postmsg)(?:$|[\s_-])")
_NOT_BODY_CLASS = re.compile(r"(?i)author|user|sig|signature|meta|head|stat|avatar|footer|controls|buttons")
_SIGNATURE = re.compile(r"(?i)(?:^|[\s_-])(?:sig|signature|membersignature|postsignature)(?:$|[\s_-])")
_INLINE_TAGS = frozenset({"a", "b", "i", "em", "strong", "span", "br", "u", "font", "small", "img", "code", "s", "sup", "sub"})


def _post_text(tree: PageTree, post: int, author_index: int, time_index: int) -> str:
    """The message: the block in the post that holds the most text and not the author or the time."""
    sizes: dict[int, int] = {}
    # The author's signature below the message (class "signature", Invision's data-role
    # "memberSignature") can hold more text than a short reply: it is never the message.
    signatures = [index for index in tree.subtree(post) if _SIGNATURE.search(
        (tree.elements[index].get("class") or "") + " " + (tree.elements[index].get("data-role") or ""))]
    for owner, text in tree.text_chunks(post, limit=MAX_POST_CHARS):
        if signatures and any(tree.contains(root, owner) for root in signatures):
            continue
        block, levels = owner, 0
        # Credit the text to its block and a few ancestors below the post.
        while block != post and levels < 8:
            if tree.tag[block] not in _INLINE_TAGS:
                sizes[block] = sizes.get(block, 0) + len(text)
            block = tree.parent[block]
            levels += 1
    candidates = [block for block in sizes
                  if not tree.contains(block, author_index) and not tree.contains(block, time_index)]
    if not candidates:
        return ""
    # Engines name the message block ("post_body", "message", "ipsType_richText"); the author
    # box beside it ("author_statistics") can hold more text than a one-line reply.
    named = [block for block in candidates if _BODY_CLASS.search(tree.elements[block].get("class") or "")
             and not _NOT_BODY_CLASS.search(tree.elements[block].get("class") or "")]
    chosen = max(named or candidates, key=lambda block: (sizes[block], -block))
    return tree.element_text(chosen, limit=MAX_POST_CHARS)


def _single_post(tree: PageTree, members: set[int], times: set[int]) -> list[int]:
    """The deepest element whose class says post that holds a member link and a time; [] if none."""
    member_order, time_order = sorted(members), sorted(times)

    def holds(order: list[int], index: int) -> bool:
        position = bisect.bisect_left(order, index)
        return position < len(order) and order[position] < tree.end[index]

    best = -1
    for index in range(len(tree)):
        classes = tree.elements[index].get("class")
        if tree.hidden[index] or not classes or not _POST_CLASS.search(classes):
            continue
        if holds(member_order, index) and holds(time_order, index) and (best < 0 or tree.depth[index] > tree.depth[best]):
            best = index
    return [best] if best >= 0 else []


def _outermost(tree: PageTree, units: list[int]) -> list[int]:
    """Units not inside another: a quoted post, or a second (phone-sized) author box, is part of its post."""
    kept: list[int] = []
    for unit in sorted(units):
        if kept and tree.contains(kept[-1], unit):
            continue
        kept.append(unit)
    return kept


_EDIT_CLASS = re.compile(r"(?i)edit")


def _marked_as_time(tree: PageTree, index: int) -> bool:
    """The element is time markup: a ``<time>``, or a date/time class or title ("DateTime")."""
    element = tree.elements[index]
    return tree.tag[index] == "time" or bool(_DATE_CLASS.search(element.get("class") or "")) or bool(
        element.get("data-time"))


def _edit_time(tree: PageTree, index: int) -> bool:
    """A "Last edited" time: the element or one of its three nearest ancestors has an edit class."""
    return any(_EDIT_CLASS.search(tree.elements[block].get("class") or "")
               for block in (index, *tree.ancestors(index, limit=3)))


def _post_time_element(tree: PageTree, unit: int, times: set[int]) -> int:
    """The post's time: a ``<time datetime>`` first (it states the zone), else the first element
    marked as a time (class "DateTime"...) that is no "Last edited" time, else the first date in
    the post (a date in plain text may be the author's join date, so it comes last)."""
    marked = first = -1
    for index in tree.subtree(unit):
        if index in times:
            if tree.tag[index] == "time" and tree.elements[index].get("datetime"):
                return index
            if marked < 0 and _marked_as_time(tree, index) and not _edit_time(tree, index):
                marked = index
            if first < 0:
                first = index
    return marked if marked >= 0 else first


def _epoch_utc(value: str | None) -> str | None:
    """ISO UTC of a Unix time attribute (XenForo's ``data-time``), None unless it is 9-11 digits."""
    if not value or not value.isdigit() or not 9 <= len(value) <= 11:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def read_thread(tree: PageTree, page_url: str) -> ForumThread:
    """The posts on the page and whether it is a forum thread (see the module docstring)."""
    members = _member_links(tree)
    if not members:
        return ForumThread()
    times = _time_marks(tree)
    if not times:
        return ForumThread()
    units = find_repeated_units(tree, [members, times], limit=MAX_POSTS)
    if not units:
        # The last page of a thread may hold one post: a block whose class says post, with the
        # author and the time in it, on a page with forum markup.
        units = _single_post(tree, members, times)
        if not units:
            return ForumThread()
    posts = []
    priced = counted = 0
    for unit in _outermost(tree, units):
        if any(index in tree.prices for index in tree.subtree(unit)):
            priced += 1
        author_index = next((index for index in tree.subtree(unit) if index in members), -1)
        time_index = _post_time_element(tree, unit, times)
        if author_index < 0 or time_index < 0:
            continue
        author = tree.element_text(author_index, limit=MAX_AUTHOR_CHARS)
        time_element = tree.elements[time_index]
        visible = tree.element_text(time_index, limit=120)
        posted_at, posted_local = parse_post_time(time_element.get("datetime"), visible)
        if posted_at is None:
            posted_at = _epoch_utc(time_element.get("data-time"))
        title = time_element.get("title")
        if posted_at is None and title and (posted_local is None or "T" not in posted_local):
            # The title may print the whole time where the text prints the day ("Aug 24, 2015 at 2:34 PM").
            posted_local = parse_post_time(None, title[:200])[1] or posted_local
        text = _post_text(tree, unit, author_index, time_index)
        if _NODE_COUNTS.search(text[:300]):
            counted += 1
        posts.append(ForumPost(
            author=author,
            posted_at=posted_at,
            posted_local=posted_local,
            posted_text=visible or None,
            text=text,
        ))
    # Post-classed blocks: three make a forum, or as many as there are posts on a short page.
    return ForumThread(posts=posts, forum_markup=_forum_markup(tree, max(1, min(3, len(posts)))), priced_posts=priced,
                       counted_posts=counted)
