"""The pictures of issue 14 on the demo world: charts, the onion graph and a vendor dossier, in a real Chromium.

One crawl of the demo world through the private Tor network into the real
Elasticsearch (a prefix of its own), one ``onionscope serve``, one headless
Chromium (Debian's, driven by playwright).  Each chart's numbers are read from
the SVG's data attributes and compared with numbers worked out independently:
from the generator's ground truth (listings, prices, quantities, onion links,
cross-market vendors) or from plain Elasticsearch queries over the raw
documents, counted here in Python -- never from the code under test.

With ``SCREENSHOT_DIR`` set, each new view is also saved there as a
PNG, at most :data:`MAX_SCREENSHOT_HEIGHT` pixels tall (docs/screenshots/ holds
the committed ones: ``SCREENSHOT_DIR=docs/screenshots pytest tests/integration/test_views.py``).
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

import httpx
import networkx
import pytest

from harness.demo_world import DemoWorld
from tests.integration.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.integration
PROJECT_ROOT = Path(__file__).resolve().parents[2]
POINTS_JS = "els => els.map(e => Object.fromEntries([...e.attributes].map(a => [a.name, a.value])))"


class Views:
    """The crawled demo world, the server over it and how to reach both."""

    def __init__(self, world: DemoWorld, es_url: str, prefix: str, work_dir: Path):
        self.world, self.es_url, self.prefix, self.work_dir = world, es_url, prefix, work_dir
        self.base_url = ""
        self.token = ""

    def environment(self) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ONIONSCOPE_")}
        environment.update(
            ONIONSCOPE_TOR_SOCKS=self.world.socks_endpoints[0], ONIONSCOPE_ES_URL=self.es_url,
            ONIONSCOPE_INDEX_PREFIX=self.prefix, ONIONSCOPE_VAR_DIR=str(self.work_dir / "var"),
            ONIONSCOPE_TESTNET_DIR=str(self.work_dir / "no-testnet"),
        )
        return environment

    def onionscope(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "onionscope.cli", *arguments], cwd=PROJECT_ROOT,
                              env=self.environment(), capture_output=True, text=True, timeout=900, check=False)

    def documents(self, kind: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every document of ``kind`` (plain search, nothing of onionscope's search code)."""
        answer = httpx.post(f"{self.es_url}/{self.prefix}-{kind}/_search",
                            json={"size": 10000, "_source": fields, "query": {"match_all": {}}}, timeout=30)
        answer.raise_for_status()
        return [{"_id": hit["_id"], **hit["_source"]} for hit in answer.json()["hits"]["hits"]]


