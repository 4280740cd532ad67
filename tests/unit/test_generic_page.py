"""Page types without a profile: forum threads and their posts, vendor profiles, detail pages, nothing.

Hand-written pages in the shapes of common engines; the real pages are in test_real_pages.py.
"""

from __future__ import annotations

from parsel import Selector

from crawler.extractors.document import extract_document
from crawler.extractors.forum_thread import parse_post_time
from crawler.extractors.generic_page import listing_id_for_url, read_generic_page
from crawler.extractors.prices import Price

HOST = "c" * 56 + ".onion"


def read(html: str, path: str = "/page"):  # type: ignore[no-untyped-def]
    return read_generic_page(Selector(text=html), f"http://{HOST}{path}")


def invision_post(author: str, moment: str, shown: str, text: str) -> str:
    return (f"<article class='cPost ipsBox ipsComment'><aside class='ipsComment_author'>"
            f"<h3><strong><a href='https://forum.example/profile/{len(author)}-{author}/'>{author}</a></strong></h3>"
            f"<ul><li>Сообщений: 12</li></ul></aside><div class='ipsComment_content'>"
            f"<div class='ipsComment_meta'><a href='/topic/5-x/?do=findComment'><time datetime='{moment}' title='x'>{shown}</time></a></div>"
            f"<div class='ipsType_richText' data-role='commentContent'><p>{text}</p></div>"
            f"<ul class='ipsComment_controls'><li><a href='/topic/5-x/?do=reply'>Цитата</a></li></ul></div></article>")


THREAD = ("<html><head><title>Продам базы - Форум</title></head><body><h1>Продам базы</h1>"
          + invision_post("seller1", "2020-01-09T15:36:33Z", "47 минут назад", "Продаю свежие базы по $50 за штуку, пишите в ЛС.")
          + invision_post("buyer_2", "2020-01-09T18:02:00+03:00", "9 января", "Интересует, сколько за опт?")
          + invision_post("seller1", "2020-01-10T08:00:00Z", "10 января", "Опт от 10 штук, цена 40 USD.")
          + "</body></html>")


def test_forum_thread_posts_with_utc_times_and_no_listing() -> None:
    page = read(THREAD, "/topic/5-x/")
    assert page.page_type == "thread"
    assert page.listing is None and page.cards == [] and page.vendor is None
    assert [post.author for post in page.posts] == ["seller1", "buyer_2", "seller1"]
    assert [post.posted_at for post in page.posts] == [
        "2020-01-09T15:36:33+00:00", "2020-01-09T15:02:00+00:00", "2020-01-10T08:00:00+00:00"]
    assert page.posts[0].posted_text == "47 минут назад"
    assert page.posts[0].text.startswith("Продаю свежие базы")


def test_thread_in_a_document_puts_posts_on_the_page() -> None:
    document = extract_document(THREAD, f"http://{HOST}/topic/5-x/", "2025-12-01T00:00:00Z", "job", profiles=None)
    assert document.page_type == "thread" and document.listings == []
    assert [post["author"] for post in document.page.posts] == ["seller1", "buyer_2", "seller1"]


def test_post_times() -> None:
    assert parse_post_time("2020-01-09T15:36:33Z", "47 minutes ago") == ("2020-01-09T15:36:33+00:00", None)
    assert parse_post_time(None, "02-23-2013, 12:21 PM") == (None, "2013-02-23T12:21")
    assert parse_post_time(None, "23.02.2013 18:05") == (None, "2013-02-23T18:05")
    assert parse_post_time(None, "March 5, 2021 at 9:07 am") == (None, "2021-03-05T09:07")
    assert parse_post_time("2021-03-05T09:07", None) == (None, "2021-03-05T09:07:00")  # no zone stated
    assert parse_post_time(None, "yesterday") == (None, None)


def test_a_grid_of_cards_with_seller_links_and_dates_is_no_thread() -> None:
    cards = "".join(
        f"<li class='post'><a href='/listing/{n}'><h3>Item {n}</h3></a><span>{n}.50 USD</span>"
        f"<a href='/profile/seller{n}'>seller{n}</a><span class='date'>06-03-2020</span><a href='/thread/x'>Reply</a></li>"
        for n in range(1, 5))
    page = read(f"<html><body><ul>{cards}</ul></body></html>", "/category/1")
    assert page.page_type == "category" and len(page.cards) == 4 and page.posts == []


