"""Local services onionscope starts itself; today one: the Elasticsearch node.

See :mod:`onionscope.services.elasticsearch_node` (``onionscope services up|down|status``).
"""
