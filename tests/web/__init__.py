"""Browser tests (conftest.py): a package, so that their browser is closed when they end."""
