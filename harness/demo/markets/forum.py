"""Hush: a discussion forum about the markets (boards, paginated threads, member pages).

What the crawler and extractors meet here: bare onion addresses in post text
(live, dead and one legacy v2 address), clickable links to the markets,
wallet addresses in signatures (one EVM address all lower-case, one Bitcoin
testnet address), look-alike addresses with broken checksums in scam reports,
a PGP key block and a malformed one, avatars and an attachment (media, never
to be fetched), ``/forum/<board>/page/N/`` and ``thread.html?page=N`` pagination.
``render(world)`` returns a :class:`~harness.demo.markets.markup.RenderedSite`.
"""

from __future__ import annotations

from harness.demo import paths
from harness.demo.markets.markup import RenderedSite, document, esc, paginate
from harness.demo.world.entities import ForumPost, ForumThread, ForumUser, World

_THREADS_PER_PAGE = 10
_POSTS_PER_PAGE = 6
_STYLE = "body{background:#1d1f21;color:#c5c8c6;font-family:monospace}.post{border:1px solid #373b41;margin:6px}"
_ATTACHMENT = "/attachments/reagent-chart.jpg"


def _frame(title: str, main: str) -> str:
    body = (
        '<div class="header"><a href="/">hush</a> :: <a href="/members/">members</a> :: '
        '<a href="/forum/links/">links</a></div>'
        f'<div class="main">{main}</div><div class="footer">hush forum - no logs, no JS</div>'
    )
    return document(f"{title} - hush", body, style=_STYLE)


def _segments(segments: list[tuple[str, ...]]) -> str:
    out: list[str] = []
    for segment in segments:
        kind = segment[0]
        if kind == "text":
            out.append(esc(segment[1]))
        elif kind == "link":
            out.append(f'<a href="{esc(segment[1])}">{esc(segment[2])}</a>')
        elif kind == "pre":
            out.append(f"<pre>{esc(segment[1])}</pre>")
        elif kind == "break":
            out.append("<br>")
        else:
            raise ValueError(f"unknown post segment {kind!r}")
    return " ".join(out)


def _post(post: ForumPost, site: RenderedSite, extra: str = "") -> str:
    avatar = f"/avatars/{post.author.name}.jpg"
    site.media.add(avatar)
    signature = f'<div class="sig">{esc(post.author.signature)}</div>' if post.author.signature else ""
    return (
        f'<div class="post"><div class="author"><img src="{esc(avatar)}" width="48" alt="">'
        f'<a href="{esc(paths.user_path(post.author.name))}">{esc(post.author.name)}</a> '
        f'<span class="date">{esc(post.posted)}</span></div>'
        f'<div class="body">{_segments(post.body)}{extra}</div>{signature}</div>'
    )


def _thread_pages(thread: ForumThread, site: RenderedSite) -> None:
    pages = paginate(thread.posts, _POSTS_PER_PAGE)
    for number, posts in enumerate(pages, start=1):
        pager = " ".join(
            f"[{other}]" if other == number
            else f'<a href="{esc(paths.thread_path(thread.thread_id, thread.slug, other))}">{other}</a>'
            for other in range(1, len(pages) + 1)
        )
        rendered = []
        for index, post in enumerate(posts):
            extra = ""
            if number == 1 and index == 0 and thread.title.startswith("Reagent kits"):
                site.media.add(_ATTACHMENT)
                extra = f'<br>Attachment: <a href="{_ATTACHMENT}">reagent-chart.jpg</a>'
            rendered.append(_post(post, site, extra))
        main = (
            f'<div class="crumbs"><a href="{esc(paths.board_path(thread.board))}">{esc(thread.board)}</a></div>'
            f"<h1>{esc(thread.title)}</h1>{''.join(rendered)}<div class=\"pager\">pages: {pager}</div>"
        )
        site.add(paths.thread_path(thread.thread_id, thread.slug, number), "thread", _frame(thread.title, main))


def _user_page(user: ForumUser) -> str:
    parts = [f"<h1>{esc(user.name)}</h1><p>joined {esc(user.joined)}</p>"]
    if user.signature:
        parts.append(f'<p class="sig">signature: {esc(user.signature)}</p>')
    for contact in user.contacts:
        parts.append(f"<p>{esc(contact['type'])}: {esc(contact['value'])}</p>")
    if user.pgp:
        parts.append(f"<h2>public key</h2><pre>{esc(user.pgp.armored)}</pre>")
    return _frame(f"member {user.name}", "".join(parts))


def render(world: World) -> RenderedSite:
    forum = world.forum
    site = RenderedSite()
    board_rows = "".join(
        f'<tr><td><a href="{esc(paths.board_path(board.slug))}">{esc(board.title)}</a><br><small>{esc(board.description)}</small></td>'
        f"<td>{len(board.threads)} threads</td></tr>"
        for board in forum.boards
    )
    site.add("/", "home", _frame("boards", f'<h1>hush</h1><table class="boards">{board_rows}</table>'))
    for board in forum.boards:
        pages = paginate(board.threads, _THREADS_PER_PAGE)
        for number, threads in enumerate(pages, start=1):
            rows = "".join(
                f'<li><a href="{esc(paths.thread_path(thread.thread_id, thread.slug))}">{esc(thread.title)}</a>'
                f" ({len(thread.posts)} posts) by "
                f'<a href="{esc(paths.user_path(thread.posts[0].author.name))}">{esc(thread.posts[0].author.name)}</a></li>'
                for thread in threads
            )
            pager = " ".join(
                f"[{other}]" if other == number
                else f'<a href="{esc(paths.board_path(board.slug, other))}">{other}</a>'
                for other in range(1, len(pages) + 1)
            )
            site.add(paths.board_path(board.slug, number), "board",
                     _frame(board.title, f"<h1>{esc(board.title)}</h1><ul>{rows}</ul><p>pages: {pager}</p>"))
        for thread in board.threads:
            _thread_pages(thread, site)
    members = "".join(
        f'<li><a href="{esc(paths.user_path(user.name))}">{esc(user.name)}</a></li>' for user in forum.users
    )
    site.add("/members/", "members", _frame("members", f"<h1>members</h1><ul>{members}</ul>"))
    for user in forum.users:
        site.add(paths.user_path(user.name), "user", _user_page(user))
    return site