def test_vendor_profile_labels_in_english_russian_and_german() -> None:
    english = ("<html><head><title>dutch-skills - User Profile</title></head><body><h3>User Profile :</h3><b>dutch-skills (100%)</b>"
               "<b>Positive Feedback :</b><span>(99.5%)</span><b>Member since :</b><span>Dec 05, 2019</span>"
               "<b>Sales :</b><span>93</span></body></html>")
    russian = ("<html><head><title>Магазин ХимЛаб</title></head><body><h1>Магазин ХимЛаб</h1>"
               "<dl><dt>На сайте с</dt><dd>2021-05-04</dd><dt>Продаж</dt><dd>1 204</dd><dt>Рейтинг</dt><dd>4.9</dd></dl></body></html>")
    german = ("<html><head><title>Verkäufer BerlinBest</title></head><body><h1>Verkäufer BerlinBest</h1>"
              "<p>Mitglied seit: 05.04.2022</p><p>Verkäufe: 310</p></body></html>")
    for html, name, joined, sales in ((english, "dutch-skills", "2019-12-05", 93), (russian, "ХимЛаб", "2021-05-04", 1204),
                                      (german, "BerlinBest", "2022-04-05", 310)):
        page = read(html, "/user")
        assert page.page_type == "vendor", name
        assert (page.vendor["name"], page.vendor["joined"], page.vendor["sales"]) == (name, joined, sales)


def test_forum_member_page_is_no_vendor() -> None:
    html = ("<html><body><h1>dark_pilot</h1><dl><dt>Joined</dt><dd>2023-11-27</dd><dt>Posts</dt><dd>12</dd>"
            "<dt>Reputation</dt><dd>3</dd></dl></body></html>")
    assert read(html, "/member/dark_pilot").page_type is None


def test_detail_page_labels_icons_and_a_strip_of_other_listings() -> None:
    strip = "".join(f"<div class='mini'><a href='/item/{n}'>Other item {n}</a><span>{n}.00 EUR</span></div>" for n in (7, 8, 9))
    html = ("<html><head><title>Cocaine 1g 90% - Shop</title></head><body><div class='rates'>BTC/EUR 9129.14 EUR</div>"
            "<h2>Cocaine 1g 90%</h2><table><tr><th>Verkäufer</th><td><a href='/u/koks'>koks (120)</a></td></tr>"
            "<tr><th>Preis</th><td>95,50 € <span>(0.0104 BTC)</span></td></tr>"
            "<tr><th>Versand aus</th><td>Deutschland</td></tr><tr><th>Versand nach</th><td>EU</td></tr></table>"
            "<span title='Escrow'>✓</span><form><input name='quantity' value='1'><button>Kaufen</button></form>"
            f"<h3>More from this vendor</h3>{strip}</body></html>")
    page = read(html, "/item/17")
    assert page.page_type == "listing"
    values = page.listing
    assert values["title"] == "Cocaine 1g 90%"
    assert values["price"] == Price(95.5, "EUR") and values["crypto_prices"] == [Price(0.0104, "BTC")]
    assert values["vendor"] == "koks" and values["ships_from"] == ["DE"] and values["ships_to"] == ["EU"]
    assert values["listing_id"] == "17" == listing_id_for_url(f"http://{HOST}/item/17")
    assert [card["title"] for card in page.cards] == ["Other item 7", "Other item 8", "Other item 9"]


def test_link_list_login_and_news_pages_give_nothing() -> None:
    link_list = "<html><body><ul>" + "".join(
        f"<li><a href='http://{chr(97 + n) * 56}.onion/'>Market {n}</a> - online, fees 2%</li>" for n in range(6)) + "</ul></body></html>"
    login = ("<html><body><form><label>Username</label><input name='u'><label>Password</label><input name='p' type='password'>"
             "<img src='/captcha.png'><button>Login</button></form></body></html>")
    news = "<html><body><h1>Prices went up</h1><p>Everything costs $20 more now.</p><p>Posted 2020-01-01</p></body></html>"
    for html in (link_list, login, news):
        page = read(html)
        assert page.page_type is None and page.listing is None and page.cards == [] and page.posts == []


