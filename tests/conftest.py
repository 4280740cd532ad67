"""Shared pytest set-up: fixtures for the real services live in tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.elasticsearch",
    "tests.fixtures.testnet",
    "tests.fixtures.demo_world",
    "tests.fixtures.redis",
]
