"""acme-health."""
