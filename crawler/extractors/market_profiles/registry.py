"""The loaded market profiles, and which onion hosts belong to which market.

Public API: :class:`MarketProfiles` -- :meth:`MarketProfiles.load` /
:meth:`MarketProfiles.from_files`, :meth:`MarketProfiles.get`,
:meth:`MarketProfiles.bind_hosts`, :meth:`MarketProfiles.for_host` and
:meth:`MarketProfiles.looks_like`.  The package docstring
(:mod:`crawler.extractors.market_profiles`) says which hosts belong to a market.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Iterable

from parsel import Selector

from config.errors import UserError
from config.i18n import _
from crawler.extractors.market_profiles.loader import load_profile
from crawler.extractors.market_profiles.model import MarketProfile, ProfileError
from crawler.extractors.onions import is_valid_v3_onion


class MarketProfiles:
    """Every loaded profile, and the hosts the operator confirmed at run time."""

    def __init__(self, profiles: Iterable[MarketProfile] = ()):
        self._profiles: dict[str, MarketProfile] = {}
        for profile in profiles:
            if profile.name in self._profiles:
                raise ProfileError(_("{source}: name: {name} is already used by {other}", source=profile.source,
                                     name=repr(profile.name), other=self._profiles[profile.name].source))
            self._profiles[profile.name] = profile
        # Confirmed by the operator (bind_hosts) only; a site marker never adds to it.
        self._bound_hosts: dict[str, str] = {}

    @classmethod
    def load(cls, directory: str | Path) -> "MarketProfiles":
        """Load every ``*.yml`` / ``*.yaml`` in ``directory`` (sorted); a missing folder is an error."""
        folder = Path(directory)
        if not folder.is_dir():
            raise ProfileError(_("{folder}: market profile folder not found; create it or set config_dir", folder=folder))
        return cls.from_files(sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]))

    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> "MarketProfiles":
        return cls(load_profile(Path(path)) for path in paths)

    @property
    def names(self) -> list[str]:
        return sorted(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._profiles.values())

    def get(self, name: str) -> MarketProfile:
        """The profile called ``name``; raises UserError listing the known names."""
        try:
            return self._profiles[name]
        except KeyError:
            hint = difflib.get_close_matches(name, self._profiles, n=1)
            if not self._profiles:
                raise UserError(_("no market profile named {name}; there are no profiles", name=repr(name))) from None
            if hint:
                raise UserError(_("no market profile named {name} (did you mean {hint}?); known profiles: {known}",
                                  name=repr(name), hint=repr(hint[0]), known=", ".join(self.names))) from None
            raise UserError(_("no market profile named {name}; known profiles: {known}", name=repr(name),
                              known=", ".join(self.names))) from None

    def bind_hosts(self, market_hosts: Iterable[tuple[str, str]]) -> None:
        """Confirm ``(market, onion host)`` pairs: an operator's decision (the ``market_hosts`` setting).

        Raises UserError for a market name no profile has, a host that is not
        a valid v3 onion address, or a host that already belongs to another
        market (confirmed, listed or matched by a host pattern).
        """
        for market, host in market_hosts:
            self.get(market)
            host = host.strip().lower()
            if not host.endswith(".onion") or not is_valid_v3_onion(host):
                raise UserError(_("market host {market}={host}: not a v3 onion address (56 base32 characters with "
                                  "a valid checksum, then .onion)", market=market, host=host))
            owner = self.for_host(host)
            if owner is not None and owner.name != market:
                raise UserError(_("market host {market}={host}: that host already belongs to market {owner}",
                                  market=market, host=host, owner=repr(owner.name)))
            self._bound_hosts[host] = market

    def for_host(self, onion_host: str | None) -> MarketProfile | None:
        """The profile ``onion_host`` belongs to (confirmed, listed, then host pattern), or None.

        The only way a page is bound to a market: its content never decides.
        """
        if not onion_host:
            return None
        host = onion_host.lower()
        bound = self._bound_hosts.get(host)
        if bound is not None:
            return self._profiles[bound]
        for profile in self._profiles.values():
            if host in profile.hosts:
                return profile
        for profile in self._profiles.values():
            if any(pattern.search(host) for pattern in profile.host_patterns):
                return profile
        return None

    def looks_like(self, selector: Selector) -> MarketProfile | None:
        """The first profile whose site marker the page carries, or None.

        A resemblance only: the caller must not treat the page's host as the
        market's, and nothing is remembered between pages.
        """
        for profile in self._profiles.values():
            if profile.matches_markers(selector):
                return profile
        return None

