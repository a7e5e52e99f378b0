"""acme-logger."""
