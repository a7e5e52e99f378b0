"""acme-trading-service."""
