"""/find <anything>: one search box over every configured service (see handlers/find/router.py)."""
