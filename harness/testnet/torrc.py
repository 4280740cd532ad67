"""Renders the torrc of each node of the private Tor network from ``<config_dir>/torrc/``.

Public API:

* :class:`NetworkParameters` -- everything shared by the network's torrcs
  (authority lines, bind addresses, voting schedule, helper files);
* :func:`render_torrc` -> the torrc text of one node;
* :func:`dir_authority_line` -> one ``DirAuthority`` line;
* :func:`voting_start_offset` -> the ``TestingV3AuthVotingStartOffset`` that
  puts the first vote a given number of seconds after a moment.

The templates are data (``<config_dir>/torrc/*.torrc``, ``$name`` placeholders;
:func:`config.paths.torrc_dir`): ``common.torrc`` goes into every torrc, followed
by the role's own template.  Pure functions apart from reading the templates; raises :class:`KeyError` for a placeholder with no value and
:class:`ValueError` for a value that would break the torrc (a newline).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from config import paths
from harness.testnet.layout import (
    ROLE_AUTHORITY,
    ROLE_CLIENT,
    ROLE_ONION_HOST,
    ROLE_RELAY,
    Node,
    OnionServiceSpec,
)

_ROLE_TEMPLATES = {
    ROLE_AUTHORITY: "authority.torrc",
    ROLE_RELAY: "relay.torrc",
    ROLE_ONION_HOST: "onion_host.torrc",
    ROLE_CLIENT: "client.torrc",
}

# tor refuses vote and distribution delays under 2 s, and their sum must stay
# below the voting interval; the interval must divide 30 minutes.
MIN_DELAY_SECONDS = 2


@dataclass(frozen=True)
class NetworkParameters:
    """What every torrc of one network shares."""

    network_dir: Path
    dir_authority_lines: Sequence[str]
    empty_file: Path
    resolv_file: Path
    exit_bind_address: str = "127.0.0.2"
    voting_interval: int = 10
    vote_delay: int = MIN_DELAY_SECONDS
    dist_delay: int = MIN_DELAY_SECONDS
    voting_start_offset: int = 0
    onion_services: Sequence[OnionServiceSpec] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.vote_delay < MIN_DELAY_SECONDS or self.dist_delay < MIN_DELAY_SECONDS:
            raise ValueError(f"vote and distribution delays must be at least {MIN_DELAY_SECONDS} s")
        if self.vote_delay + self.dist_delay >= self.voting_interval:
            raise ValueError("vote delay + distribution delay must be shorter than the voting interval")
        if 1800 % self.voting_interval:
            raise ValueError(f"voting interval {self.voting_interval} s must divide 30 minutes evenly")
        if not 0 <= self.voting_start_offset < self.voting_interval:
            raise ValueError("the voting start offset must lie within one voting interval")


def onion_service_dir(network_dir: Path, host: Node, service_name: str) -> Path:
    """The HiddenServiceDir of a service (its keys and ``hostname`` file)."""
    return host.data_dir(network_dir) / "onion_services" / service_name


def dir_authority_line(nickname: str, or_port: int, dir_port: int, v3ident: str, fingerprint: str) -> str:
    """``DirAuthority`` line for an authority on 127.0.0.1; raises ValueError for malformed digests."""
    for label, digest in (("v3ident", v3ident), ("fingerprint", fingerprint)):
        if len(digest) != 40 or any(c not in "0123456789ABCDEF" for c in digest):
            raise ValueError(f"{label} {digest!r} is not 40 upper-case hex digits")
    return f"DirAuthority {nickname} orport={or_port} no-v2 v3ident={v3ident} 127.0.0.1:{dir_port} {fingerprint}"


def voting_start_offset(now: float, voting_interval: int, first_vote_after: float, vote_delay: int,
                        dist_delay: int) -> int:
    """Offset that makes the first vote start no sooner than ``first_vote_after`` s after ``now``.

    tor starts each voting interval at midnight UTC + offset + k * interval and
    votes ``vote_delay + dist_delay`` seconds before the interval starts.
    """
    seconds_into_day = int(now) % 86400
    interval_start = seconds_into_day + int(first_vote_after + 0.999) + vote_delay + dist_delay
    return interval_start % voting_interval


def render_torrc(node: Node, parameters: NetworkParameters, template_dir: Path | None = None) -> str:
    """The torrc of ``node``: ``common.torrc`` then its role's template, placeholders filled.

    ``template_dir`` is a ``<config_dir>/torrc`` folder (default: the config package's).
    """
    template_dir = template_dir if template_dir is not None else paths.torrc_dir()
    data_dir = node.data_dir(parameters.network_dir)
    values: dict[str, object] = {
        "dir_authorities": "\n".join(parameters.dir_authority_lines),
        "empty_file": parameters.empty_file,
        "resolv_file": parameters.resolv_file,
        "data_dir": data_dir,
        "nickname": node.name,
        "control_port": node.control_port,
        "or_port": node.or_port,
        "dir_port": node.dir_port,
        "socks_port": node.socks_port,
        "exit_bind_address": parameters.exit_bind_address,
        "voting_interval": parameters.voting_interval,
        "vote_delay": parameters.vote_delay,
        "dist_delay": parameters.dist_delay,
        "voting_start_offset": parameters.voting_start_offset,
        "onion_services": _onion_service_lines(node, parameters),
    }
    for key, value in values.items():
        if key not in ("dir_authorities", "onion_services") and "\n" in str(value):
            raise ValueError(f"torrc value {key!r} contains a newline")
    parts = []
    for template_name in ("common.torrc", _ROLE_TEMPLATES[node.role]):
        template = string.Template((template_dir / template_name).read_text(encoding="utf-8"))
        parts.append(template.substitute(values))
    return "\n".join(parts)


def _onion_service_lines(node: Node, parameters: NetworkParameters) -> str:
    if node.role != ROLE_ONION_HOST:
        return ""
    lines = []
    for spec in parameters.onion_services:
        lines.append(f"HiddenServiceDir {onion_service_dir(parameters.network_dir, node, spec.name)}")
        lines.append(f"HiddenServicePort {spec.virtual_port} {spec.target}")
    return "\n".join(lines)


def torrc_lines(text: str) -> list[tuple[str, str]]:
    """``(option, value)`` pairs of a torrc, comments and blank lines dropped (for checks and tests)."""
    pairs = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        option, _, value = line.partition(" ")
        pairs.append((option, value.strip()))
    return pairs
