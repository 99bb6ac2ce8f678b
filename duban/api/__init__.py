"""The HTTP API under /api: JSON in and out, bearer tokens, OpenAPI at /openapi.json."""
