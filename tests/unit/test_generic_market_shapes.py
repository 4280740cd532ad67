"""Profile-free extraction on hand-written pages in the shapes real markets use (issue 10).

Each page is a minimal fixture written for one general rule (a vendor's name in the page
title and a "send a message to" heading, WooCommerce product pages, table rows of listings,
XenForo 1 threads...); expected values are written by hand.  The real saved pages are
scored by ``bench.extraction_real``.
"""

from __future__ import annotations

from parsel import Selector

from crawler.extractors.generic_page import read_generic_page
from crawler.extractors.prices import Price

HOST = "d" * 56 + ".onion"
KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nxjMEY2Ic6xYJKwYBBAHaRw8BAQdA\n-----END PGP PUBLIC KEY BLOCK-----"


def read(html: str, path: str = "/page"):  # type: ignore[no-untyped-def]
    return read_generic_page(Selector(text=html), f"http://{HOST}{path}")


def _products(count: int) -> str:
    rows = "".join(f"<tr><td><a href='/p/item{n}'>Item number {n}</a></td><td>0.{n}0000000 BTC</td></tr>"
                   for n in range(1, count + 1))
    return f"<table>{rows}</table>"


def test_vendor_name_from_page_title_and_message_heading_not_from_running_text() -> None:
    """The profile owner is named in <title>, in bold beside a deal count and in "Send a message to X";
    "is a <strong>Vendor</strong> account." is a sentence, not a "Vendor" label."""
    html = ("<html><head><title>mrgreen</title></head><body><div>Welcome buyer7</div>"
            "<i class='icon'></i> <strong>mrgreen</strong> <span class='ratings'> [12 deals]</span>"
            f"<div>We ship fast, feedback welcome.<br/><span>{KEY}</span></div>"
            + _products(3)
            + "<h2>Send a message to mrgreen</h2><form><textarea name='m'></textarea></form>"
            "<span>'mrgreen' is a <strong>Vendor</strong> account.</span></body></html>")
    page = read(html, "/vendor/mrgreen")
    assert page.page_type == "vendor"
    assert page.vendor["name"] == "mrgreen"
    assert page.vendor.get("sales") == 12
    assert "rating" not in page.vendor  # "[12 deals]" is a count, not a rating
    assert [card["vendor"] for card in page.cards] == ["mrgreen"] * 3


def _woo_card(slug: str, name: str, price: str) -> str:
    return (f"<li class='product'><a href='http://{HOST}/product/{slug}/' class='woocommerce-LoopProduct-link'>"
            f"<h2 class='woocommerce-loop-product__title'>{name}</h2>"
            f"<span class='price'><span class='woocommerce-Price-amount amount'><bdi><span>&#36;</span>{price}</bdi></span></span></a>"
            f"<a href='?add-to-cart=1' class='button'>Add to cart</a></li>")


def test_woocommerce_product_page_with_related_products_and_a_widget_repeating_it() -> None:
    """A product page (JSON-LD Product, h1 product_title, p.price) is one listing, even though a
    "Top rated products" widget repeats it beside three related products."""
    ld = ('<script type="application/ld+json">{"@context":"https://schema.org/","@graph":[{"@type":"Product",'
          '"name":"Garden Gnome Plans","offers":[{"@type":"Offer","price":"7.00","priceCurrency":"USD"}]}]}</script>')
    related = "".join(_woo_card(f"r{n}", f"Related thing {n}", f"{n}.00") for n in (1, 2, 3))
    widget = ("<div class='widget'><h2>Top rated products</h2><ul>"
              f"<li><a href='http://{HOST}/product/garden-gnome-plans/'>Garden Gnome Plans</a>"
              "<span class='woocommerce-Price-amount amount'><bdi><span>&#36;</span>7.00</bdi></span></li>"
              f"<li><a href='http://{HOST}/product/r1/'>Related thing 1</a>"
              "<span class='woocommerce-Price-amount amount'><bdi><span>&#36;</span>1.00</bdi></span></li></ul></div>")
    html = ("<html><head><title>Garden Gnome Plans &#8211; Thrifty Shop</title>" + ld + "</head>"
            "<body class='single-product woocommerce'><div class='product'><div class='summary'>"
            "<h1 class='product_title entry-title'>Garden Gnome Plans</h1>"
            "<p class='price'><span class='woocommerce-Price-amount amount'><bdi><span>&#36;</span>7.00</bdi></span></p>"
            "<form class='cart'><input type='hidden' name='quantity' value='1'/>"
            "<button type='submit' name='add-to-cart'>Add to cart</button></form></div>"
            f"<section class='related products'><h2>Related products</h2><ul class='products'>{related}</ul></section>"
            f"</div>{widget}</body></html>")
    page = read(html, "/product/garden-gnome-plans/")
    assert page.page_type == "listing"
    assert (page.listing["title"], page.listing["price"]) == ("Garden Gnome Plans", Price(7.0, "USD"))
    assert sorted(card["title"] for card in page.cards) == ["Related thing 1", "Related thing 2", "Related thing 3"]


