"""The ``maintenance`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from acme_integrations.backends import real_backends, simulated_backends
from acme_integrations.faults import FaultPlan
from acme_integrations.settings import settings_from_env
from acme_integrations.simulated import SimulationProfile
from acme_integrations.thresholds import THRESHOLDS, InvalidSettingError, resolve_thresholds
from acme_maintenance.dry_run import describe, journal_lines, threshold_lines
from acme_maintenance.journal_choice import choose_journal, open_store
from acme_maintenance.journal_store import JournalError
from acme_maintenance.plans import build_plans
from acme_maintenance.procedures import ALIASES
from acme_maintenance.progress import ProgressEvent, progress_line
from acme_maintenance.render import report_json, report_text
from acme_maintenance.report import EXIT_CONFIG, EXIT_OK
from acme_maintenance.session import Request, execute, reads_journal, select_targets

DESCRIPTION = """\
Run database, Kafka and S3 maintenance concurrently. Transient faults (deadlock,
timeout, throttling, connection reset) are retried where they happen; a subsystem
that still fails runs its own cleanup at once while the others go on. One report at
the end; exit 0 all ok, 1 some subsystem failed or the run was interrupted, 2 bad
usage or configuration (a subsystem whose settings are missing is reported as
not configured, naming the variables).
"""

EPILOG = """\
environment (real backend):
  DATABASE_URL           sqlite:///path or postgresql://... (default sqlite:///var/maintenance.sqlite3)
  S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   required for s3
  S3_ENDPOINT_URL        any S3 endpoint (unset: AWS); AWS_REGION (default us-east-1)
  KAFKA_BOOTSTRAP_SERVERS  host:port[,host:port] required for kafka
  MAINTENANCE_JOURNAL    where the journal lives: database, s3://BUCKET/KEY or a file path
                         (default: database when DATABASE_URL is set, else
                         s3://$S3_BUCKET/.acme/maintenance/journal.json when S3 is configured,
                         else the file .acme/maintenance/journal.json)
  MAINTENANCE_GLACIER_MIN_SIZE      S3 objects larger move to GLACIER (default 128MiB)
  MAINTENANCE_RETENTION_DAYS        S3 objects older are deleted (default 90)
  MAINTENANCE_UPLOAD_MAX_AGE_HOURS  S3 multipart uploads older are aborted (default 24)
  MAINTENANCE_HUNG_QUERY_SECONDS    PostgreSQL queries running longer are cancelled (default 300)
  (each threshold also has a flag of the same name, which overrides the variable)

examples:
  maintenance --verbose                 everything, with progress lines
  maintenance --cleanup                 clean only what the last run left failed or unfinished
  maintenance --cleanup --only s3       clean s3 whatever the journal says
  maintenance --backend simulated --time-scale 0.01 --seed 7 --dry-run
"""


def _only(value: str) -> tuple[str, ...]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in ALIASES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown subsystem {', '.join(unknown) or repr(value)}: choose from db, kafka, s3"
        )
    return tuple(dict.fromkeys(ALIASES[name] for name in names))


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maintenance",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--cleanup",
        action="store_true",
        help="run cleanup procedures instead of maintenance: without --only, only for the "
        "subsystems the journal shows failed or unfinished",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print progress lines to stderr as work happens"
    )
    parser.add_argument(
        "--only",
        type=_only,
        metavar="db,kafka,s3",
        help="comma-separated subsystems to run (default: all; with --cleanup: per the journal)",
    )
    parser.add_argument(
        "--backend",
        choices=("real", "simulated"),
        default="real",
        help="real clients (default) or the labelled simulation of the original scripts",
    )
    parser.add_argument(
        "--time-scale",
        type=_positive,
        metavar="F",
        help="simulated backend only: multiply the original durations by F (default 1.0)",
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="simulated backend only: seed of the random faults"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would run, in which order and concurrency, and exit",
    )
    parser.add_argument(
        "--journal",
        metavar="LOCATION",
        help="where the journal of the last run lives: 'database' (a table in DATABASE_URL), "
        "s3://BUCKET/KEY, or a file path (default: $MAINTENANCE_JOURNAL, else database when "
        "DATABASE_URL is set, else S3 when configured, else .acme/maintenance/journal.json)",
    )
    for threshold in THRESHOLDS:
        parser.add_argument(
            threshold.flag,
            metavar="SIZE" if threshold.field == "glacier_min_size_bytes" else "N",
            help=f"real backend: {threshold.meaning} (overrides ${threshold.variable})",
        )
    return parser


def _flag_values(args: argparse.Namespace) -> dict[str, str | None]:
    return {t.flag: getattr(args, t.flag.removeprefix("--").replace("-", "_")) for t in THRESHOLDS}


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    faults: FaultPlan | None = None,
) -> int:
    """Entry point; ``env`` and ``faults`` (simulation only) let tests drive it in-process."""
    parser = build_parser()
    args = parser.parse_args(argv)
    environ = os.environ if env is None else env
    simulated = args.backend == "simulated"
    if not simulated and (args.time_scale is not None or args.seed is not None):
        parser.error("--time-scale and --seed apply to --backend simulated only")
    flags = _flag_values(args)
    if simulated and any(value is not None for value in flags.values()):
        parser.error(f"{', '.join(t.flag for t in THRESHOLDS)} apply to --backend real only")
    try:
        thresholds, sources = resolve_thresholds(environ, flags)
        choice = choose_journal(args.journal, environ)
        store = open_store(choice, environ)
    except (InvalidSettingError, JournalError) as error:
        print(f"maintenance: {error}", file=sys.stderr)
        return EXIT_CONFIG
    request = Request(
        mode="cleanup" if args.cleanup else "maintenance",
        only=args.only,
        backend=args.backend,
        journal=store,
        time_scale=args.time_scale if args.time_scale is not None else 1.0,
        seed=args.seed,
    )
    try:
        journal = store.load() if reads_journal(request) else None
    except JournalError as error:
        print(f"maintenance: {error}", file=sys.stderr)
        return EXIT_CONFIG
    targets, notes = select_targets(request, journal)
    backends = (
        simulated_backends(SimulationProfile(request.time_scale, request.seed, faults=faults))
        if simulated
        else real_backends(settings_from_env(environ, thresholds))
    )
    plans, missing = build_plans(backends, targets)
    if args.dry_run:
        text = describe(
            plans, missing, request.mode, notes, request.time_scale if simulated else None
        )
        extra = journal_lines(store.location, choice.why, reads_journal(request))
        if not simulated:
            extra += threshold_lines(thresholds, sources)
        print("\n".join([text, *extra]))
        return EXIT_CONFIG if missing else EXIT_OK

    def progress(event: ProgressEvent) -> None:
        print(progress_line(event), file=sys.stderr, flush=True)

    try:
        report = execute(request, plans, missing, notes, progress if args.verbose else None)
    except JournalError as error:
        print(f"maintenance: nothing was run: {error}", file=sys.stderr)
        return EXIT_CONFIG
    print(report_json(report) if args.json else report_text(report), flush=True)
    return report.exit_code
