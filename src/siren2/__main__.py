"""``python -m siren2``: the command line, as the ``siren2`` script."""

import sys

from .cli import main

sys.exit(main())
