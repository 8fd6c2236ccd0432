"""python -m services.alerts api|worker"""

import sys

from services.common.entry import run

sys.exit(run("alerts"))
