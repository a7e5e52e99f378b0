"""acme-ci."""
