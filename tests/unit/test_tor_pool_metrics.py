"""The tor pool's clients in the API's /metrics exposition (search.api.metrics_routes.render_metrics)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from crawler.tor.pool import PoolClientStatus
from search.api.metrics_routes import render_metrics


def _samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode()) for sample in family.samples}


def test_pool_clients_are_gauges_by_client(tmp_path):
    pool = [PoolClientStatus("127.0.0.1:9050", "127.0.0.1:9051", True, 100, None, False),
            PoolClientStatus("127.0.0.1:9060", "127.0.0.1:9061", False, None, "could not be reached", True),
            PoolClientStatus("127.0.0.1:9070", "127.0.0.1:9071", False, 45, "bootstrap at 45%", False)]
    found = _samples(render_metrics({}, tmp_path, None, pool))
    assert found[("onionscope_tor_pool_client_healthy", (("client", "127.0.0.1:9050"),))] == 1
    assert found[("onionscope_tor_pool_client_healthy", (("client", "127.0.0.1:9060"),))] == 0
    assert found[("onionscope_tor_pool_client_healthy", (("client", "127.0.0.1:9070"),))] == 0
    assert found[("onionscope_tor_pool_client_bootstrap_percent", (("client", "127.0.0.1:9070"),))] == 45
    assert ("onionscope_tor_pool_client_bootstrap_percent", (("client", "127.0.0.1:9060"),)) not in found
    assert found[("onionscope_tor_pool_healthy_clients", ())] == 1


def test_no_pool_no_pool_metrics(tmp_path):
    assert not any(name.startswith("onionscope_tor_pool") for name, _ in _samples(render_metrics({}, tmp_path)))