def test_a_code_or_prefix_beside_a_dollar_sign_names_the_dollar() -> None:
    from crawler.extractors.price_spans import find_price_spans

    def read_price(text: str) -> list[tuple[float, str]]:
        return [(span.amount, span.currency) for span in find_price_spans(text)]

    assert read_price("CAD $367.5") == [(367.5, "CAD")]
    assert read_price("Purchase price: CAD $89.25 (0.00094 BTC)") == [(89.25, "CAD"), (0.00094, "BTC")]
    assert read_price("$12.50 AUD") == [(12.5, "AUD")]
    assert read_price("C$ 10 or AU$5") == [(10.0, "CAD"), (5.0, "AUD")]
    # The sign alone, or with USD, stays the US dollar; a word that is no dollar prefix changes nothing.
    assert read_price("$20.00 USD") == [(20.0, "USD")]
    assert read_price("US $5, bus$7, A $9") == [(5.0, "USD"), (7.0, "USD"), (9.0, "USD")]


def test_a_dollar_code_printed_around_the_price_element_names_its_currency() -> None:
    """"CAD <a>$89.25</a>": the code sits in the parent's text, the sign and amount in a child."""
    cards = "".join(
        f"<div class='item'><a href='/product.php?id={n}'><h4>Listing number {n}</h4></a>"
        f"<p>Vendor: <a href='/vendor.php?id=v{n}'>seller{n}</a></p><p class='bold'>CAD <a>${n}9.25</a></p>"
        f"<p>(0.0009{n} BTC)</p></div>" for n in range(1, 5))
    page = read(f"<html><head><title>Search</title></head><body>{cards}</body></html>", "/search.php")
    assert page.page_type == "category"
    assert [(card["title"], card["price"]) for card in page.cards] == [
        (f"Listing number {n}", Price(float(f"{n}9.25"), "CAD")) for n in range(1, 5)]


def test_detail_vendor_from_a_handle_link_and_from_a_self_closed_vendor_link() -> None:
    """The vendor of a listing page: a "/@name/..." handle link around the seller's heading, and
    "Brought to you by: <a href='/vendor/x'/>x</a>" (libxml2 closes the link at "/>")."""
    handle = ("<html><head><title>Market</title></head><body><h1>Blue Widget Pack</h1>"
              "<div>Price: 30.00 USD</div><button>Buy now</button>"
              f"<div class='seller'><a href='http://{HOST}/@QuietFox/9f8e7d6c5b4a'><h2>QuietFox</h2></a></div></body></html>")
    page = read(handle, "/listing/77")
    assert page.page_type == "listing"
    assert (page.listing["title"], page.listing["vendor"]) == ("Blue Widget Pack", "QuietFox")
    selfclosed = ("<html><head><title>Market</title></head><body><h1>Green Widget 5g</h1><div>0.0123 BTC</div>"
                  "Fine widgets.<br/>Brought to you by:<br/><a class='user' href='/vendor/GreenGuy#'/>GreenGuy</a>"
                  "<span> 4.9/5, 15~25 deals</span><div>0.0123 BTC</div><a href='/buy/1'>Buy</a></body></html>")
    page = read(selfclosed, "/p/abc")
    assert page.page_type == "listing"
    assert (page.listing["title"], page.listing["vendor"]) == ("Green Widget 5g", "GreenGuy")


