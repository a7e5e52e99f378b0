"""acme-user-service: a Litestar API over a JSON user store."""
