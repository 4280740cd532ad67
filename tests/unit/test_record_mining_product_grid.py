"""Product grids of shop engines (issue 10, round 2): minimal hand-written fixtures, one rule each.

A multi-vendor shop's grid card: an image link and a title link to the product under "/shop/",
a category line above the title, a price box (on sale: a struck-through old price and the current
one; or a range of two amounts), and a "Store:" line linking the vendor under "/store/".
Expected values are written by hand.
"""

from __future__ import annotations

from parsel import Selector

from crawler.extractors.generic_page import read_generic_page
from crawler.extractors.page_tree import build_page_tree
from crawler.extractors.prices import Price
from crawler.extractors.record_mining import mine_cards

HOST = "e" * 56 + ".onion"
URL = f"http://{HOST}/product-category/seeds/"


def cards_of(html: str):  # type: ignore[no-untyped-def]
    return mine_cards(build_page_tree(Selector(text=html).root), URL)


def grid_card(slug: str, name: str, price_box: str, store: str) -> str:
    return (f"<div class='col product'><div class='box'><div class='box-image'>"
            f"<a href='/shop/{slug}/'><img src='/img/{slug}.jpg' alt=''></a></div>"
            f"<div class='box-text'><div class='title-wrapper'><p class='category'>Seeds</p>"
            f"<p class='name product-title'><a href='/shop/{slug}/'>{name}</a></p></div>"
            f"<div class='price-wrapper'><span class='price'>{price_box}</span></div></div></div>"
            f"<div class='sold-by'><span>Store: </span><a href='/store/{store.lower()}'>{store}</a></div></div>")


def amount(value: str) -> str:
    return f"<span class='amount'><bdi><span class='symbol'>$</span>{value}</bdi></span>"


PLAIN = amount("300.00")
SALE = (f"<del aria-hidden='true'>{amount('250.00')}</del> <span class='screen-reader-text'>Original price was: $250.00."
        f"</span><ins aria-hidden='true'>{amount('230.00')}</ins><span class='screen-reader-text'>Current price is: "
        "$230.00.</span>")
RANGE = f"{amount('235.00')} &#8211; {amount('2,000.00')}"

GRID = ("<html><body><div class='header'><a href='/cart/'>Cart <span class='amount'>$0.00</span></a></div>"
        "<div class='products row'>"
        + grid_card("afghan-seeds", "Afghan Seeds (100 Pieces)", PLAIN, "Trader")
        + grid_card("big-bud-auto", "Big Bud Automatic Seeds", SALE, "Trader")
        + grid_card("lemon-kush", "Lemon Kush Seeds", RANGE, "Surf")
        + grid_card("top-44", "Top 44 Seeds", amount("220.00"), "Surf")
        + "</div></body></html>")


def test_product_links_under_a_shop_path_are_the_card_url_beside_a_labelled_store_link() -> None:
    """"/shop/<slug>/" is a product on shop engines and a vendor's shop elsewhere: where a "Store:"
    label names the vendor's link, the href the card links from its image and title is the card's."""
    cards = cards_of(GRID)
    assert [card.url for card in cards] == [
        f"http://{HOST}/shop/{slug}/" for slug in ("afghan-seeds", "big-bud-auto", "lemon-kush", "top-44")]
    assert [card.vendor for card in cards] == ["Trader", "Trader", "Surf", "Surf"]
    assert cards[0].vendor_url == f"http://{HOST}/store/trader"


def test_the_innermost_title_classed_element_is_the_title_not_its_wrapper() -> None:
    """A "title-wrapper" holding the category line and the product title is not the title."""
    assert [card.title for card in cards_of(GRID)] == [
        "Afghan Seeds (100 Pieces)", "Big Bud Automatic Seeds", "Lemon Kush Seeds", "Top 44 Seeds"]


def test_a_struck_through_old_price_gives_way_to_the_current_one() -> None:
    """<del>$250.00</del> <ins>$230.00</ins> with screen-reader text "Original price was ...": $230.00."""
    cards = cards_of(GRID)
    assert [(card.price.amount, card.price.currency) for card in cards] == [
        (300.0, "USD"), (230.0, "USD"), (235.0, "USD"), (220.0, "USD")]
    struck = GRID.replace("<del aria-hidden='true'>", "<s>").replace("</del>", "</s>")
    assert cards_of(struck)[1].price.amount == 230.0


def test_a_range_printed_as_two_amount_elements_is_one_price_with_its_high_end() -> None:
    """"$235.00 – $2,000.00" in two amount elements: 235 USD up to 2000."""
    lemon = cards_of(GRID)[2]
    assert (lemon.price.amount, lemon.price.amount_max, lemon.price.currency) == (235.0, 2000.0, "USD")
    assert lemon.price_text == "$ 235.00 – $ 2,000.00"


