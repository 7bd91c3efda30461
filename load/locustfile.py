"""preflight's Locust scenarios: ``locust -f load/locustfile.py --stack stack.json``.

Users: ChatUser (streaming chat: TTFT, ITL, tokens/s, goodput), EnqueueUser (hot/backfill mix),
SearchUser. Pick some by naming them after the options. The run exits 1 when an SLO of
``[slo]`` in preflight.toml is missed (judged on raw samples). See README.md, "Load testing".
"""

from load.listeners import RunState  # noqa: F401 - importing registers the run's listeners
from load.users import ChatUser, EnqueueUser, SearchUser

__all__ = ["ChatUser", "EnqueueUser", "SearchUser"]
