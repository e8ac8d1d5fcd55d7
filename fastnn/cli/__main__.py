"""``python -m fastnn.cli``: the same as ``fastnn`` and ``python -m fastnn``."""

import sys

from . import main

sys.exit(main())
