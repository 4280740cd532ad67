"""``onionscope demo [up|down]``: the whole product on one machine, in the private Tor world.

``up`` (the default, run by ``make demo``):

1. starts the local Elasticsearch node (``onionscope services up``);
2. starts the demo sites' server, the private Tor network with one onion
   service per site, and generates the sites (:mod:`harness.demo_world`);
3. sets up the indices and crawls every demo site through Tor, the locked
   market (:mod:`harness.demo.locked_market`) without a session: the crawl
   names it as needing a login session (exit status 3, which the demo expects);
4. starts the API and web UI in the background, creates a viewer token, runs
   a few searches, and prints where the UI is and how to log in.

Each step reuses what already runs, so ``up`` twice is harmless (the crawl
runs again and updates the same documents).  ``down`` stops the UI, the
private network and the demo server, each only after checking that its PID
still names the process that was started (start time and command line,
through the project's one process helper, :mod:`config.processes`); the
Elasticsearch node keeps its data
(``onionscope services down`` stops it).  Raises UserError when a step fails,
naming the step and the log to read.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from config.errors import UserError
from config.paths import index_templates_dir
from config.processes import (
    OwnedProcess, exclusive_lock, process_arguments, read_pidfile, recorded_process, runs_python_module,
    stop_processes, write_pidfile,
)
from config.settings import Settings
from onionscope.commands.crawl import EXIT_NEEDS_LOGIN
from config.i18n import _, cli_language

DEMO_QUERIES = ('"3-MMC"', "fentanyl OR nitazene", "coin:xmr")
# How long `demo down` gives the web UI to finish its requests before SIGKILL.
WEB_UI_STOP_SECONDS = 10.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("up", "down"), default="up")
    parser.add_argument("--no-serve", action="store_true", help=_("do not start the web UI"))


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "down":
        return _down(settings)
    return _up(settings, serve=not args.no_serve)


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def _up(settings: Settings, serve: bool) -> int:
    from harness.demo_world import bring_up_demo_world
    from harness import elasticsearch_node
    from pipelines.es_client import make_client
    from pipelines.indices import ensure_indices

    _say(_("1/4 Elasticsearch"))
    if elasticsearch_node.es_url_is_local_node(settings):
        elasticsearch_node.start(settings)
    _say(_("2/4 private Tor network and demo sites"))
    world = bring_up_demo_world(settings, progress=_say)
    client = make_client(settings)
    try:
        ensure_indices(client, settings.index_prefix, templates_dir=index_templates_dir(settings.config_dir))
    finally:
        client.close()

    # The locked market is crawled without a session: the crawl shows how a site that needs one is reported.
    locked = [world.locked_market["home_url"]] if world.locked_market else []
    # And the mirror of nebula-market and the phishing clone of old-bazaar: `onionscope index sites`,
    # which the crawl runs when it ends, groups them with their originals.
    copies = world.copy_seeds
    seeds = [argument for seed in [*world.seeds, *locked, *copies] for argument in ("--seed", seed)]
    _say(_("3/4 crawling {count} demo sites through Tor", count=len(world.seeds) + len(locked) + len(copies)))
    # The demo markets' onion hosts are new with every network: the demo confirms them.
    confirmations = [argument for pair in world.market_hosts for argument in ("--market-host", pair)]
    crawl = _onionscope(["crawl", "--job", "demo", "--quiet", *seeds, *confirmations], settings, world.socks_endpoints)
    if crawl.returncode == EXIT_NEEDS_LOGIN and locked:
        _say(_("the locked market (vault-market) needs a login session, as expected: see \"Crawling behind a login\" "
               "in the README"))
    elif crawl.returncode != 0:
        raise UserError(_("the demo crawl failed; its output is above"))

    _say(_("4/4 searching what was crawled"))
    for query in DEMO_QUERIES:
        print(f"\n$ onionscope search {query!r} --limit 3", flush=True)
        _onionscope(["search", query, "--limit", "3"], settings, world.socks_endpoints)
    if serve:
        url = _ensure_serving(settings)
        token = _demo_token(settings)
        print("\n" + _("The web UI and API are at {url}/ (API docs: {url}/docs).", url=url) + "\n"
              + _("Log in with this viewer token (also saved in {path}):", path=_token_file(settings)) + f"\n{token}\n"
              + _("Stop the demo with `.venv/bin/onionscope demo down`."), flush=True)
    return 0


def _down(settings: Settings) -> int:
    from harness.demo_world import tear_down_demo_world

    pidfile = _var(settings, "serve.pid")
    web_ui = _web_ui(settings)
    if web_ui is not None and stop_processes([web_ui], grace_seconds=WEB_UI_STOP_SECONDS):
        _say(_("stopped the web UI (pid {pid})", pid=web_ui.pid))
    elif (record := read_pidfile(pidfile)) is not None and process_arguments(record.pid) is not None:
        _say(_("left pid {pid} alone: it is not the web UI that {path} recorded (that one has exited, or the file "
               "predates start-time checks)", pid=record.pid, path=pidfile))
    pidfile.unlink(missing_ok=True)
    tear_down_demo_world(settings, progress=_say)
    return 0


def _onionscope(arguments: list[str], settings: Settings, socks: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run an onionscope subcommand in its own process (Scrapy's reactor runs once per process)."""
    environment = dict(os.environ)
    environment["ONIONSCOPE_TOR_SOCKS"] = socks[0]  # the demo world lives on the private network only
    environment["ONIONSCOPE_LANGUAGE"] = cli_language()  # the crawl and the searches speak as the demo does
    return subprocess.run([sys.executable, "-m", "onionscope.cli", *arguments], env=environment, check=False)


