from __future__ import annotations

from pathlib import Path
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import TlsError

from config.settings import load_settings
from pipelines.es_client import describe_error, make_client, redacted_url


def test_client_carries_auth_and_makes_no_request() -> None:
    settings = load_settings(environ={}).replace(es_url="http://127.0.0.1:1", es_username="u", es_password="p")
    client = make_client(settings)  # port 1 would refuse: building the client must not connect
    assert client._headers["authorization"] == "Basic dTpw"  # base64 of "u:p"
    assert client._headers["user-agent"] == "onionscope"


def test_https_is_always_verified(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    settings = load_settings(environ={}).replace(es_url="https://es.invalid:9243", es_ca_certs=str(bundle))
    client = make_client(settings)
    node = client.transport.node_pool.get()
    assert node.config.verify_certs is True and node.config.ca_certs == str(bundle)


def test_messages_say_what_to_do() -> None:
    local = load_settings(environ={})
    refused = TransportConnectionError("Connection error")
    refused.message = "Failed to establish a new connection: [Errno 111] Connection refused"  # type: ignore[attr-defined]
    assert describe_error(refused, local) == (
        "Elasticsearch at http://127.0.0.1:9200 is not reachable (connection refused); start it with `make services`"
    )
    remote = local.replace(es_url="https://es.example:9243")
    assert "ONIONSCOPE_ES_URL" in describe_error(refused, remote)
    assert "es_ca_certs" in describe_error(TlsError("certificate verify failed"), remote)


def test_credentials_in_the_url_are_never_shown() -> None:
    assert redacted_url("https://elastic:pa@ss:w0rd@es.example:9243/base?api_key=k#f") == "https://***@es.example:9243/base"
    assert redacted_url("http://127.0.0.1:9200") == "http://127.0.0.1:9200"
    assert redacted_url("http://user@[::1]:9200") == "http://***@[::1]:9200"
    assert redacted_url("http://a:b@h:99999") == "<es_url>"
    settings = load_settings(environ={}).replace(es_url="https://elastic:S3cret-pw@es.example:9243")
    # The transport's own text may repeat the URL; the message still hides the credentials.
    echoed = TransportConnectionError("Connection error")
    echoed.message = "Cannot connect to https://elastic:S3cret-pw@es.example:9243 [Errno -2] unknown host"  # type: ignore[attr-defined]
    for error in (echoed, TlsError("certificate verify failed")):
        message = describe_error(error, settings)
        assert "S3cret-pw" not in message and "elastic:" not in message and "es.example:9243" in message


def test_requests_are_encoded_with_orjson_and_what_it_refuses_as_before(monkeypatch: Any) -> None:
    import json

    import orjson

    client = make_client(load_settings(environ={}).replace(es_url="http://127.0.0.1:1"))
    serializers = client.transport.serializers
    calls: list[Any] = []
    real_dumps = orjson.dumps

    def counting_dumps(data: Any, *args: Any, **kwargs: Any) -> bytes:
        calls.append(data)
        return real_dumps(data, *args, **kwargs)

    monkeypatch.setattr(orjson, "dumps", counting_dumps)
    lines = [{"create": {"_index": "p-pages", "_id": "a"}}, {"title": "é", "links": ["x"], "prices": {1: 2.5}}]
    for mimetype in ("application/x-ndjson", "application/vnd.elasticsearch+x-ndjson"):
        body = serializers.dumps(lines, mimetype=mimetype)
        # The stdlib's reading of the same lines (non-string keys become strings, as json writes them).
        assert [json.loads(line) for line in body.splitlines()] == json.loads(json.dumps(lines))
    assert len(calls) == 4
    assert serializers.loads(b'{"docs": [{"found": true}]}', "application/json") == {"docs": [{"found": True}]}
    # A lone surrogate (orjson refuses it) is encoded by the standard library, as before: nothing is refused now.
    odd = {"text": "a\ud800b"}
    assert serializers.dumps(odd, mimetype="application/json") == json.dumps(
        odd, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
