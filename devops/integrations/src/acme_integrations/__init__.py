"""acme-integrations."""
