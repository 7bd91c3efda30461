"""A continuous-batching inference engine modelled on vLLM v1, for the vLLM emulator.

`engine` (scheduler), `kv_cache` (paged blocks, prefix caching) and `params` (cost model,
limits, geometry, with the published figures the defaults come from) are pure and synchronous;
`runner` turns timed arrivals into steps; `replay` and `knee` run it offline. The emulator's
event loop drives the same runner (`service/emulators/vllm/batching.py`), so what it serves is
what `replay` predicts. `python -m service.emulators.batching --help` for the offline tools.
"""