def test_table_rows_of_several_vendors_are_a_category_even_with_a_key_quoted_in_a_description() -> None:
    """Rows whose vendor links libxml2 closed at "/>" name their vendor by the text after the link;
    a PGP key quoted in one row's description does not make a page of several vendors a profile."""
    vendors = ["alpha", "bravo", "alpha", "charlie"]
    rows = "".join(
        f"<tr class='products-list-item'><td><a href='/p/id{n}'>Product {n} 5g</a><br/>"
        f"<span class='description-preview'>Good stuff {KEY if n == 2 else ''}</span></td>"
        f"<td>0.0{n}000000 BTC</td><td><a class='user-link' href='/vendor/{name}#'/>{name}</a><br/>"
        f"<span class='user-ratings'>4.90/5, 15~25 deals</span></td></tr>"
        for n, name in enumerate(vendors, start=1))
    html = f"<html><head><title>Category</title></head><body><table>{rows}</table></body></html>"
    page = read(html, "/cat/edibles")
    assert page.page_type == "category"
    assert [card["vendor"] for card in page.cards] == vendors


def test_spaced_per_unit_prices() -> None:
    from crawler.extractors.price_spans import find_price_spans

    def read_price(text: str) -> list[tuple[float, str, str | None]]:
        return [(span.amount, span.currency, span.unit) for span in find_price_spans(text)]

    assert read_price("10.00 USD / item") == [(10.0, "USD", "item")]
    assert read_price("от 3 690 руб / 2г") == [(3690.0, "RUB", "2г")]
    assert read_price("1795.00 USD/1LB") == [(1795.0, "USD", "1LB")]
    # A second price after the slash is no unit, nor is a slash with a space on one side only.
    assert read_price("$60 / 0.005 BTC") == [(60.0, "USD", None), (0.005, "BTC", None)]
    assert read_price("5 USD /item") == [(5.0, "USD", None)]


def test_cards_with_shop_links_per_unit_prices_and_shipping_labels() -> None:
    """A multi-shop site's cards link the shop ("/market/<id>", a name of several words) and print
    "от 3 690 руб / 2г"; other cards print "Shipped From X" / "Shipped To Y" or "From: X" / "To: Y"."""
    shops = ["Северная Ветка", "Pinky and the Brain drug store", "DENDI"]
    russian = "".join(
        f"<div class='item'><div class='title'><a href='/product/{n}?region_id=8'>Товар номер {n}</a></div>"
        f"<div class='market'><a href='/market/{100 + n}'>{shop}</a></div><div class='text'>Описание {n}</div>"
        f"<div class='foot'><span class='price'>от <strong>{n} 690 руб / {n}г</strong></span></div></div>"
        for n, shop in enumerate(shops, start=1))
    page = read(f"<html><head><title>Каталог</title></head><body>{russian}</body></html>", "/catalog/1")
    assert page.page_type == "category"
    assert [(card["vendor"], card["price"], card["price_unit"]) for card in page.cards] == [
        (shop, Price(float(f"{n}690"), "RUB"), f"{n}г") for n, shop in enumerate(shops, start=1)]
    english = "".join(
        f"<div class='product'><h2><a href='/listing.php?pid={n}'>Listing {n} 7g</a></h2>"
        f"<b>Sold By <a href='/profile.php?id=v{n}'>v{n}</a></b><br/>"
        f"<b>Shipped From</b> Germany<br/><b>Shipped To</b> Worldwide<h2>USD {n}.99</h2></div>" for n in (1, 2, 3))
    page = read(f"<html><head><title>Listings</title></head><body>{english}</body></html>", "/listings.php")
    assert [(card["ships_from"], card["ships_to"]) for card in page.cards] == [(["DE"], ["WW"])] * 3
    rows = "".join(
        f"<tr><td><a href='/p/x{n}'>Row item {n}</a></td><td>0.0{n} BTC</td>"
        f"<td>From: USA<br/>To: Canada</td><td><a href='/vendor/w{n}'>w{n}</a></td></tr>" for n in (1, 2, 3))
    page = read(f"<html><head><title>Cat</title></head><body><table>{rows}</table></body></html>", "/cat/1")
    assert [(card["ships_from"], card["ships_to"]) for card in page.cards] == [(["US"], ["CA"])] * 3


