"""``scrapy crawl``, failing loudly when the network guard refused anything.

Scrapy's own ``crawl`` command exits 0 whatever happened during the crawl.
This one runs it unchanged, then exits with status 1 and says why on stderr
when :mod:`crawler.tor.network_guard` refused a name lookup or a connection
(``onionscope crawl`` does the same from its summary).
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from crawler.tor.network_guard import process_guard, refusal_message


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        refused = process_guard().refused
        if refused:
            print(f"error: {refusal_message(refused)}", file=sys.stderr)
            self.exitcode = 1
