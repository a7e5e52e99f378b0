"""acme-user-service."""