def _xenforo1_post(number: int, author: str, joined: str, shown: str, title: str, text: str, edited: str = "") -> str:
    edit = (f"<div class='editDate'>Last edited: <span class='DateTime' title='{edited}'>{edited[:12]}</span></div>"
            if edited else "")
    return (f"<li id='post-{number}' class='sectionMain message' data-author='{author}'>"
            f"<div class='messageUserInfo'><div class='messageUserBlock'>"
            f"<a href='index.php?members/{author.lower()}.{number}/' class='avatar'><img src='a.jpg'></a>"
            f"<h3 class='userText'><a href='index.php?members/{author.lower()}.{number}/' class='username'>{author}</a>"
            f"<em class='userTitle'>Member</em></h3><div class='extraUserInfo'>"
            f"<dl class='pairsJustified'><dt>Joined:</dt><dd>{joined}</dd></dl>"
            f"<dl class='pairsJustified'><dt>Messages:</dt><dd>12</dd></dl></div></div></div>"
            f"<div class='messageInfo primaryContent'><div class='messageContent'><article>"
            f"<blockquote class='messageText ugc baseHtml'>{text}</blockquote></article></div>{edit}"
            f"<div class='messageDetails'><a href='index.php?threads/x.5/' title='Permalink' class='datePermalink'>"
            f"<span class='DateTime' title='{title}'>{shown}</span></a></div>"
            f"<div class='messageMeta'><div class='publicControls'>"
            f"<a href='index.php?threads/x.5/reply&amp;quote={number}' class='ReplyQuote item control reply'>Reply</a>"
            f"</div></div></div></li>")


def test_xenforo1_thread_posts_with_author_text_and_permalink_time() -> None:
    """XenForo 1 without URL rewriting: member links "index.php?members/name.id/", the author's join
    date in a <dl> beside the post, a "Last edited" time, and the post's time in span.DateTime."""
    posts = (_xenforo1_post(11, "valvex", "Jul 15, 2015", "Aug 24, 2015", "Aug 24, 2015 at 2:34 PM",
                            "Hi all, I am introducing my travel service. Price is $250 per flight.",
                            edited="Jul 20, 2016 at 11:12 AM")
             + _xenforo1_post(12, "haisiok", "Apr 9, 2015", "Aug 24, 2015", "Aug 24, 2015 at 2:36 PM",
                              "Great service, I added you to jabber!")
             + _xenforo1_post(13, "bomba", "May 19, 2015", "Aug 25, 2015", "Aug 25, 2015 at 7:11 AM", "ok"))
    html = ("<html><head><title>Travel service | Some Market Forum</title></head><body>"
            "<h1>Travel service</h1><form action='inline-mod/post/switch'><ol class='messageList' id='messageList'>"
            f"{posts}</ol></form></body></html>")
    page = read(html, "/index.php?threads/x.5/")
    assert page.page_type == "thread"
    assert page.cards == [] and page.listing is None
    assert [(post.author, post.posted_local, post.text) for post in page.posts] == [
        ("valvex", "2015-08-24T14:34", "Hi all, I am introducing my travel service. Price is $250 per flight."),
        ("haisiok", "2015-08-24T14:36", "Great service, I added you to jabber!"),
        ("bomba", "2015-08-25T07:11", "ok"),
    ]


