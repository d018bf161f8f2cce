"""`python -m dashboard train ...` / `python -m dashboard evaluate ...` (see dashboard/cli.py)."""

import sys

from dashboard.cli import main

sys.exit(main())
