"""python -m services.intake api [--host H] [--port P] [--workers N]"""
import sys

from services.common.entry import run
from services.intake.serve import main

sys.exit(run("intake", api=main))