def _var(settings: Settings, name: str) -> Path:
    path = Path(settings.var_dir) / "serve"
    path.mkdir(parents=True, exist_ok=True)
    return path / name


def _token_file(settings: Settings) -> Path:
    return _var(settings, "demo-token")


def _is_web_ui(arguments: list[str]) -> bool:
    return runs_python_module(arguments, "onionscope.cli") and arguments[-1:] == ["serve"]


def _web_ui(settings: Settings) -> OwnedProcess | None:
    """The web UI this demo started, checked by start time and command line; else None."""
    return recorded_process(_var(settings, "serve.pid"), _is_web_ui)


def _ensure_serving(settings: Settings, timeout: float = 30.0) -> str:
    url = f"http://{settings.serve_host}:{settings.serve_port}"
    # Two `demo up`s at once must not start two web UIs.
    with exclusive_lock(_var(settings, ".serve.lock")):
        if _web_ui(settings) is None:
            log = _var(settings, "serve.log").open("ab")
            process = subprocess.Popen(
                [sys.executable, "-m", "onionscope.cli", "serve"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
            try:
                write_pidfile(_var(settings, "serve.pid"), process.pid)
            except ProcessLookupError:
                raise UserError(_("the web UI exited at once; see {path}", path=_var(settings, "serve.log"))) from None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/stats", timeout=2)
            return url
        except urllib.error.HTTPError:
            return url  # it answers (401 without a token): it is up
        except OSError:
            time.sleep(0.2)
    raise UserError(_("the web UI did not answer at {url} within {seconds} s; see {path}", url=url,
                      seconds=f"{timeout:.0f}", path=_var(settings, "serve.log")))


def _demo_token(settings: Settings) -> str:
    from pipelines.es_client import make_client
    from search.auth import create_token, verify_token

    path = _token_file(settings)
    client = make_client(settings)
    try:
        if path.exists():
            token = path.read_text().strip()
            if verify_token(client, settings.index_prefix, token) is not None:
                return token
        token, _record = create_token(client, settings.index_prefix, "viewer", name="demo",
                                      templates_dir=index_templates_dir(settings.config_dir))
    finally:
        client.close()
    path.write_text(token + "\n")
    path.chmod(0o600)
    return token
