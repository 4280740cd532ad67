"""Extractors: pure functions from page text/HTML to identifiers, listings and vendors."""
