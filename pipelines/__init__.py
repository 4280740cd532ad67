"""Item pipelines: validate, then deduplicate, then bulk-index into Elasticsearch."""
