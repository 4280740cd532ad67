"""The web UI in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright).

Against a real ``onionscope serve`` (uvicorn on a free loopback port) and the
real Elasticsearch node: log in with a token, search, see facets and
highlights, filter by market and coin, open a wallet and see its listings and
vendors, jump to the same vendor on another market, export STIX -- and a page
titled ``<script>window.__xss=1</script>`` shows as text without running.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from search.auth import create_token
from tests.integration.search_world import (
    ALPHA_HOST,
    SHARED_BTC,
    XSS_TITLE,
    search_es,  # noqa: F401 -- fixture
    seed_world,
)
from tests.unit.test_exports import validate_bundle

pytestmark = pytest.mark.integration
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Belt and braces: the browser resolves nothing but loopback.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--no-proxy-server",
]


@pytest.fixture(scope="module")
def server(search_es, tmp_path_factory):
    client, prefix, settings = search_es
    world = seed_world(client, prefix)
    token, _ = create_token(client, prefix, "viewer", "browser test")
    var_dir = tmp_path_factory.mktemp("serve-var")
    environment = dict(os.environ)
    environment.update({
        "ONIONSCOPE_ES_URL": settings.es_url,
        "ONIONSCOPE_INDEX_PREFIX": prefix,
        "ONIONSCOPE_VAR_DIR": str(var_dir),
    })
    process = subprocess.Popen(
        [sys.executable, "-m", "onionscope.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
        assert match, f"server did not start: {line!r} {process.stderr.read() if process.poll() is not None else ''}"
        base_url = match.group(1)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base_url + "/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server never answered"
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.1)
        yield {"url": base_url, "token": token, "world": world}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
        )
        try:
            yield context
        finally:
            context.close()


def test_investigator_flow_in_the_browser(server, browser_context, tmp_path):
    page = browser_context.new_page()
    base = server["url"]
    # Every request the pages make, and every answer's headers: nothing may go anywhere but the app.
    requested: list[str] = []
    answers: list[tuple[str, dict[str, str]]] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("response", lambda response: answers.append((response.url, response.all_headers())))

    # Not logged in: the login form (status 401).
    response = page.goto(base + "/search")
    assert response.status == 401
    page.fill("input[name=token]", server["token"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/search$"))

    # Search: facets and highlighted snippets.
    page.fill("input[name=q]", "fentanyl")
    page.select_option("select[name=kind]", "listings")
    page.click("form.searchbar button[type=submit]")
    page.wait_for_selector("article.hit")
    assert page.inner_text("#total") == "3"
    assert page.locator("section.facet[data-facet=market] li").count() == 3
    marks = [text.lower() for text in page.locator("mark").all_inner_texts()]
    assert "fentanyl" in marks

    # Filter by market, then by coin, by clicking facets.
    page.click("section.facet[data-facet=market] a:has-text('alpha')")
    page.wait_for_url(re.compile(r"market%3Aalpha"))
    assert page.inner_text("#total") == "1"
    page.click("section.facet[data-facet=coin] a:has-text('btc')")
    page.wait_for_url(re.compile(r"coin%3Abtc"))
    assert page.inner_text("#total") == "1"
    assert page.locator("section.facet[data-facet=market] li.selected").count() == 1

    # Open the listing, then its wallet: listings and vendors that use it.
    page.click("article.hit h2 a")
    page.wait_for_url(re.compile(r"/listings/"))
    page.click(f"a:has-text('{SHARED_BTC}')")
    page.wait_for_url(re.compile(r"/wallets/"))
    listings_text = page.inner_text("#wallet-listings")
    assert "Fentanyl powder 99% pure" in listings_text and "Fentanyl patches" in listings_text
    vendors_text = page.inner_text("#wallet-vendors")
    assert "DrGreen" in vendors_text and "Dr_Green" in vendors_text

    # Export the wallet as STIX 2.1.
    with page.expect_download() as download_info:
        page.click("span.exports a:has-text('STIX')")
    saved = tmp_path / "wallet.stix.json"
    download_info.value.save_as(saved)
    objects = validate_bundle(json.loads(saved.read_text()))
    assert any(obj.get("pattern") == f"[cryptocurrency-wallet:value = '{SHARED_BTC}']" for obj in objects.values())

    # Vendor on alpha -> the same vendor on beta, with the reason.
    page.click("#wallet-vendors a:has-text('DrGreen')")
    page.wait_for_url(re.compile(r"/vendors/"))
    same = page.inner_text("#same-vendor")
    assert "Dr_Green" in same and "same PGP key" in same
    page.click("#same-vendor a:has-text('Dr_Green')")
    page.wait_for_url(re.compile(server["world"].vendor_ids["beta/Dr_Green"]))
    assert "market beta" in page.inner_text("p.meta")

    # The stats and API pages too, then log out (a form post with its CSRF token).
    page.goto(base + "/stats")
    page.goto(base + "/docs")
    page.click("form.logout button[type=submit]")
    page.wait_for_url(re.compile(r".*/login$"))
    assert page.goto(base + "/stats").status == 401

    # No CDN, font, favicon or anything else from elsewhere: every request went to the app.
    assert len(requested) > 15 and any(url.endswith("/static/style.css") for url in requested)
    elsewhere = [url for url in requested if not url.startswith(base + "/")]
    assert elsewhere == [], elsewhere
    for url, headers in answers:
        assert "default-src 'none'" in headers.get("content-security-policy", ""), url
        assert headers.get("referrer-policy") == "no-referrer", url


def test_a_form_posted_from_another_site_is_refused(server, browser_context):
    page = browser_context.new_page()
    base = server["url"]
    page.goto(base + "/login")
    page.fill("input[name=token]", server["token"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/search$"))
    # Another site's page (here an opaque origin) posts a logout form to the app.
    page.goto("about:blank")
    page.set_content(f'<form method="post" action="{base}/logout"><button type="submit">go</button></form>')
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "CSRF" in page.content()
    # Neither the session cookie (SameSite=Strict) nor a CSRF token went with it: still logged in.
    assert page.goto(base + "/stats").status == 200


def test_crawled_script_is_shown_as_text_and_never_runs(server, browser_context):
    page = browser_context.new_page()
    base = server["url"]
    # Log in through the header-less path: the session cookie from the other
    # test may exist; log in again to be independent of test order.
    page.goto(base + "/login")
    page.fill("input[name=token]", server["token"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/search$"))
    page.goto(base + "/search?kind=pages&q=maintenance")
    page.wait_for_selector("article.hit")
    assert page.inner_text("article.hit h2") == XSS_TITLE
    assert page.evaluate("typeof window.__xss") == "undefined"
    # A highlighted title is still the whole title, still text.
    page.goto(base + "/search?kind=listings&q=fentanyl+market%3Agamma")
    page.wait_for_selector("article.hit mark")
    assert page.inner_text("article.hit h2") == XSS_TITLE + " fentanyl"
    assert page.evaluate("typeof window.__xss") == "undefined"
    page.goto(base + f"/onions/{ALPHA_HOST}")
    assert page.evaluate("typeof window.__xss") == "undefined"
    listing = server["world"].listing_ids["gamma/g1"]
    page.goto(base + f"/listings/{listing}")
    assert XSS_TITLE in page.inner_text("h1")
    assert page.title().startswith(XSS_TITLE)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("script").count() == 0


def test_one_search_box_counts_every_kind_and_clicks_through_to_one(server, browser_context):
    page = browser_context.new_page()
    base = server["url"]
    page.goto(base + "/login")
    page.fill("input[name=token]", server["token"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/search$"))
    # The default kind is every kind: counts per kind and the top hits of each.
    assert page.locator("select[name=kind] option:checked").inner_text() == "everything"
    page.fill("input[name=q]", "fentanyl")
    page.click("form.searchbar button[type=submit]")
    page.wait_for_selector("#counts")
    counts = {kind: page.inner_text(f"#counts li[data-kind={kind}] .count")
              for kind in ("pages", "listings", "vendors", "wallets", "onions")}
    assert counts["listings"] == "3" and counts["pages"] == "1"
    assert page.locator("section.kind-hits[data-kind=listings] article.hit").count() == 3
    # Clicking a kind opens its own search, with facets, and finds as many.
    page.click("#counts li[data-kind=listings] a")
    page.wait_for_url(re.compile(r"kind=listings"))
    assert page.inner_text("#total") == "3"
    assert page.locator("section.facet[data-facet=market] li").count() == 3
