"""`onionscope demo` crawls the locked market without a session and takes "needs login" (status 3) as expected."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace
from typing import Any

import pytest

from config.errors import UserError
from config.settings import load_settings
from onionscope.commands import demo

LOCKED_HOME = "http://" + "v" * 52 + "abcd.onion/"


def _fake_up(monkeypatch: pytest.MonkeyPatch, crawl_status: int, locked: bool = True) -> list[list[str]]:
    import harness.demo_world
    import harness.elasticsearch_node
    import pipelines.es_client
    import pipelines.indices

    world = SimpleNamespace(seeds=["http://" + "a" * 56 + ".onion/"], market_hosts=[], socks_endpoints=["127.0.0.1:9"],
                            copy_seeds=[],
                            locked_market={"home_url": LOCKED_HOME} if locked else None)
    monkeypatch.setattr(harness.demo_world, "bring_up_demo_world", lambda settings, progress=None: world)
    monkeypatch.setattr(harness.elasticsearch_node, "es_url_is_local_node", lambda settings: False)
    monkeypatch.setattr(pipelines.es_client, "make_client", lambda settings: SimpleNamespace(close=lambda: None))
    monkeypatch.setattr(pipelines.indices, "ensure_indices", lambda *args, **kwargs: None)
    calls: list[list[str]] = []

    def onionscope(arguments: list[str], settings: Any, socks: Any) -> subprocess.CompletedProcess[str]:
        calls.append(arguments)
        return subprocess.CompletedProcess(arguments, crawl_status if arguments[0] == "crawl" else 0)

    monkeypatch.setattr(demo, "_onionscope", onionscope)
    return calls


def test_the_demo_crawl_includes_the_locked_market_and_accepts_needs_login(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    calls = _fake_up(monkeypatch, crawl_status=3)
    assert demo._up(load_settings(None, environ={}), serve=False) == 0
    crawl = calls[0]
    assert crawl[0] == "crawl" and LOCKED_HOME in crawl
    assert "needs a login session, as expected" in capsys.readouterr().out


def test_other_failures_still_fail_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_up(monkeypatch, crawl_status=1)
    with pytest.raises(UserError, match="demo crawl failed"):
        demo._up(load_settings(None, environ={}), serve=False)
    _fake_up(monkeypatch, crawl_status=3, locked=False)
    with pytest.raises(UserError, match="demo crawl failed"):
        demo._up(load_settings(None, environ={}), serve=False)
