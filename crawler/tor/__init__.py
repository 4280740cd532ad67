"""Tor for the crawl: the SOCKS5 transport (download handler), control through stem, and their errors."""