@pytest.fixture(scope="module")
def views(demo_world: DemoWorld, es_node: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Views]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix
    from search.auth import create_token

    setup = Views(demo_world, es_node.url, f"test-views-{secrets.token_hex(4)}", tmp_path_factory.mktemp("views"))
    client = make_client(es_node.settings)
    delete_prefix(client, setup.prefix)
    seeds = [arg for seed in demo_world.seeds for arg in ("--seed", seed)]
    confirmations = [arg for pair in demo_world.market_hosts for arg in ("--market-host", pair)]
    crawl = setup.onionscope("crawl", "--job", "views", "--json", "--quiet", *seeds, *confirmations)
    assert crawl.returncode == 0, f"crawl failed:\n{crawl.stdout}\n{crawl.stderr[-4000:]}"
    client.indices.refresh(index=f"{setup.prefix}-*")
    setup.token, _ = create_token(client, setup.prefix, "viewer", "views test")
    process = subprocess.Popen([sys.executable, "-m", "onionscope.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
                               cwd=PROJECT_ROOT, env=setup.environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
        assert match, f"server did not start: {line!r}"
        setup.base_url = match.group(1)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(setup.base_url + "/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "server never answered"
            time.sleep(0.1)
        yield setup
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        delete_prefix(client, setup.prefix)
        client.close()


@pytest.fixture(scope="module")
def page(views: Views, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-views")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1200, "height": 900})
        try:
            browser_page = context.new_page()
            browser_page.goto(views.base_url + "/login")
            browser_page.fill("input[name=token]", views.token)
            browser_page.click("form[action='/login'] button[type=submit]")
            browser_page.wait_for_url(re.compile(r".*/search$"))
            requested: list[str] = []
            browser_page.on("request", lambda request: requested.append(request.url))
            browser_page.requested = requested  # type: ignore[attr-defined]
            yield browser_page
        finally:
            context.close()


def _points(page: Any, chart: str) -> list[dict[str, str]]:
    return page.eval_on_selector_all(f'svg[data-chart="{chart}"] .point', POINTS_JS)


MAX_SCREENSHOT_HEIGHT = 1800  # the top of a long page (alerts, an onion's pages): the README's pictures stay small


def _screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True,
                        clip={"x": 0, "y": 0, "width": size[0], "height": min(size[1], MAX_SCREENSHOT_HEIGHT)})


def _days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first[:10]), date.fromisoformat(last[:10])
    return [(start + timedelta(days=offset)).isoformat() for offset in range((end - start).days + 1)]


def test_listings_per_market_per_day(views: Views, page: Any) -> None:
    listings = views.documents("listings", ["market", "first_seen", "last_seen"])
    truth = Counter(listing["market"] for listing in views.world.ground_truth["listings"])
    assert Counter(listing["market"] for listing in listings) == truth
    expected: dict[tuple[str, str], int] = Counter()
    for listing in listings:
        for day in _days(listing["first_seen"], listing["last_seen"]):
            expected[(listing["market"], day)] += 1
    page.goto(views.base_url + "/timelines")
    drawn = {(point["data-series"], point["data-x"]): int(point["data-value"])
             for point in _points(page, "listings-per-market")}
    assert drawn == dict(expected)
    assert {market for market, _ in drawn} == set(truth)
    _screenshot(page, "timelines-listings")


def test_median_price_per_gram_per_market(views: Views, page: Any) -> None:
    truth = views.world.ground_truth["listings"]
    per_gram: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for listing in truth:
        if listing["unit"] == "g" and listing["price_amount"]:
            per_gram[listing["substances"][0]].append(listing)
    substance = max(sorted(per_gram), key=lambda name: len({item["market"] for item in per_gram[name]}))
    fetched = {(doc["market"], doc["listing_id"]): doc["fetched_at"][:10]
               for doc in views.documents("listings", ["market", "listing_id", "fetched_at"])}
    prices: dict[tuple[str, str], list[float]] = defaultdict(list)
    for listing in per_gram[substance]:
        day = fetched[(listing["market"], listing["listing_id"])]
        prices[(listing["price_currency"], listing["market"], day)].append(
            listing["price_amount"] / listing["quantity"])
    page.goto(views.base_url + "/timelines?substance=" + quote(substance))
    # One chart per currency: each <svg> names its unit, and its points are that currency's only.
    charts = page.eval_on_selector_all('svg[data-chart="price-per-gram"]', POINTS_JS)
    units = [chart.get("data-unit") for chart in charts]
    assert all(units) and len(units) == len(set(units)), units
    drawn: dict[tuple[str, str, str], float] = {}
    for unit in units:
        for point in page.eval_on_selector_all(f'svg[data-chart="price-per-gram"][data-unit="{unit}"] .point',
                                               POINTS_JS):
            drawn[(unit, point["data-series"], point["data-x"])] = float(point["data-value"])
    assert set(drawn) == set(prices)
    for key, values in prices.items():
        assert drawn[key] == pytest.approx(statistics.median(values), rel=1e-5), key
    assert len({market for _, market, _ in drawn}) >= 2  # several markets
    assert set(units) == {currency for currency, _, _ in prices}
    _screenshot(page, "timelines-price-per-gram")


def test_stats_charts(views: Views, page: Any) -> None:
    page.goto(views.base_url + "/stats")
    # Pages and listings in the index by the end of each day, from the documents' first_seen.
    drawn = {(point["data-series"], point["data-x"]): int(point["data-value"])
             for point in _points(page, "index-growth")}
    expected = {}
    for kind in ("pages", "listings"):
        per_day = Counter(doc["first_seen"][:10] for doc in views.documents(kind, ["first_seen"]))
        total = 0
        for day in sorted(per_day):
            total += per_day[day]
            expected[(kind, day)] = total
    assert drawn == expected
    assert max(value for (kind, _), value in drawn.items() if kind == "listings") == len(
        views.world.ground_truth["listings"])
    # Onion services up and down now, from the onion documents.
    onions = views.documents("onions", ["up"])
    now = {point["data-x"]: int(point["data-value"]) for point in _points(page, "onions-now")}
    assert now == {"up": sum(1 for o in onions if o.get("up") is True),
                   "down": sum(1 for o in onions if o.get("up") is False),
                   "unchecked": sum(1 for o in onions if o.get("up") is None)}
    assert now["up"] == len(views.world.onion_hosts)  # every demo site answered the crawl
    checks = Counter((("up" if doc.get("up") else "down"), doc["checked_at"][:10])
                     for doc in views.documents("onion-checks", ["up", "checked_at"]))
    assert {(p["data-series"], p["data-x"]): int(p["data-value"]) for p in _points(page, "onion-checks")} == dict(checks)
    # Top substances, from the ground truth.
    substances = Counter(name for listing in views.world.ground_truth["listings"] for name in listing["substances"])
    top = [(point["data-x"], int(point["data-value"])) for point in _points(page, "top-substances")]
    assert len(top) == min(15, len(substances))
    assert all(substances[name] == count for name, count in top)
    assert [count for _, count in top] == sorted(substances.values(), reverse=True)[:len(top)]
    _screenshot(page, "stats-charts")


def _expected_edges(world: DemoWorld) -> dict[tuple[str, str], set[str]]:
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for link in world.ground_truth["onion_links"]:
        source = urlsplit(link["page"]).hostname
        edges[(source, link["onion_host"])].add({"href": "link", "text": "text"}[link["source"]])
    for mention in world.ground_truth["legacy_onion_mentions"]:
        for url in mention["pages"]:
            edges[(urlsplit(url).hostname, mention["host"])].add("text")
    return edges


def test_graph_exports_load_in_networkx(views: Views, tmp_path: Path) -> None:
    expected = _expected_edges(views.world)
    assert len(expected) >= 5
    written = tmp_path / "onions.gexf"
    result = views.onionscope("export", "graph", "--format", "gexf", "-o", str(written))
    assert result.returncode == 0, result.stderr[-2000:]
    from_cli = networkx.read_gexf(str(written))
    answer = httpx.get(views.base_url + "/graph/export?format=graphml",
                       headers={"Authorization": f"Bearer {views.token}"}, timeout=60)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/graphml+xml")
    from_api = networkx.read_graphml(io.BytesIO(answer.content))
    for graph in (from_cli, from_api):
        assert graph.is_directed()
        assert set(graph.edges()) == set(expected)
        for (source, target), kinds in expected.items():
            assert graph.edges[source, target]["kinds"] == " ".join(sorted(kinds)), (source, target)
        for site, host in views.world.onion_hosts.items():
            assert graph.nodes[host]["crawled"] in (True, "true", "True"), site


def test_neighbourhood_of_the_forum(views: Views, page: Any) -> None:
    expected = _expected_edges(views.world)
    forum = views.world.onion_hosts["hush-forum"]
    page.goto(views.base_url + f"/onions/{forum}")
    page.click("#graph-link")
    page.wait_for_url(re.compile(r"/graph$"))
    edges = page.eval_on_selector_all('svg[data-chart="onion-neighbourhood"] line.edge', POINTS_JS)
    drawn = {(edge["data-source"], edge["data-target"]): set(edge["data-kinds"].split()) for edge in edges}
    assert drawn == {pair: kinds for pair, kinds in expected.items() if forum in pair}
    assert any(pair[0] == forum for pair in drawn) and any(pair[1] == forum for pair in drawn)
    _screenshot(page, "onion-neighbourhood")


def _vendor_id(views: Views, market: str, name: str) -> str:
    for vendor in views.documents("vendors", ["market", "name"]):
        if vendor["market"] == market and vendor["name"] == name:
            return vendor["_id"]
    raise AssertionError(f"vendor {name} on {market} was not indexed")


def test_dossier_shows_the_cross_market_vendor_with_the_reason(views: Views, page: Any, es_node: Any) -> None:
    from crawler.items import Vendor
    from pipelines.es_client import make_client
    from pipelines.item_indexer import BulkIndexer

    shared = next(link for link in views.world.ground_truth["cross_market_vendors"]
                  if {a["site"] for a in link["appearances"]} == {"old-bazaar", "nebula-market"})
    first, second = shared["appearances"]
    # A namesake on the third market with no key or wallet in common: a weak link only.
    namesake = Vendor(market="tundra-shop", name=second["name"].upper() + "_", fetched_at="2026-01-02T00:00:00Z",
                      job_id="views-namesake", onion_host=views.world.onion_hosts["tundra-shop"],
                      market_host_known=True)
    client = make_client(es_node.settings)
    try:
        BulkIndexer(client, views.prefix, None, max_retries=1, backoff_seconds=0.1).index_items([namesake])
        client.indices.refresh(index=f"{views.prefix}-vendors")
    finally:
        client.close()

    root = _vendor_id(views, first["site"], first["name"])
    other = _vendor_id(views, second["site"], second["name"])
    page.goto(views.base_url + f"/vendors/{root}")
    page.click("#dossier-link")
    page.wait_for_url(re.compile(r"/dossier$"))
    links = page.inner_text("#dossier-links")
    assert second["name"] in links and "nebula-market" in links
    assert "same PGP key" in links and shared["pgp_fingerprint"] in links
    assert "same wallet" in links and shared["shared_wallets"][0] in links
    strong_row = page.locator("#dossier-links tr.link-strong")
    assert strong_row.count() == 1 and "strong" in strong_row.inner_text()
    weak_row = page.locator("#dossier-links tr.link-weak")
    assert weak_row.count() == 1 and "same name" in weak_row.inner_text() and namesake.name in weak_row.inner_text()
    assert namesake.name in page.inner_text("#dossier-weak")

    # Markets with first and last seen and listing counts, against the ground truth; the chart agrees.
    truth_counts = Counter((listing["market"], listing["vendor"]) for listing in views.world.ground_truth["listings"])
    activity = {point["data-x"]: point for point in _points(page, "vendor-activity")}
    assert set(activity) == {"old-bazaar", "nebula-market"}  # the namesake is not counted
    for appearance in shared["appearances"]:
        assert int(activity[appearance["site"]]["data-value"]) == truth_counts[(appearance["site"], appearance["name"])]
        assert activity[appearance["site"]]["data-first"] <= activity[appearance["site"]]["data-last"]
    listings_drawn = Counter()
    for point in _points(page, "vendor-listings"):
        listings_drawn[point["data-series"]] = max(listings_drawn[point["data-series"]], int(point["data-value"]))
    assert dict(listings_drawn) == {a["site"]: truth_counts[(a["site"], a["name"])] for a in shared["appearances"]}
    pgp = page.inner_text("#dossier-pgp")
    assert shared["pgp_fingerprint"] in pgp
    _screenshot(page, "vendor-dossier")

    # The JSON twin says the same, and a print to PDF drops the navigation.
    answer = httpx.get(views.base_url + f"/vendors/{root}/dossier", timeout=30,
                       headers={"Authorization": f"Bearer {views.token}", "Accept": "application/json"})
    dossier = answer.json()
    assert {member["id"] for member in dossier["members"]} == {root, other}
    strong = [link for link in dossier["links"] if link["strength"] == "strong"]
    assert len(strong) == 1 and {"kind": "pgp", "value": shared["pgp_fingerprint"]} in strong[0]["reasons"]
    assert {"kind": "wallet", "value": shared["shared_wallets"][0]} in strong[0]["reasons"]
    assert [member["name"] for member in dossier["weak_members"]] == [namesake.name]
    page.emulate_media(media="print")
    assert page.locator("header").is_hidden() and page.locator("form").first.is_hidden()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    page.emulate_media(media="screen")
    elsewhere = [url for url in page.requested if not url.startswith(views.base_url + "/")]
    assert elsewhere == [], elsewhere


def test_search_evidence_watchlists_and_a_russian_page(views: Views, page: Any) -> None:
    """The other new views of issues 14 and 15, each checked for what it must show (and saved when asked)."""
    listings = views.world.ground_truth["listings"]
    substance = Counter(name for listing in listings for name in listing["substances"]).most_common(1)[0][0]
    # Unified search: the count of every kind, and each kind's count is that kind's own search.
    page.goto(views.base_url + "/search?q=" + quote(substance))
    kinds = [entry["data-kind"] for entry in page.eval_on_selector_all("#counts [data-kind]", POINTS_JS)]
    assert set(kinds) >= {"pages", "listings"}
    shown = {kind: int(page.inner_text(f'#counts [data-kind="{kind}"] .count').rstrip("+")) for kind in kinds}
    answer = httpx.get(views.base_url + "/search", params={"q": substance, "kind": "listings"}, timeout=30,
                       headers={"Authorization": f"Bearer {views.token}", "Accept": "application/json"}).json()
    assert shown["listings"] == answer["total"] > 0
    _screenshot(page, "search-all-kinds")
    # One kind with its facets, the site type among them, narrowed by type:.
    page.goto(views.base_url + "/search?kind=pages&q=" + quote("type:market"))
    assert page.locator('.facet[data-facet="site_type"]').count() == 1
    assert "market" in page.inner_text('.facet[data-facet="site_type"]')
    _screenshot(page, "search-pages-facets")
    # A listing with its Evidence link (the WARC record of the response).
    page.goto(views.base_url + "/search?kind=listings&q=" + quote(substance))
    page.locator("a.evidence").first.wait_for()
    _screenshot(page, "evidence-links")
    # Watchlists and alerts: a watched wallet of the cross-market vendor, alerted from the finished crawl.
    shared = views.world.ground_truth["cross_market_vendors"][0]
    wallet = shared["shared_wallets"][0]
    added = views.onionscope("watch", "add", "wallet", wallet, "--list", "case 42", "--note", "shared by two markets")
    assert added.returncode == 0, added.stderr[-2000:]
    added = views.onionscope("watch", "add", "query", substance + " type:market", "--list", "case 42")
    assert added.returncode == 0, added.stderr[-2000:]
    checked = views.onionscope("watch", "check", "--job", "views")
    assert checked.returncode == 0, checked.stderr[-2000:]
    page.goto(views.base_url + "/watchlists")
    assert wallet in page.inner_text("main")
    _screenshot(page, "watchlists")
    page.goto(views.base_url + "/alerts")
    assert wallet in page.inner_text("main")
    _screenshot(page, "alerts")
    # One page in Russian: the unified search.
    page.goto(views.base_url + "/search?lang=ru&q=" + quote(substance))
    assert page.locator("html").get_attribute("lang") == "ru"
    _screenshot(page, "search-in-russian")


def test_the_phishing_clone_shows_its_group_and_why(views: Views, page: Any) -> None:
    """The demo world's phishing clone and mirror, crawled after the others: the onion page shows the group."""
    copies = views.world.copies
    assert copies, "the demo world publishes no mirror or clone"
    seeds = [argument for seed in views.world.copy_seeds for argument in ("--seed", seed)]
    confirmations = [arg for pair in views.world.market_hosts for arg in ("--market-host", pair)]
    crawl = views.onionscope("crawl", "--job", "views-copies", "--json", "--quiet", *seeds, *confirmations)
    assert crawl.returncode == 0, crawl.stderr[-4000:]
    clone = copies["clone"]["onion_host"]
    page.goto(views.base_url + f"/onions/{clone}")
    group = page.locator("#mirror-group")
    assert group.get_attribute("data-label") == "possible-phishing-clone"
    assert views.world.onion_hosts[copies["clone"]["of"]] in group.inner_text()
    _screenshot(page, "onion-phishing-clone")
    mirror = copies["mirror"]["onion_host"]
    page.goto(views.base_url + f"/onions/{mirror}")
    assert page.locator("#mirror-group").get_attribute("data-label") == "mirrors"
    _screenshot(page, "onion-mirror-group")
