"""acme-trading-service: a Litestar API over a JSON stock store with ownership swaps."""
