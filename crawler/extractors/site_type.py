"""Site types: what kind of site one page shows, with a confidence and the evidence, by rules over its structure.

The rules read what the extraction already found -- the login-wall detector,
forum posts (:mod:`crawler.extractors.forum_thread`), listings and vendors, the
market profile that matched -- and a few counts of the page itself:

* links that go to forum threads, boards and members (Discourse's /t/ and /c/ too),
  the counts a board index prints beside its boards, and the labels a forum
  prints in every post ("Joined:", "Posts:", "Reply", "Quote"): a thread is a
  forum even where the post extractor read no posts;
* links to sellers' pages: a market's cards link to many sellers, a one-seller
  shop's to none;
* a form that is the whole page and says it checks for robots or DDoS (an image
  or puzzle CAPTCHA whose fields have no telling name), or a few words of such a
  check and no form (an anti-DDoS queue), or an almost empty page that waits,
  reloads itself or loads the site by script (an interstitial);
* evidence of several sellers (vendors named on cards, sellers' links, seller
  labels such as "Vendor:", sellers named three times): without it a page
  of listings and trade words is one seller's shop, not a market; and a page
  that offers its goods in the first person ("we sell", "I provide", "our
  products") is one seller talking, whatever it says of other vendors;
* the signs of a page that sells (words of trade used, a first-person offer, a
  printed price): two of them, at a density prose does not reach, make a shop
  where no listing was read -- the default for a page of trade that nothing
  else claims;
* a search box with little else (a search engine's front page), words of a blog
  or news page (an article that talks of selling is still an article);
* labels a leak site prints once per victim ("Revenue:", "Leak size:", "publication
  date"): such entries are victims, not goods, whatever listings were read;
* a title that names a market beside a list of category links (a market's front
  page before any product);
* distinct onions linked; words of trade (with or without evidence of several
  sellers), of forums, of paste software and of directories.

The login-wall detector's verdict weighs more than words or any one piece of
structure, not more than a page's whole structure: a topic list with a sign-in
box beside it is a forum.

Words alone count for little: a page about forums or an article that says
"verified" and "phishing" is neither a forum nor a directory without the
structure of one.  Each rule that fires adds weight to one type and says why;
the type with the most weight wins, and its weight (capped below 1) is the
confidence.  Rules, not a trained model: nothing is downloaded and the evidence
is readable.  ``bench/site_types.py`` measures them on the real saved pages, and
beside them a naive Bayes over page words trained leave-one-site-out (it did
worse than the rules, so it is not used).

Public API:

* :class:`PageSignals` -- what the rules read (plain values; :func:`signals_of_page` builds it);
* :class:`SiteTypeGuess` -- ``site_type`` (a value of :data:`config.site_types.SITE_TYPES`),
  ``confidence`` (0..1), ``evidence`` (short sentences);
* :func:`classify_page` (signals) -> :class:`SiteTypeGuess`;
* :func:`weigh_page` (signals) -> the weight and evidence of every type a rule gave weight to;
* :func:`signals_of_page` (...) -> :class:`PageSignals`.

Pure functions; never raises on hostile input.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import SplitResult, parse_qsl, urlsplit

from config.site_types import OTHER

MAX_CONFIDENCE = 0.99
# What the login-wall detector's verdict weighs: more than any words or one piece of structure, less than a
# page's whole structure (posts and thread links, a category page of listings with their vendors).
WALL_DETECTOR_WEIGHT = 1.0
# Paths and queries of the forum software onion forums run (vBulletin, MyBB, phpBB, XenForo,
# Invision, SMF, Discourse): a board index links to many of them.
# XenForo 1 and other software routed through the query put the route after "?": index.php?threads/x.12/.
# A forum's root with a query (/forum?section=general) is a board; Postmill and other Reddit-like boards put
# a submission at /f/<forum>/<id>/<slug> (/r/<name>/comments/<id>); Discourse a topic at /t/<slug>/<id> and a
# category at /c/<slug>/<id>.  (The path is read with a "?" after it.)
_FORUM_LINK = re.compile(
    r"(?i)(?:showthread\.php|forumdisplay\.php|viewtopic\.php|viewforum\.php|member\.php|memberlist\.php|"
    r"[/?&](?:threads?|forums?|topic|board|members?|profile)[/?]|[?&](?:topic|board|showtopic|showforum|t|f)=\d|"
    r"/[fr]/[^/?]{1,64}/(?:\d+|comments)[/?]|/[tc]/[^/?]{1,200}/\d+[/?])")
_MARKET_WORDS = ("escrow", "vendor", "add to cart", "ships from", "ships to", "shipping", "buy now", "finalize",
                 "listings", "feedback", "orders", "products", "in stock", "sold by", "price", "cart",
                 "продавец", "доставка", "купить", "цена")
# Words a market uses of the many sellers it hosts.
_SELLERS_WORDS = ("vendor", "vendors", "seller", "sellers", "sold by", "merchants", "shops", "продавец", "продавцы",
                  "продавца", "магазины", "магазинов")
# Words that only a market of several sellers uses: its vendors in the plural, the call to become one.
_SEVERAL_SELLERS = ("vendors", "sellers", "merchants", "become a vendor", "become vendor", "become a seller",
                    "top vendors", "our vendors", "vendor rating", "продавцы", "продавцов", "магазины", "магазинов")
# The words above, one token each, and how often a page that speaks of sellers names them.
_SELLER_TOKENS = frozenset(word for word in _SELLERS_WORDS + _SEVERAL_SELLERS if " " not in word)
MIN_SELLER_MENTIONS = 3
# A market labels the seller of each listing ("Vendor: name", "Seller : name", "Store: name", "Sold by name");
# a one-seller shop does not name itself so.
_SELLER_LABELS = ("vendor:", "seller:", "store:", "продавец:", "магазин:")
_FORUM_WORDS = ("thread", "threads", "posts", "replies", "last post", "members", "forum", "board", "topic",
                "reply", "joined", "reputation", "форум", "темы", "сообщений", "ответов", "пользователи")
# What a board index counts beside each board or thread ("12 posts", "Topics: 75"), in the languages above.
_FORUM_UNITS = frozenset({"posts", "topics", "threads", "replies", "messages", "сообщений", "тем", "ответов",
                          "konu", "mesaj", "beiträge", "themen", "temas", "mensajes", "respuestas", "sujets",
                          "réponses", "tópicos", "mensagens", "respostas", "discussioni", "messaggi", "risposte",
                          "wątki", "posty", "odpowiedzi"})
MIN_FORUM_COUNTS = 3
MIN_FORUM_COUNTS_UNLINKED = 6  # three boards of two counts each
# Labels a forum prints once per post, beside the author or under the message, in every post of a thread:
# "Joined:", "Posts:", "Reputation:", "Reply", "Quote", "Report" (and in Russian).  Words that prose uses
# as often ("said", "messages") count only as labels, with their colon: "... said:", "Messages:".
_POST_LABELS = ("joined", "registered", "posts", "reputation", "reply", "quote", "report", "permalink",
                "регистрация", "сообщений", "репутация", "ответить", "цитировать", "цитата", "жалоба",
                "пожаловаться")
_POST_COLON_LABELS = ("messages:", "said:", "wrote:", "сообщения:", "написал:", "пишет:")
# A label counts when it is printed this often (three posts at least), and a thread prints three labels.
MIN_POST_BLOCKS = 3
MIN_POST_LABELS = 3
# A word and the colon after it ("Joined:", "said :"): one match per word, so linear.
_LABEL_TOKEN = re.compile(r"\w+(?:[ \t]?:)?")
_DIRECTORY_WORDS = ("mirror", "mirrors", "directory", "verified", "is online", "last online", "status", "official",
                    "official links", "link list", "wiki", "onion links", "uptime", "pgp signed", "phished",
                    "phishing", "зеркал", "зеркала", "каталог")
# Words of trade a seller uses of its own goods, one word each, counted per use: buying, ordering, paying, a cart
# and its checkout, prices, delivery, escrow, a sale, hiring (English, Russian, German, Turkish, Spanish,
# Portuguese, French, Italian).  Two uses, or one beside a seller's first-person offer or a printed price, are a
# page that sells ("in order to" is no order).
_COMMERCE_WORDS = frozenset({
    "buy", "buying", "order", "orders", "ordering", "cart", "checkout", "purchase", "purchases", "purchasing",
    "escrow", "pay", "payment", "payments", "price", "prices", "pricing", "shipping", "delivery", "refund",
    "discount", "sale", "hire", "купить", "заказать", "заказ", "корзина", "цена", "цены", "оплата", "доставка",
    "приобрести", "kaufen", "bestellen", "preis", "preise", "versand", "satın", "sipariş", "fiyat", "ödeme",
    # Spanish, Portuguese, French, Italian
    "comprar", "compra", "precio", "precios", "carrito", "pago", "envío", "preço", "preços", "carrinho", "pagamento",
    "acheter", "achat", "prix", "panier", "commande", "commander", "paiement", "livraison", "acquista", "acquistare",
    "prezzo", "prezzi", "carrello", "ordine", "spedizione"})
MIN_COMMERCE_SIGNS = 2
# Words that ask for a donation (a project's or a person's page asks for money and sells nothing).
_DONATION_STEMS = ("donat", "spende", "пожертвова", "donar", "doaç")
# ... and a page of prose needs one sign per this many words: a notice or an article that says "order" once
# and "I provide" once in 600 words does not sell.
MAX_WORDS_PER_COMMERCE_SIGN = 250
# A seller speaking of its offer in the first person, in the present ("we sell", "I can provide", "we ship",
# "our products", "my services", "наши услуги", "wir bieten"): a market speaks so of its vendors' goods only
# where a vendor's text is shown, and an old notice ("I provided", "I offered") is no offer.
_SELLER_VOICE = re.compile(
    r"\b(?:we|i)(?:\s+(?:will|can|also|only|do|always|personally))?\s+(?:sell|offer|provide|ship|deliver|guarantee|"
    r"supply|hack)(?:s|ing)?\b|\b(?:our|my)\s+(?:products?|services?|shop|store|goods|prices?|clients|customers|"
    r"offers?|stock|work)\b|\b(?:наш\w*\s+(?:магазин\w*|услуг\w*|товар\w*|цен\w*)|мы\s+(?:продаем|продаём|предлагаем))|"
    r"\bwir\s+(?:bieten|verkaufen|liefern)\b|\bhizmetlerimiz\b|"
    r"\b(?:vendemos|ofrecemos|oferecemos|vendiamo|offriamo|nous\s+(?:vendons|proposons|offrons))\b|"
    r"\b(?:nuestr[oa]s|noss[oa]s|nos|nostri|nostre)\s+(?:productos|servicios|produtos|serviços|produits|services|"
    r"prodotti|servizi)\b")
# Words of a title that names a shop or services for hire (besides the words of trade above).
_SELLER_TITLE_WORDS = frozenset({"shop", "store", "services", "магазин", "услуги", "dienste", "mağaza"})
# A page that says so twice speaks as one seller (once may be a market's menu: "My Store").
MIN_SELLER_VOICE = 2

# Words of a blog, a news or an organisation's page: a page that says three of them is an article or a
# front page of writing, even where it speaks of selling or links a few onions.
_ARTICLE_WORDS = ("blog", "blog post", "article", "articles", "table of contents", "leave a reply",
                  "leave a comment", "posted on", "powered by wordpress", "read more", "newsletter", "press",
                  "archives", "subscribe to our newsletter")
MIN_ARTICLE_WORDS = 3
# Labels a ransomware or data-leak site prints once per victim it lists; a page that prints one of them this
# often lists victims ("leaked" alone is not one: a forum of leaks titles its threads so).
_LEAK_LABELS = ("leak size", "revenue", "publication date", "before publication", "download files", "data size",
                "files size", "размер утечки", "дата публикации")
MIN_LEAK_ENTRIES = 3
# A price in the page's words: "0.0005 BTC", "$1200", "1200 USD", "€50".
# A number starts where no digit, comma or dot stands before it, and is short: otherwise every digit of
# 1 MB of "1,1,1,..." would start a scan to the end of the text (quadratic).
_PRICE = re.compile(r"(?i)(?:[$€£]\s?\d[\d,.]{0,24}|(?<![\w,.])\d[\d,.]{0,24}\s?(?:btc|xmr|ltc|usd|eur|gbp|usdt)\b)")
# Links to a seller's page: a market's cards and listings link to their sellers, a one-seller shop links to
# none.  A path segment that names a seller followed by the seller's id (/vendor/name, /u/name, /store/name),
# or a query key that does (?seller=name).  "store", "shop" and "market" also start product and category
# paths (a shop's /shop/product-name/), so after them only a numeric id names a seller (/market/2535).
_SELLER_SEGMENTS = frozenset({"vendor", "vendors", "seller", "sellers", "merchant", "merchants"})
_MEMBER_SEGMENTS = frozenset({"user", "users", "u", "profile", "profiles"})
_SHOP_SEGMENTS = frozenset({"store", "stores", "shop", "shops", "market", "markets"})
_SELLER_KEYS = frozenset({"vendor", "seller", "merchant", "vendor_id", "seller_id", "vendorid", "sellerid"})
# Account and action pages under the same segments: never a seller's id.
_NOT_A_SELLER = frozenset({"login", "logout", "register", "signup", "signin", "account", "settings", "edit", "create",
                           "new", "index", "cart", "orders", "messages", "notifications", "tickets", "reviews",
                           "feedback", "items", "item", "search", "page", "me", "dashboard", "wallet", "list", "all",
                           "profile", "favorites", "become", "apply"})
# What a challenge page says of itself (anti-DDoS and CAPTCHA walls whose fields carry no telling name):
# words only a check uses, and words a check uses among others (a mixer's form also says "verify").
_WALL_WORDS = ("captcha", "ddos", "security check", "robot", "not a robot", "enter the characters",
               "enter the code", "enter the letters", "characters you see", "queue", "checking your browser",
               "капча", "капчу", "введите символы", "введите код", "очередь", "робот",
               # German and Turkish checks
               "kein roboter", "sicherheitsüberprüfung", "sicherheitsprüfung", "robot değilim", "güvenlik kontrolü",
               "güvenlik doğrulaması")
_WALL_HINTS = ("verify", "verification", "human", "you see", "protection", "challenge", "please wait",
               "проверка", "защита",
               # Spanish, Portuguese, French, Italian: the check and the code it asks for
               "verificación", "verificação", "vérification", "verifica", "humano", "humain", "umano", "código",
               "codice")
# A wall is little besides its form: at most this many links and words on the whole page.
MAX_WALL_LINKS = 10
MAX_WALL_WORDS = 400
# A wall without a form (a queue, a "checking your browser" page) is smaller still.
MAX_QUEUE_LINKS = 3
MAX_QUEUE_WORDS = 150
# A wall with almost nothing on it: an interstitial that waits, reloads or loads the site by script ("please
# wait", "one moment", "loading", "you will be redirected", "enable JavaScript"; also Polish, German, Russian,
# Turkish).  At most this many words, MAX_QUEUE_LINKS links, no error title.
_WAIT_WORDS = ("please wait", "one moment", "just a moment", "loading", "redirecting", "be redirected",
               "enable javascript", "javascript", "checking your browser", "being verified", "are you human",
               "you are human", "please stand by", "bitte warten", "einen moment", "czekać", "подождите",
               "загрузка", "перенаправление", "bekleyin", "yükleniyor")
MAX_INTERSTITIAL_WORDS = 40
# Field names of a search box or a sort control: a form of these only is not a challenge.
_SEARCH_FIELDS = frozenset({"q", "query", "search", "s", "keyword", "keywords", "term", "text", "find", "sort",
                            "category", "cat", "page"})
# What a search form's button says.
_SEARCH_BUTTONS = frozenset({"search", "search search", "find", "go", "поиск", "найти", "suchen", "ara"})
_ERROR_TITLE = re.compile(r"(?i)\b(?:error|not found|forbidden|unavailable|database error|404|403|500|502|503|"
                          r"ошибка)\b")
_PASTE_TITLE = re.compile(r"(?i)\b(?:paste|pastebin|ghostbin|privatebin|zerobin)\b")
# What paste software prints around a paste (Pastebin clones, PrivateBin, ZeroBin, Ghostbin): a paste site
# whose title does not say so still names pastes and its own controls.
_PASTE_NAMES = ("paste", "pastes", "pastebin", "privatebin", "zerobin", "ghostbin")
_PASTE_WORDS = _PASTE_NAMES + ("new paste", "show paste", "raw paste", "raw text", "burn after reading", "expires",
                               "expiration", "syntax highlighting", "paste archive", "public pastes", "views")
# A link list links many onions, or a few with little text around each.
MANY_ONIONS = 20
MAX_WORDS_PER_LISTED_ONION = 60
MAX_SHORT_DIRECTORY_WORDS = 400
# A search engine's front page is its search box: at most this many words and links besides it.  The search
# front pages of the corpus say 57-65 words; pages with a search box that are no search page (a project's home,
# a seller's page, an about page) 106 and more: the bound sits in the middle of that gap.
MAX_SEARCH_PAGE_WORDS = 85
MAX_SEARCH_PAGE_LINKS = 30
# A title that names a market ("MarketUSA", "Venus Marketplace", "Гидра маркет"), and the category links of its
# front page (/category/5, ?r=products&category=6, ?cat=3).
_MARKET_TITLE = re.compile(r"(?i)market|маркет")
_CATEGORY_KEYS = frozenset({"category", "categories", "cat", "category_id", "cid"})
MIN_CATEGORY_LINKS = 5
_WIKI = re.compile(r"(?i)(?:\bwiki\b|/wiki/|mediawiki)")


@dataclass(frozen=True)
class PageSignals:
    """What the rules read about one page."""

    url: str = ""
    status: int = 200
    title: str = ""
    text: str = ""
    links: tuple[str, ...] = ()
    onion_hosts_linked: int = 0
    login_wall: str | None = None
    extracted_page_type: str | None = None
    listing_count: int = 0
    listing_vendors: int = 0
    # Distinct sellers' pages linked (see _seller_links): all of them, and those under a vendor/seller segment.
    sellers_linked: int = 0
    vendors_linked: int = 0
    # A form with fields to fill in and no password field; a search box (see _forms_of).
    challenge_form: bool = False
    search_form: bool = False
    # The page reloads or leaves by itself (a meta refresh, a script that sets location or reloads).
    reloads: bool = False
    vendor_profile: bool = False
    post_count: int = 0
    market_profile: str | None = None


@dataclass(frozen=True)
class SiteTypeGuess:
    site_type: str
    confidence: float
    evidence: tuple[str, ...] = field(default_factory=tuple)

    def to_doc(self) -> dict[str, object]:
        return {"site_type": self.site_type, "site_type_confidence": self.confidence,
                "site_type_evidence": list(self.evidence)}


_TOKEN = re.compile(r"\w+")


def _grams(words: list[str]) -> frozenset[str]:
    """Every word, word pair and word triple of ``words`` (lower case): phrases are looked up, not searched for."""
    grams = set(words)
    grams.update(" ".join(words[i:i + 2]) for i in range(len(words) - 1))
    grams.update(" ".join(words[i:i + 3]) for i in range(len(words) - 2))
    return frozenset(grams)


def _words_found(grams: frozenset[str], words: Iterable[str]) -> list[str]:
    return [word for word in words if word in grams]


def classify_page(signals: PageSignals) -> SiteTypeGuess:
    """The site type of one page (see the module docstring); never raises."""
    weight, evidence = weigh_page(signals)
    if signals.login_wall:
        # The detector finds a login or CAPTCHA form with little else beside it.  Where the rest of the page still
        # weighs more -- posts read, a topic list with its counts, listings -- the form sits beside that content
        # (a forum's sign-in box over its topic list), and the content is what the page is.
        rival = max(weight, key=lambda name: weight[name], default=None)
        if rival is None or rival == "login-wall" or weight[rival] <= WALL_DETECTOR_WEIGHT:
            return SiteTypeGuess("login-wall", 0.95, (f"login-wall detector: {signals.login_wall}",))
        evidence[rival].append(f"outweighs the login-wall detector ({signals.login_wall}): a form beside content")
    if not weight:
        return SiteTypeGuess(OTHER, 0.3, ("no rule fired",))
    best = max(weight, key=lambda name: (weight[name], name == OTHER))
    return SiteTypeGuess(best, round(min(MAX_CONFIDENCE, weight[best]), 2), tuple(evidence[best]))


def weigh_page(signals: PageSignals) -> tuple[dict[str, float], dict[str, list[str]]]:
    """The weight each rule that fired gave each site type, and why (what :func:`classify_page` decides on)."""
    weight: dict[str, float] = defaultdict(float)
    evidence: dict[str, list[str]] = defaultdict(list)

    def add(site_type: str, amount: float, why: str) -> None:
        weight[site_type] += amount
        evidence[site_type].append(why)

    text = signals.text[:50_000].lower()
    tokens = _TOKEN.findall(text)
    grams = _grams(tokens)
    title = signals.title[:300]
    title_grams = _grams(_TOKEN.findall(title.lower()))
    if signals.status >= 400:
        add(OTHER, 0.7, f"HTTP status {signals.status}")
    error_title = bool(_ERROR_TITLE.search(title))

    # A page that is one form to fill in, a few words and hardly a link, and says it checks for robots or DDoS:
    # an image or puzzle CAPTCHA whose fields the login-wall detector does not know by name.
    small = len(tokens) <= MAX_WALL_WORDS and len(signals.links) <= MAX_WALL_LINKS
    if small:
        page_grams = grams | title_grams  # a short page: the union is small
        strong, hints = _words_found(page_grams, _WALL_WORDS), _words_found(page_grams, _WALL_HINTS)
        said = ", ".join((strong + hints)[:6])
        if signals.challenge_form and (strong or len(hints) >= 2):
            add("login-wall", 0.9, f"a form, {len(tokens)} words and {len(signals.links)} links: a challenge page ({said})")
        elif (not signals.challenge_form and not signals.search_form and strong and len(strong) + len(hints) >= 2
              and len(signals.links) <= MAX_QUEUE_LINKS and len(tokens) <= MAX_QUEUE_WORDS):
            # An anti-DDoS queue or "checking your browser" interstitial has no form at all: a few words of a check.
            add("login-wall", 0.6, f"{len(tokens)} words and {len(signals.links)} links, of a check: {said}")

    # An interstitial: almost nothing on the page but a wait, a reload or a script that loads the site.
    if (len(tokens) <= MAX_INTERSTITIAL_WORDS and len(signals.links) <= MAX_QUEUE_LINKS and signals.status < 400
            and not error_title and not signals.listing_count and not signals.post_count):
        waits = _words_found(grams | title_grams, _WAIT_WORDS)
        if waits or signals.reloads:
            said = ", ".join(waits[:4]) or "the page reloads itself"
            add("login-wall", 0.6, f"{len(tokens)} words and {len(signals.links)} links: an interstitial ({said})")

    # Markets: what the extraction found, then the words of trade.
    if signals.market_profile:
        add("market", 0.9, f"matches the market profile {signals.market_profile}")
    if signals.extracted_page_type in ("listing", "category"):
        add("market", 0.7, f"a {signals.extracted_page_type} page")
    if signals.vendor_profile or signals.extracted_page_type == "vendor":
        add("market", 0.6, "a vendor profile")
    if signals.listing_count:
        add("market", 0.5 if signals.listing_count < 3 else 0.7, f"{signals.listing_count} listings")
    # A market's front page: its title names a market and it links many categories, with no product shown yet.
    market_front = False
    if (_MARKET_TITLE.search(title) and not signals.listing_count and not signals.post_count
            and signals.extracted_page_type not in ("listing", "category", "vendor")):
        categories = _category_links(signals.links)
        if categories >= MIN_CATEGORY_LINKS:
            market_front = True
            add("market", 0.3, f"the title names a market; links to {categories} categories")
    trade = _words_found(grams, _MARKET_WORDS)

    # Forums: posts, links to threads and boards, forum words.
    if signals.post_count:
        add("forum", 0.9 if signals.post_count >= 2 else 0.6, f"{signals.post_count} forum posts")
    forum_links = sum(1 for parts in map(_split, signals.links)
                      if parts is not None and _FORUM_LINK.search(parts.path + "?" + parts.query))
    if forum_links >= 5:
        add("forum", 0.6 if forum_links >= 15 else 0.4, f"{forum_links} links to threads, boards or members")
    # A board index prints the size of every board or thread: "12 posts", "Topics: 75", "3 replies".
    sizes = sum(1 for first, second in zip(tokens, tokens[1:])
                if (first.isdigit() and second in _FORUM_UNITS) or (second.isdigit() and first in _FORUM_UNITS))
    # A few counts are any statistics page's ("Total posts 27243"): without two links to threads, boards or members
    # (one may be a social profile) a board index prints two for each of three boards at least.
    if sizes >= (MIN_FORUM_COUNTS if forum_links >= 2 else MIN_FORUM_COUNTS_UNLINKED):
        add("forum", 0.6 if sizes >= 10 else 0.4, f"{sizes} counts of posts, topics or replies")
    # An error page has none of a forum's or a market's structure: a title that says error ("Project 404 -
    # Forum") does not win over boards linked, posts or listings.
    if (error_title and signals.listing_count == 0 and signals.post_count == 0 and forum_links < 5
            and sizes < MIN_FORUM_COUNTS):
        add(OTHER, 0.6, "the title says error")
    # A thread's posts repeat their labels, whether or not the post extractor read the posts themselves.
    counts: Counter[str] = Counter()
    for match in _LABEL_TOKEN.finditer(text):
        token = match.group().replace(" ", "").replace("\t", "")
        if token in _POST_COLON_LABELS or token in _SELLER_LABELS:
            counts[token] += 1
        elif token.rstrip(":") in _POST_LABELS:
            counts[token.rstrip(":")] += 1
    repeated = [label for label in _POST_LABELS + _POST_COLON_LABELS if counts[label] >= MIN_POST_BLOCKS]
    if len(repeated) >= MIN_POST_LABELS:
        # Five labels weigh as much as posts the extractor read.
        add("forum", min(0.9, 0.2 * len(repeated)),
            "labels repeated in post blocks: " + ", ".join(f"{label} x{counts[label]}" for label in repeated[:6]))
    chat = _words_found(grams, _FORUM_WORDS)
    # Any page about forums says "forum", "members", "board": without a forum's structure (posts, post
    # labels, a link to a thread, board or member) three such words are talk about forums, not a forum.
    forum_structure = "forum" in weight or forum_links > 0
    if len(chat) >= (3 if forum_structure else 4):
        add("forum", min(0.5, 0.1 * len(chat)), "forum words: " + ", ".join(chat[:6]))

    # Link lists, pastes, wikis and directories.
    words = max(1, len(text.split()))
    # A list of links is mostly its links: a blog or an organisation's page that links a few onions among much
    # prose is not one.
    dense = (signals.onion_hosts_linked >= MANY_ONIONS
             or words / max(1, signals.onion_hosts_linked) < MAX_WORDS_PER_LISTED_ONION)
    if signals.onion_hosts_linked >= 8 and signals.listing_count == 0 and dense:
        add("link-list", 0.5 + min(0.4, signals.onion_hosts_linked / 100), f"links to {signals.onion_hosts_linked} onions")
        if words / signals.onion_hosts_linked < 25:
            add("link-list", 0.2, "little text besides the links")
    if _PASTE_TITLE.search(title):
        add("link-list", 0.6, "the title names a paste site")
    pasted = _words_found(grams, _PASTE_WORDS)
    if len(pasted) >= 3 and _words_found(grams, _PASTE_NAMES) and signals.listing_count == 0:
        add("link-list", 0.5, "words of a paste site: " + ", ".join(pasted[:6]))
    # A search engine's front page: a search box and little else (a few words, a few links).
    if (signals.search_form and len(tokens) <= MAX_SEARCH_PAGE_WORDS and len(signals.links) <= MAX_SEARCH_PAGE_LINKS
            and not signals.listing_count and not signals.post_count and not signals.challenge_form):
        add("directory", 0.4, f"a search box, {len(tokens)} words and {len(signals.links)} links: a search page")
    if _WIKI.search(title) or _WIKI.search(urlsplit(signals.url).path):
        add("directory", 0.7, "a wiki")
    listed = _words_found(grams, _DIRECTORY_WORDS)
    # Markets warn of phishing and list their mirrors too: a directory is a page that does not trade.  And it lists
    # other sites: a page that links no onion and says "official", "status", "verified" is talk (a seller's page).
    # Two such words ("verified", "official") are any article's or seller's; a directory says more of them
    # or links to the onions it lists on a short page (a long page that says two such words among much else is
    # an article or an organisation's page).
    if signals.onion_hosts_linked > 0 and ((len(listed) >= 3 or (len(listed) >= 2
                              and len(tokens) <= MAX_SHORT_DIRECTORY_WORDS))
            and signals.listing_count == 0 and signals.post_count == 0 and len(trade) < 3):
        add("directory", min(0.6, 0.15 * len(listed)) + (0.1 if 0 < signals.onion_hosts_linked < 8 else 0),
            "words of a directory: " + ", ".join(listed[:6]))

    # A shop of one vendor: listings, and no vendor named on any of them or any vendor profile.  One listing
    # counts only on a listing page that says nothing of vendors (a market's listing page names its vendor).
    # Cards that link to several sellers' pages, or a listing that links to its vendor's, name their sellers
    # even where the extraction read no vendor field (a seller shown as a shop's name, a "by NAME" line).
    links_sellers = (signals.vendors_linked >= 1 if signals.extracted_page_type == "listing"
                     else signals.sellers_linked >= 2)
    if links_sellers and (signals.listing_count or signals.extracted_page_type in ("listing", "category")):
        add("market", 0.3, f"links to {signals.sellers_linked} sellers' pages")
    # A market is the evidence of several sellers: vendors named on its listings or linked, a vendor's profile,
    # a market profile, a label per listing ("Vendor:", "Sold by"), a title that names a market over a category
    # tree.  Words that name vendors or sellers count too, three of them, unless the page speaks as one seller in
    # the first person ("we sell ...; you won't find it cheaper from other vendors"): then they are its own talk.
    voice = _SELLER_VOICE.findall(text)
    labelled = [label for label in _SELLER_LABELS if counts[label]] + (["sold by"] if "sold by" in grams else [])
    talk: Counter[str] = Counter()
    if len(voice) < MIN_SELLER_VOICE:
        talk.update(token for token in tokens if token in _SELLER_TOKENS)
        talk.update(phrase for phrase in _words_found(grams, _SEVERAL_SELLERS) if " " in phrase)
    several = labelled + ([f"{word} x{count}" for word, count in talk.most_common(4)]
                          if sum(talk.values()) >= MIN_SELLER_MENTIONS else [])
    structure = (signals.listing_vendors > 0 or signals.vendor_profile or signals.extracted_page_type == "vendor"
                 or bool(signals.market_profile) or links_sellers or market_front)
    several_sellers = structure or bool(several)
    # Words of trade are any seller's; with no evidence of several sellers they are one seller's shop talking
    # (on a forum's page -- posts, five links to threads, boards or members -- its members' talk).
    forum_page = signals.post_count > 0 or forum_links >= 5
    if len(trade) >= 3 and (several_sellers or not forum_page):
        add("market" if several_sellers else "vendor-shop", min(0.6, 0.1 * len(trade)),
            "words of trade: " + ", ".join(trade[:6]) + ("" if several_sellers else "; no evidence of several sellers"))
    if not several_sellers and signals.listing_count >= 1:
        add("vendor-shop", weight["market"] + 0.05, "listings that name no vendor: one seller's shop")
    # A seller's own page often has no listing cards at all: it offers its goods or services in the first person,
    # prints prices, and says buy, order, pay, cart.  Any two such signs make a shop, weighed 0.2-0.5: an article
    # about selling or a leak site says more of its own kind.  (A page that links five threads, boards or members
    # is a forum's, where members offer and buy, whether or not its posts were read.)
    seller_page = (signals.listing_count == 0 and not signals.vendor_profile and signals.post_count == 0
                   and not signals.market_profile and not several_sellers and not forum_page)
    if seller_page:
        uses = Counter(token for previous, token in zip(["", *tokens], tokens)
                       if token in _COMMERCE_WORDS and not (token == "order" and previous == "in"))
        # A title that names a shop or its services ("Hacking Services - Hire a Hacker") says one word more, where
        # it does not repeat the text's (a title repeats the page's heading).
        uses.update({token: 1 for token in title_grams
                     if (token in _COMMERCE_WORDS or token in _SELLER_TITLE_WORDS) and token not in uses})
        prices = len(_PRICE.findall(text))
        # A page that asks for donations speaks of paying without selling: each ask takes one sign away.
        asks = sum(1 for token in tokens if token.startswith(_DONATION_STEMS))
        signs = sum(uses.values()) + len(voice) + (1 if prices else 0) - asks
        if signs >= max(MIN_COMMERCE_SIGNS, len(tokens) / MAX_WORDS_PER_COMMERCE_SIGN) and (uses or voice):
            said = [f"{word} x{count}" for word, count in uses.most_common(4)] + sorted(set(voice))[:3]
            add("vendor-shop", min(0.5, 0.1 + 0.1 * min(3, len(uses)) + (0.1 if voice else 0) + (0.1 if prices else 0)),
                "a seller's own page: " + ", ".join(said) + (f"; {prices} prices" if prices else ""))
    written = _words_found(grams, _ARTICLE_WORDS)
    if len(written) >= MIN_ARTICLE_WORDS and not signals.listing_count and not signals.post_count:
        add(OTHER, min(0.6, 0.15 * len(written)), "words of a blog, news or organisation's page: "
            + ", ".join(written[:6]))
    # A ransomware or data-leak site labels each victim it lists ("Revenue: $170 million", "Leak size: 176.4GB",
    # "publication date", "Show/Download files"): its entries are victims, not one seller's or a market's goods.
    if not signals.post_count:
        joined = " " + " ".join(tokens) + " "
        leaks = [(phrase, joined.count(f" {phrase} ")) for phrase in _LEAK_LABELS]
        leaks = [(phrase, count) for phrase, count in leaks if count >= MIN_LEAK_ENTRIES]
        if leaks:
            add(OTHER, max(weight.values(), default=0.55) + 0.05, "entries labelled as a leak site's victims: "
                + ", ".join(f"{phrase} x{count}" for phrase, count in leaks[:4]))
    return dict(weight), dict(evidence)


def _split(link: str) -> SplitResult | None:
    """``urlsplit(link)``, or None for a link it refuses (a malformed host such as ``http://[x``)."""
    try:
        return urlsplit(link)
    except ValueError:
        return None


def _category_links(links: Iterable[str]) -> int:
    """Distinct category pages linked: a path segment ``category``/``categories`` followed by a name, or a query
    key that names a category."""
    found: set[str] = set()
    for parts in map(_split, links):
        if parts is None:
            continue
        segments = [segment.lower() for segment in parts.path.split("/") if segment][:12]
        if any(segment in ("category", "categories") for segment in segments[:-1]) or any(
                key.lower() in _CATEGORY_KEYS and value for key, value in parse_qsl(parts.query[:500])):
            found.add(parts.netloc + parts.path + "?" + parts.query[:500])
    return len(found)


def _seller_links(links: Iterable[str]) -> tuple[int, int]:
    """(distinct sellers' pages linked, those of them under a vendor/seller/merchant segment or key)."""
    sellers: set[tuple[str, str]] = set()
    vendors: set[tuple[str, str]] = set()
    for parts in map(_split, links):
        if parts is None:
            continue
        segments = [segment for segment in parts.path.split("/") if segment][:12]
        found = [(segment.lower(), name) for segment, name in zip(segments, segments[1:])
                 if len(name) <= 64 and "." not in name and name.lower() not in _NOT_A_SELLER
                 and (segment.lower() in _SELLER_SEGMENTS or segment.lower() in _MEMBER_SEGMENTS
                      or (segment.lower() in _SHOP_SEGMENTS and name.isdigit()))]
        found += [(key.lower(), value) for key, value in parse_qsl(parts.query[:500])
                  if key.lower() in _SELLER_KEYS and value and len(value) <= 64]
        for kind, name in found:
            sellers.add((parts.netloc, name.lower()))
            if kind in _SELLER_SEGMENTS or kind in _SELLER_KEYS:
                vendors.add((parts.netloc, name.lower()))
    return len(sellers), len(vendors)


def _forms_of(root: Any) -> tuple[bool, bool]:
    """(a challenge form, a search box) in the page (an lxml tree).  A challenge form has a field to fill in
    (text, number, select, textarea), no password field, and is not a search box (a form whose fields are
    all named like a query or a sort control).  Reads at most 50 forms."""
    challenge = search = False
    if root is None or not hasattr(root, "iter"):
        return challenge, search
    for number, form in enumerate(root.iter("form")):
        if number >= 50:
            break
        fillable, search_only, password = 0, True, False
        for node in form.iter("input", "select", "textarea"):
            kind = str(node.get("type") or "text").lower() if node.tag == "input" else node.tag
            if kind == "password":
                password = True
                break
            if kind in ("text", "number", "tel", "search", "select", "textarea"):
                fillable += 1
                search_only = search_only and (kind == "search"
                                               or str(node.get("name") or "").lower() in _SEARCH_FIELDS)
        # A form that calls itself a search (its name, id, class, role or action, or a submit button that says
        # Search) is a search box whatever its fields are named (a theme's unnamed text field).
        search_only = search_only or _names_a_search(form)
        if fillable and not password:
            search = search or search_only
            challenge = challenge or not search_only
    return challenge, search


def _names_a_search(form: Any) -> bool:
    """True when ``form`` (an lxml element) names itself a search: role="search", or "search" in its name, id,
    class or action, or a submit button whose value or name is Search (also Russian, German, Turkish)."""
    own = " ".join(str(form.get(name) or "")[:200] for name in ("role", "name", "id", "class", "action")).lower()
    if "search" in own or "поиск" in own:
        return True
    for number, node in enumerate(form.iter("input", "button")):
        if number >= 50:
            break
        kind = str(node.get("type") or ("submit" if node.tag == "button" else "text")).lower()
        if kind == "submit":
            said = " ".join((str(node.get("value") or ""), str(node.get("name") or ""),
                             node.text_content() if node.tag == "button" else ""))[:200].strip().lower()
            if said in _SEARCH_BUTTONS:
                return True
    return False


def _reloads(root: Any) -> bool:
    """True when the page (an lxml tree) reloads or leaves by itself: a meta refresh, or one of its first
    20 scripts sets ``location`` or calls ``reload``."""
    if root is None or not hasattr(root, "iter"):
        return False
    for meta in root.iter("meta"):
        if str(meta.get("http-equiv") or "").strip().lower() == "refresh":
            return True
    for number, script in enumerate(root.iter("script")):
        if number >= 20:
            break
        code = (script.text or "")[:5000].lower()
        if "location" in code or "reload" in code:
            return True
    return False


def signals_of_page(*, url: str, status: int, title: str, text: str, links: Iterable[str],
                    onion_mentions: Iterable[dict], login_wall: str | None, page_type: str | None,
                    listing_vendors: Iterable[str | None], vendor_profile: bool, post_count: int,
                    market_profile: str | None, root: Any = None) -> PageSignals:
    """:class:`PageSignals` from what the extraction of one page gives (:mod:`crawler.extractors.document`);
    ``root``, the page's lxml tree where the extraction parsed one, is read for its forms."""
    hosts = {mention.get("host") for mention in onion_mentions
             if isinstance(mention, dict) and not mention.get("hidden")}
    vendors = list(listing_vendors)
    links = tuple(links)[:2000]
    sellers_linked, vendors_linked = _seller_links(links)
    challenge_form, search_form = _forms_of(root)
    return PageSignals(
        url=url, status=status, title=title or "", text=text or "", links=links,
        sellers_linked=sellers_linked, vendors_linked=vendors_linked, challenge_form=challenge_form,
        search_form=search_form, reloads=_reloads(root),
        onion_hosts_linked=len(hosts - {None}), login_wall=login_wall, extracted_page_type=page_type,
        listing_count=len(vendors), listing_vendors=len({vendor for vendor in vendors if vendor}),
        vendor_profile=vendor_profile, post_count=post_count, market_profile=market_profile,
    )
