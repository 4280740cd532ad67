"""Scrapy middlewares, one per job."""
