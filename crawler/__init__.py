"""The crawl: spiders, the Tor transport, extractors and the items they yield."""
