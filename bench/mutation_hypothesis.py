"""A pytest plugin bench/mutation.py loads into every test run mutmut makes (PYTEST_PLUGINS).

mutmut runs a property test once per mutant of every function it covers: at hypothesis's
default 100 examples that is most of a run's time. Fewer, derandomized examples keep each
verdict fast and the same from one mutant to the next; it can only make a score lower
(a mutant that needs a rare example survives), never hide a surviving mutant.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("mutation", max_examples=20, derandomize=True, deadline=None)
settings.load_profile("mutation")
