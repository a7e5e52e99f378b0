"""acme-maintenance."""
