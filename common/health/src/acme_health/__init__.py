"""acme-health: `/readiness` and `/liveness` probes for Litestar apps, with probe logging."""

from acme_health.checks import CheckFailure, ReadinessCheck, run_checks
from acme_health.middleware import probe_logging_middleware
from acme_health.probes import LIVENESS_PATH, PROBE_PATHS, READINESS_PATH, add_health_probes

__all__ = [
    "LIVENESS_PATH",
    "PROBE_PATHS",
    "READINESS_PATH",
    "CheckFailure",
    "ReadinessCheck",
    "add_health_probes",
    "probe_logging_middleware",
    "run_checks",
]