def test_saved_xenforo1_threads_give_their_posts() -> None:
    """The two saved AlphaBay Market Forum threads (site-type pages, no extraction truth): 30 posts
    each (30 "sectionMain message" items in the markup), authors as in their data-author
    attributes, every post with text; never listings."""
    import re
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "data" / "real" / "site_type_pages" / "alphabay-forum"
    for name, first_author, first_time in (("page-1.html", "valvex", "2015-08-24T14:34"),
                                           ("page-2.html", "br3aker", "2015-03-27T13:16")):
        html = (folder / name).read_text(encoding="utf-8", errors="replace")
        authors = re.findall(r'class="sectionMain message[^"]*" data-author="([^"]*)"', html)
        assert len(authors) == 30
        page = read(html, "/index.php?threads/t.1/")
        assert page.page_type == "thread" and page.cards == []
        assert [post.author for post in page.posts] == authors
        assert (page.posts[0].author, page.posts[0].posted_local) == (first_author, first_time)
        assert all(post.text for post in page.posts)


def test_a_json_ld_seller_that_is_the_shop_itself_is_no_vendor() -> None:
    """A one-seller shop's JSON-LD names itself as the seller (an Organization whose URL is the
    site's home page); a market's seller has a page of its own and stays the vendor."""
    def page_with(seller: str) -> str:
        ld = ('<script type="application/ld+json">{"@type":"Product","name":"Garden Gnome Plans",'
              f'"offers":{{"@type":"Offer","price":"7.00","priceCurrency":"USD","seller":{seller}}}}}</script>')
        return (f"<html><head><title>Garden Gnome Plans &#8211; Thrifty Shop</title>{ld}</head><body>"
                "<h1 class='product_title'>Garden Gnome Plans</h1><p class='price'>$7.00</p>"
                "<form class='cart'><button type='submit'>Add to cart</button></form></body></html>")

    shop = page_with('{"@type":"Organization","name":"Thrifty Shop","url":"http://' + "e" * 56 + '.onion"}')
    page = read(shop, "/product/garden-gnome-plans/")
    assert page.page_type == "listing" and page.listing["price"] == Price(7.0, "USD")
    assert "vendor" not in page.listing
    market = page_with('{"@type":"Person","name":"gnomeguy","url":"/vendor/gnomeguy"}')
    assert read(market, "/product/garden-gnome-plans/").listing["vendor"] == "gnomeguy"


def test_source_box_on_cards_and_bare_from_to_labels_on_a_detail_page() -> None:
    boxes = "".join(
        f"<div class='card'><a href='/product/{n}abc'><h3>Blotter pack {n}</h3></a>"
        f"<a href='/@seller{n}/x1'>seller{n}</a><div><span>Source</span><div title='Netherlands'>Netherlands</div></div>"
        f"<div><span>Ship to</span><div>Worldwide</div></div><div><span>{n}9.00</span> <span>EUR / tab</span></div></div>"
        for n in (1, 2, 3))
    page = read(f"<html><head><title>LSD</title></head><body>{boxes}</body></html>", "/category/lsd")
    assert [(card["ships_from"], card["ships_to"], card["vendor"]) for card in page.cards] == [
        (["NL"], ["WW"], f"seller{n}") for n in (1, 2, 3)]
    detail = ("<html><head><title>Market</title></head><body><h1>Lemon Cake 5g</h1><div>0.0176 BTC</div>"
              "Tasty.<br/>Brought to you by:<br/><a href='/vendor/baker'>baker</a>"
              "<div class='ships'><i class='fa fa-truck'></i> From: <img src='/f/USA.png'/> USA<br/>"
              "<i class='fa fa-home'></i> To: Canada</div><a href='/buy/1'>Buy</a></body></html>")
    page = read(detail, "/p/lemon")
    assert page.page_type == "listing"
    assert (page.listing["ships_from"], page.listing["ships_to"]) == (["US"], ["CA"])


