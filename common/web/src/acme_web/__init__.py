"""acme-web: what the ACME Litestar services share: errors, server runner, test helpers."""
