"""Scrapy commands of the project (``COMMANDS_MODULE``): ``scrapy crawl`` with onionscope's exit status."""