def test_cards_that_each_print_their_vendors_join_date_make_a_category_page() -> None:
    """Each card prints its vendor's "Joined:" date and sales: those are the cards' vendors', so a
    page of several vendors' cards is a result page, not a profile named after its heading."""
    cards = "".join(
        f"<div class='listing'><a href='/listing/{n}'><h4>Purple Haze {n}g</h4></a>"
        f"<div>Vendor: <a href='/vendor/{name}'>{name}</a></div><div>Joined: 2019-05-1{n}</div>"
        f"<div>Sales: {n}00</div><div>Rating: 99.{n}%</div><div class='price'>{n}0.00 USD</div></div>"
        for n, name in enumerate(("CaliTerps", "BookFace", "GreenLeaf"), start=1))
    html = f"<html><head><title>Weed Products</title></head><body><h1>Weed Products</h1>{cards}</body></html>"
    page = read(html, "/category/weed")
    assert page.page_type == "category"
    assert [card["vendor"] for card in page.cards] == ["CaliTerps", "BookFace", "GreenLeaf"]


def test_a_forum_index_whose_nodes_show_their_last_post_is_no_thread() -> None:
    """Each node of a forum index prints its counts and its last post's author and time; the
    nodes are not posts, and the page is no thread."""
    nodes = "".join(
        f"<div class='node node--forum'><div class='node-main'><h3 class='node-title'>"
        f"<a href='/forums/{n}/'>Раздел {n}</a></h3><div class='node-meta'><dl><dt>Темы</dt><dd>{n},090</dd></dl>"
        f"<dl><dt>Сообщения</dt><dd>{n}4,650</dd></dl></div></div><div class='node-extra'>"
        f"<a href='/threads/{n}/post-9'>Последняя тема {n}</a> <time class='u-dt' datetime='2020-04-10T23:4{n}:30+0300'>"
        f"Вчера в 23:4{n}</time> <a href='/members/user{n}.{n}/' class='username'>user{n}</a></div></div>"
        for n in range(1, 6))
    notices = "".join(f"<li class='notice'><div class='bbWrapper'>Правило {n}</div></li>" for n in range(3))
    html = ("<html><head><title>Форум</title></head><body>"
            f"<ul class='notices'>{notices}</ul><div class='block-body'>{nodes}</div></body></html>")
    page = read(html, "/")
    assert page.page_type != "thread" and page.posts == []


def test_a_long_signature_under_a_short_post_is_not_its_text() -> None:
    def post(number: int, author: str, moment: str, text: str) -> str:
        return (f"<article class='cPost ipsComment'><aside class='ipsComment_author'><h3><a href='/profile/{number}-{author}/'>"
                f"{author}</a></h3></aside><div class='ipsComment_content'><div class='ipsComment_meta'>"
                f"<a href='/topic/1-x/?do=findComment&amp;comment={number}'><time datetime='{moment}'>{moment[:10]}</time></a></div>"
                f"<div class='cPost_contentWrap'><div data-role='commentContent' class='ipsType_richText'><p>{text}</p></div>"
                f"<div data-role='memberSignature'><hr/><div class='ipsType_richText'><p>{author}'s service: lookups of any "
                f"person, phones, addresses, documents, fast and private. Contact me on jabber for prices and terms.</p>"
                f"</div></div></div><ul class='ipsComment_controls'><li><a href='/topic/1-x/?do=reply'>Quote</a></li></ul>"
                f"</div></article>")

    html = ("<html><head><title>Thread</title></head><body><h1>Thread</h1>"
            + post(1, "MacDonald", "2020-01-09T15:36:33Z", "Price from $270.")
            + post(2, "buyer", "2020-01-09T16:00:00Z", "How long does it take?")
            + post(3, "MacDonald", "2020-01-09T17:00:00Z", "One day.") + "</body></html>")
    page = read(html, "/topic/1-x/")
    assert page.page_type == "thread"
    assert [(item.author, item.text) for item in page.posts] == [
        ("MacDonald", "Price from $270."), ("buyer", "How long does it take?"), ("MacDonald", "One day.")]


