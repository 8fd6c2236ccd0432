"""python -m services.intake api [--host H] [--port P] [--workers N]"""

import sys

from services.common.entry import run

sys.exit(run("intake"))
