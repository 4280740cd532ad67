"""crawler.sessions: the cookies.txt and YAML/JSON session files, validated, with secrets kept secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.sessions import Secret, SessionFileError, describe, load_sessions

HOST = "a" * 52 + "bcde.onion"
OTHER = "b" * 52 + "cdef.onion"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_netscape_cookies_txt_as_browser_export_add_ons_write_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "cookies.txt", (
        "# Netscape HTTP Cookie File\n"
        "# This is a generated file! Do not edit.\n\n"
        f"{HOST}\tFALSE\t/\tFALSE\t0\tsid\ts3cr3t-one\n"
        f"#HttpOnly_.{OTHER}\tTRUE\t/shop\tTRUE\t4102444800\ttoken\ts3cr3t two\n"
    ))
    config = load_sessions(path)
    assert config.hosts == tuple(sorted((HOST, OTHER)))
    first = config.for_host(HOST.upper()).cookies[0]
    assert (first.name, first.value.reveal(), first.path, first.expires, first.where) == ("sid", "s3cr3t-one", "/", None, f"{path}:4")
    second = config.for_host(OTHER).cookies[0]
    assert (second.name, second.value.reveal(), second.path, second.expires, second.http_only) == (
        "token", "s3cr3t two", "/shop", 4102444800, True)
    assert second.expired(4102444800) and not second.expired(4102444799)


def test_yaml_and_json_forms_with_cookies_and_headers(tmp_path: Path) -> None:
    yaml_path = _write(tmp_path, "s.yml", (
        "sites:\n"
        f"  {HOST}:\n"
        "    cookies:\n"
        "      sid: s3cr3t-yaml\n"
        "      remember: {value: s3cr3t-r, path: /account, expires: 1700000000}\n"
        "    headers:\n"
        "      Authorization: Basic s3cr3t-auth\n"
    ))
    config = load_sessions(yaml_path)
    site = config.for_host(HOST)
    assert [(c.name, c.value.reveal(), c.path, c.expires) for c in site.cookies] == [
        ("sid", "s3cr3t-yaml", "/", None), ("remember", "s3cr3t-r", "/account", 1700000000)]
    assert [(name, value.reveal()) for name, value in site.headers] == [("Authorization", "Basic s3cr3t-auth")]
    json_path = _write(tmp_path, "s.json", json.dumps({"sites": {HOST: {"cookies": {"sid": "s3cr3t-json"}}}}))
    assert load_sessions(json_path).for_host(HOST).cookies[0].value.reveal() == "s3cr3t-json"
    assert config.for_host(OTHER) is None


def test_secrets_never_show_in_repr_str_or_describe(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.yml", f"sites:\n  {HOST}:\n    cookies: {{sid: s3cr3t-value}}\n    headers: {{X-Key: s3cr3t-header}}\n")
    config = load_sessions(path)
    for shown in (repr(config), str(config), describe(config), repr(config.for_host(HOST)), str(Secret("s3cr3t"))):
        assert "s3cr3t" not in shown
    assert describe(config) == f"{HOST} (1 cookie, 1 header)"


@pytest.mark.parametrize("text, where, words", [
    (f"sites:\n  {HOST}:\n    cookeis: {{sid: s3cr3t}}\n", ":3", "did you mean 'cookies'"),
    ("site:\n  x: 1\n", ":1", "did you mean 'sites'"),
    ("sites:\n  example.com:\n    cookies: {sid: s3cr3t}\n", ":2", "not a v3 onion host"),
    (f"sites:\n  {HOST}:\n    headers: {{Cookie: s3cr3t}}\n", ":3", "may not set the Cookie header"),
    (f"sites:\n  {HOST}:\n    cookies:\n      sid: {{vaule: s3cr3t}}\n", ":4", "did you mean 'value'"),
    (f"sites:\n  {HOST}:\n    cookies:\n      'bad name': s3cr3t\n", ":4", "not a valid cookie name"),
    (f"sites:\n  {HOST}: {{}}\n", ":2", "neither cookies nor headers"),
    ("sites: [unclosed\n", ":2", "not valid YAML"),
    (f"# Netscape HTTP Cookie File\n{HOST}\tFALSE\t/\tFALSE\t0\tsid s3cr3t\n", ":2", "7 tab-separated fields"),
    (f"# Netscape HTTP Cookie File\nexample.com\tFALSE\t/\tFALSE\t0\tsid\ts3cr3t\n", ":2", "not a v3 onion host"),
    (f"# Netscape HTTP Cookie File\n{HOST}\tFALSE\t/\tFALSE\tsoon\tsid\ts3cr3t\n", ":2", "not a Unix time"),
])
def test_a_wrong_file_names_file_line_and_key_but_never_the_value(tmp_path: Path, text: str, where: str, words: str) -> None:
    path = _write(tmp_path, "session", text)
    with pytest.raises(SessionFileError) as caught:
        load_sessions(path)
    message = str(caught.value)
    assert message.startswith(f"{path}{where}:") or message.startswith(f"{path}{where} "), message
    assert words in message
    assert "s3cr3t" not in message


def test_a_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(SessionFileError, match="cannot read it"):
        load_sessions(tmp_path / "absent.txt")