def test_vendor_rating_labelled_positive_or_avg_rating() -> None:
    html = ("<html><head><title>User terrysukstock</title></head><body><h1>terrysukstock</h1>"
            "<div><label>Positive:</label><span>96.87%</span></div>"
            "<div><label>Member since:</label><span>2019-04-15 13:19:58</span></div>"
            "<a href='/products/terrysukstock'>View Vendor Listings</a>"
            "<table><tr><th>Rating</th><th>Item</th></tr><tr><td>5</td><td>Zomorph 10mg 60 tab</td></tr></table></body></html>")
    page = read(html, "/user/terrysukstock")
    assert page.page_type == "vendor"
    assert (page.vendor["name"], page.vendor["rating"], page.vendor["joined"]) == ("terrysukstock", 96.87, "2019-04-15")
    table = ("<html><head><title>fredthebaker</title></head><body><h1>fredthebaker</h1><table>"
             "<tr><td>sales</td><td>523</td></tr><tr><td>avg rating</td><td>4.77 / 5.0</td></tr>"
             "<tr><td>vendor for</td><td>5 years</td></tr></table><pre>" + KEY + "</pre></body></html>")
    page = read(table, "/vendor/fredthebaker")
    assert (page.page_type, page.vendor["sales"], page.vendor["rating"]) == ("vendor", 523, 4.77)


def test_a_more_from_this_shop_strip_inside_a_card_is_that_shops() -> None:
    """Cards inside a card's "Еще от этого магазина" strip print no shop: the enclosing card's is theirs."""
    def strip(n: int) -> str:
        items = "".join(f"<li class='more'><a href='/product/{n}{k}'>Extra {n}{k}</a> <span class='price'>от {n}{k}00 руб</span></li>"
                        for k in (1, 2))
        return f"<div class='also'>Еще от этого магазина:<ul>{items}</ul></div>"

    cards = "".join(
        f"<div class='catalog_item'><div class='title'><a href='/product/{n}'>Main item {n}</a></div>"
        f"<div class='market'><a href='/market/{n}7'>Shop number {n} | courier jobs open</a></div>"
        f"<div class='foot'><span class='price'>от {n} 990 руб / 1г</span></div>{strip(n)}</div>" for n in (1, 2, 3))
    page = read(f"<html><head><title>Каталог</title></head><body>{cards}</body></html>", "/catalog/2")
    vendors = {card["title"]: card.get("vendor") for card in page.cards}
    for n in (1, 2, 3):
        shop = f"Shop number {n} | courier jobs open"
        assert (vendors[f"Main item {n}"], vendors[f"Extra {n}1"], vendors[f"Extra {n}2"]) == (shop, shop, shop)


def test_the_cards_price_box_beats_a_price_quoted_in_its_description() -> None:
    rows = "".join(
        f"<tr><td><a href='/product/{n}'>Nug Prerolls {n}</a><br/>"
        f"<span class='smtext'>Bulk prices start at {n}.00 USD/preroll!</span></td>"
        f"<td class='price gridalt'><span class='listprice'>Buy 1 For</span>"
        f"<span class='listprice'>1{n}.00 USD/preroll</span><span class='listprice_alt'>0.0010{n} BTC/preroll</span></td>"
        f"<td><a href='/user/seller{n}'>seller{n}</a></td></tr>" for n in (1, 2, 3))
    page = read(f"<html><head><title>Weed</title></head><body><table>{rows}</table></body></html>", "/category/5")
    assert [(card["price"], card["price_unit"], card["crypto_prices"]) for card in page.cards] == [
        (Price(float(f"1{n}"), "USD"), "preroll", [Price(float(f"0.0010{n}"), "BTC")]) for n in (1, 2, 3)]


