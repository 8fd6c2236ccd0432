"""python -m services.reporting api|worker"""

import sys

from services.common.entry import run

sys.exit(run("reporting"))
