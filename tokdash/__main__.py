"""``python -m tokdash``."""

import sys

from tokdash.cli import main

sys.exit(main())
