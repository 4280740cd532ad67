"""The Scrapy project module that scrapy.cfg names, for ``scrapy crawl onion`` from the project root.

Static on purpose: importing it loads no onionscope setting and reads no
file.  It holds what Scrapy reads before a crawl exists
(:data:`crawler.settings.PROCESS_SETTINGS`: bot name, spider and command
modules, logging, reactor, the refusing DNS resolver) and enables
:class:`crawler.settings.OnionscopeAddon`, which applies the rest of
onionscope's settings -- Tor transport, network guard, budgets, pipelines --
when the crawl starts.
"""

from crawler.settings import PROCESS_SETTINGS as _process_settings

globals().update(_process_settings)

ADDONS = {"crawler.settings.OnionscopeAddon": 0}