def test_table_rows_read_by_their_column_headers() -> None:
    """A table whose header row names its columns: the title is the "title" cell (not the first
    link, a category), shipping and vendor come from their columns."""
    rows = "".join(
        f"<tr><td><a href='/category/26'>Cocaine</a></td><td><a href='/market/item/item_{n}'>{n}G of Pure Item</a></td>"
        f"<td>฿0.0{n}81</td><td>Worldwide</td><td>Germany</td><td>seller{n}</td><td><a href='/add_basket/{n}'>add to cart</a></td></tr>"
        for n in (1, 2, 3))
    html = ("<html><head><title>Items</title></head><body><table class='msgtable'><tbody><tr><th>category</th><th>title</th>"
            "<th>price</th><th>ship to</th><th>ship from</th><th>vendor</th><th>&nbsp;</th></tr>"
            f"{rows}</tbody></table></body></html>")
    page = read(html, "/search")
    assert page.page_type == "category"
    assert [(card["title"], card["url"].rsplit("/", 1)[1], card["price"], card["ships_from"], card["ships_to"], card["vendor"])
            for card in page.cards] == [
        (f"{n}G of Pure Item", f"item_{n}", Price(float(f"0.0{n}81"), "BTC"), ["DE"], ["WW"], f"seller{n}") for n in (1, 2, 3)]


def test_a_route_under_a_ships_from_label_gives_origin_and_destination() -> None:
    html = ("<html><head><title>Purple Tangie 112g</title></head><body><h2>Purple Tangie 112g</h2>"
            "<div><label>Price:</label><span>485.00 USD/112g</span><span>(0.05199685 BTC/112g)</span></div>"
            "<div><label>Ships from:</label><div class='lbllist'>United States &rarr; Worldwide</div></div>"
            "<form><label>BUY NOW</label><input type='text' name='quantity'/></form></body></html>")
    page = read(html, "/product/19928603")
    assert page.page_type == "listing"
    assert (page.listing["price"], page.listing["price_unit"]) == (Price(485.0, "USD"), "112g")
    assert (page.listing["ships_from"], page.listing["ships_to"]) == (["US"], ["WW"])


def test_open_graph_product_meta_names_a_detail_page_beside_a_grid() -> None:
    """Open Graph product meta (og:type product, product:price:amount/currency, og:title) says the
    page is one product's, with its price, though the page prints the amount without a currency
    and a grid of three related products follows."""
    related = "".join(_woo_card(f"r{n}", f"Related thing {n}", f"{n}.00") for n in (1, 2, 3))
    html = ("<html><head><title>Gnome Plans | Shop</title>"
            "<meta property='og:type' content='product'/><meta property='og:title' content='Gnome Plans'/>"
            "<meta property='product:price:amount' content='7.50'/><meta property='product:price:currency' content='EUR'/>"
            "</head><body><h1>Gnome Plans</h1><p class='amount'>7.50</p><button>Add to cart</button>"
            f"<h2>Related products</h2><ul class='products'>{related}</ul></body></html>")
    page = read(html, "/product/gnome-plans/")
    assert page.page_type == "listing"
    assert (page.listing["title"], page.listing["price"]) == ("Gnome Plans", Price(7.5, "EUR"))
    assert len(page.cards) == 3


def test_a_bold_label_after_other_text_still_labels_its_value() -> None:
    html = ("<html><head><title>Profile</title></head><body><div>Store profile <b>Vendor</b> <a href='/u/keenbean'>keenbean</a>"
            "</div><p>Member since: 2021-02-03</p><p>Sales: 41</p></body></html>")
    page = read(html, "/u/keenbean")
    assert (page.page_type, page.vendor["name"]) == ("vendor", "keenbean")


def test_a_site_name_in_the_title_and_banner_does_not_outvote_the_profile_heading() -> None:
    html = ("<html><head><title>DarkBazaar</title></head><body><div class='banner'>DarkBazaar</div>"
            "<h1>keenbean</h1><p>Member since: 2021-02-03</p><p>Sales: 41</p></body></html>")
    page = read(html, "/u/keenbean")
    assert (page.page_type, page.vendor["name"]) == ("vendor", "keenbean")
