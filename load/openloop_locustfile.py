"""preflight's open-loop Locust run: ``locust -f load/openloop_locustfile.py --stack stack.json``.

``[workload]`` of preflight.toml (``--arrival``/``--rate`` override it) sent open loop by one
scheduler user; the run ends when the schedule is done, exits 1 when an SLO is missed or the
generator fell behind (invalid run). See README.md, "Load testing".
"""

from load.listeners import RunState  # noqa: F401 - importing registers the run's listeners
from load.openloop_user import OpenLoopChatUser

__all__ = ["OpenLoopChatUser"]