def test_a_grid_of_shop_products_is_a_category_page_with_one_listing_per_card() -> None:
    page = read_generic_page(Selector(text=GRID), URL)
    assert page.page_type == "category"
    assert [(card["title"], card["price"], card["vendor"]) for card in page.cards] == [
        ("Afghan Seeds (100 Pieces)", Price(300.0, "USD"), "Trader"),
        ("Big Bud Automatic Seeds", Price(230.0, "USD"), "Trader"),
        ("Lemon Kush Seeds", Price(235.0, "USD"), "Surf"),
        ("Top 44 Seeds", Price(220.0, "USD"), "Surf")]


def test_select_options_and_quick_view_buttons_are_never_a_title() -> None:
    """A variable product's "Select options" button links the product page like its title does;
    the button's longer text is not the title."""
    item = ("<li class='product'><a href='/p/{n}'><img src='/i/{n}.jpg' alt=''></a><a href='/p/{n}'>Kush {n}</a>"
            "<span class='amount'>${n}0.00</span><a href='/p/{n}' class='button'>Select options</a>"
            "<a href='/p/{n}' class='button'>Quick View</a></li>")
    html = "<html><body><ul class='products'>" + "".join(item.format(n=n) for n in (1, 2, 3)) + "</ul></body></html>"
    assert [(card.title, card.price.amount) for card in cards_of(html)] == [
        ("Kush 1", 10.0), ("Kush 2", 20.0), ("Kush 3", 30.0)]



def test_an_old_price_named_by_its_class_gives_way_to_the_new_one() -> None:
    """Other shop engines mark the old price by class, not by <del>: "price-old" / "price-new"
    (with an "Ex Tax" line after), "old-price" / "special-price"."""
    first = ("<div class='product-thumb'><h4><a href='/index.php?product_id={n}'>Phone {n}</a></h4>"
             "<p class='price'><span class='price-new'>${n}8.00</span> <span class='price-old'>${n}9.00</span>"
             "<span class='price-tax'>Ex Tax: ${n}0.00</span></p></div>")
    second = ("<li class='item'><h2 class='product-name'><a href='/catalog/item-{n}.html'>Lamp {n}</a></h2>"
              "<div class='price-box'><p class='old-price'><span class='price'>€{n}5,00</span></p>"
              "<p class='special-price'><span class='price'>€{n}2,50</span></p></div></li>")
    for template, expected in ((first, [(18.0, "USD"), (28.0, "USD"), (38.0, "USD")]),
                               (second, [(12.5, "EUR"), (22.5, "EUR"), (32.5, "EUR")])):
        html = "<html><body><div class='row'>" + "".join(template.format(n=n) for n in (1, 2, 3)) + "</div></body></html>"
        assert [(card.price.amount, card.price.currency) for card in cards_of(html)] == expected


def test_a_product_page_on_sale_gives_its_current_price() -> None:
    """A detail page's price box with a struck-through old price and the current one: the current one."""
    html = ("<html><head><title>Kush Seeds - Shop</title></head><body><div class='product'>"
            "<h1 class='product_title'>Kush Seeds</h1>"
            f"<p class='price'>{SALE}</p>"
            "<div class='sold-by'>Store: <a href='/store/trader'>Trader</a></div>"
            "<form class='cart'><button>Add to cart</button></form></div></body></html>")
    page = read_generic_page(Selector(text=html), f"http://{HOST}/shop/kush-seeds/")
    assert page.page_type == "listing"
    assert (page.listing["title"], page.listing["price"], page.listing["vendor"]) == (
        "Kush Seeds", Price(230.0, "USD"), "Trader")


def test_a_one_shop_grid_whose_product_links_sit_under_shop_gives_one_card_each() -> None:
    """A shop without vendors links its products under "/shop/<slug>/" and names no store: the link
    around (or inside) the card's title is the product's, not a vendor's page; each card keeps it."""
    item = ("<li class='product'><a href='/shop/thing-{n}/'><img src='/t{n}.jpg' alt=''>"
            "<h2 class='product-title'>Thing {n}</h2></a><span class='price'>${n}.50</span>"
            "<a href='?add-to-cart={n}' class='button'>Add to cart</a></li>")
    html = "<html><body><ul class='products'>" + "".join(item.format(n=n) for n in (1, 2, 3)) + "</ul></body></html>"
    cards = cards_of(html)
    assert [(card.title, card.url, card.vendor) for card in cards] == [
        (f"Thing {n}", f"http://{HOST}/shop/thing-{n}/", None) for n in (1, 2, 3)]
    page = read_generic_page(Selector(text=html), URL)
    assert [(card["title"], card["price"]) for card in page.cards] == [
        ("Thing 1", Price(1.5, "USD")), ("Thing 2", Price(2.5, "USD")), ("Thing 3", Price(3.5, "USD"))]