def test_card_listing_ids_follow_the_detail_url() -> None:
    assert listing_id_for_url("http://x.onion/viewProduct?offer=178049.523731") == "178049.523731"
    assert listing_id_for_url("http://x.onion/listing.php?ls_id=43473") == "43473"
    assert listing_id_for_url("http://x.onion/product/35791/105/186765") == "186765"
    assert listing_id_for_url("http://x.onion/item#reviews") == listing_id_for_url("http://x.onion/item")


def test_quoted_posts_are_part_of_their_post_and_the_time_is_the_posts_own() -> None:
    """A quote (a name and a date inside the message) is no post; a post's time is its <time datetime>."""
    def post(author: str, moment: str, quoted: str) -> str:
        return (f"<div class='post'><div class='author'><a href='/user/{author}'>{author}</a> <span class='date'>joined 2019-01-02</span>"
                f"<time datetime='{moment}'>2 hours ago</time></div><div class='message'>"
                f"<blockquote><a href='/user/{quoted}'>{quoted}</a> <span class='date'>2020-05-01</span> wrote: old words</blockquote>"
                f"My own words by {author}.</div><a href='/thread/9?reply=1'>Reply</a></div>")
    html = "<html><body>" + post("ann", "2020-05-05T10:00:00Z", "bob") + post("bob", "2020-05-05T11:30:00Z", "ann") + "</body></html>"
    page = read(html, "/thread/9")
    assert page.page_type == "thread"
    assert [(p.author, p.posted_at) for p in page.posts] == [("ann", "2020-05-05T10:00:00+00:00"), ("bob", "2020-05-05T11:30:00+00:00")]


def test_one_listing_per_detail_url() -> None:
    """A card printed twice (a phone layout beside the desktop one) is one listing: same detail page, same _id."""
    card = ("<div class='card'><div class='wide'><a href='/l/{n}'>Item {n}</a><span>{n}.00 USD</span></div>"
            "<div class='narrow'><a href='/l/{n}'>Item {n}</a><span>{n}.00 USD</span><a href='/u/v{n}'>v{n}</a></div></div>")
    page = read("<html><body>" + "".join(card.format(n=n) for n in (1, 2, 3)) + "</body></html>", "/c")
    assert page.page_type == "category"
    assert [(values["title"], values.get("vendor")) for values in page.cards] == [("Item 1", "v1"), ("Item 2", "v2"), ("Item 3", "v3")]


def test_vendor_page_known_by_its_key_and_vendor_words_without_a_join_date() -> None:
    key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nxjMEY2Ic6xYJKwYBBAHaRw8BAQdA\n-----END PGP PUBLIC KEY BLOCK-----"
    vendor = (f"<html><head><title>Vendor Kush4U</title></head><body><h1>Kush4U</h1><p>Feedback: 98% positive</p>"
              f"<h2>Public key</h2><pre>{key}</pre></body></html>")
    member = f"<html><head><title>dark_pilot</title></head><body><h1>dark_pilot</h1><p>Posts: 12</p><pre>{key}</pre></body></html>"
    assert read(vendor, "/v").page_type == "vendor" and read(vendor, "/v").vendor["name"] == "Kush4U"
    assert read(member, "/member").page_type is None


def test_detail_title_is_the_heading_above_the_price_not_a_section_heading() -> None:
    html = ("<html><head><title>Drug Market</title></head><body><h1>Drug Market</h1><h2>Item info</h2>"
            "<h3>Blue Dream 7g</h3><table><tr><td>Price:</td><td>฿0.0123</td></tr><tr><td>Vendor:</td><td>greenguy</td></tr>"
            "<tr><td>Ships from:</td><td>Canada</td></tr></table><h2>Description</h2><p>Sticky buds.</p></body></html>")
    page = read(html, "/item/5")
    assert page.page_type == "listing"
    assert (page.listing["title"], page.listing["price"], page.listing["vendor"]) == ("Blue Dream 7g", Price(0.0123, "BTC"), "greenguy")
