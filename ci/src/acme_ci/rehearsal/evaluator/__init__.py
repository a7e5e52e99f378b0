"""The evaluator: dagger-io's lazy queries, evaluated on podman in place of the Dagger engine.

dispatch.py holds the evaluator and its table of handlers, one per GraphQL type and field
(query_fields, container_fields, directory_fields); each job below them has a module of its
own: file_systems (root file systems and images), execs, services, layers (kept between
rehearsals), publish; resources owns everything they make on podman and removes it.
"""

from acme_ci.rehearsal.evaluator.dispatch import Evaluator
from acme_ci.rehearsal.evaluator.interfaces import ImageSource, NoStandInError, Report

__all__ = ["Evaluator", "ImageSource", "NoStandInError", "Report"]
