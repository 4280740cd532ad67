"""`onionscope tor` argument parsing and its error when no tor is configured."""

from __future__ import annotations

import argparse

import pytest

from onionscope.commands import tor as tor_command
from config.errors import UserError
from config.settings import load_settings


def parse(*argv):
    parser = argparse.ArgumentParser()
    tor_command.configure(parser)
    return parser.parse_args(argv)


def test_actions_parse():
    assert parse("status", "--json").json is True
    assert parse("newnym", "--max-wait", "3").max_wait == 3.0
    assert parse("wait").timeout is None
    assert parse("probe", "http://x.onion/").url == "http://x.onion/"


def test_an_action_is_required():
    with pytest.raises(SystemExit):
        parse()


def test_no_tor_configured_is_a_user_error(tmp_path):
    settings = load_settings(environ={"ONIONSCOPE_TESTNET_DIR": str(tmp_path)})
    with pytest.raises(UserError, match="onionscope testnet up"):
        tor_command.run(parse("status"), settings)
