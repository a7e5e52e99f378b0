"""`python -m acme_ci.rehearsal`: the same as the `acme-rehearse` console script."""

import sys

from acme_ci.rehearsal.cli import main

sys.exit(main())
