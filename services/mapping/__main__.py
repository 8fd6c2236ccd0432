"""python -m services.mapping worker"""

import sys

from services.common.entry import run

sys.exit(run("mapping"))
