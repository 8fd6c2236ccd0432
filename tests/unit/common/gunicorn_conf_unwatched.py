"""services.common.gunicorn_conf without its post_worker_init hook: what uvicorn's workers do
when gunicorn's master dies and nothing asks the kernel to stop them."""

from services.common.gunicorn_conf import *  # noqa: F403  (gunicorn reads this module's settings)


def post_worker_init(worker) -> None:
    """Nothing: no PR_SET_PDEATHSIG."""
