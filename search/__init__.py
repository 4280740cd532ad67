"""Search: the query language, the HTTP API and web UI, CLI output and exports."""
