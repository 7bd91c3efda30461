"""Wire-exact emulators of the inference servers that cannot run on these machines.

`python -m service.emulators.vllm` speaks vLLM's OpenAI-compatible API, `python -m
service.emulators.ollama` Ollama's native API. Both share one runtime configuration (TTFT,
inter-token latency, errors, outages; changeable at run time under `/_emulator/`) and one request
log: that log is the ground truth the suite checks the platform against, so it records what
arrived on the wire, not what the platform meant to send.
"""
