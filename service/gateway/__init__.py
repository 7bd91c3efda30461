"""The LLM gateway behind ``POST /v1/chat/completions``: routing, translation and failover.

OpenAI-compatible on the client side; upstream it speaks vLLM's OpenAI API or Ollama's native
NDJSON API. ``config`` (settings models) is imported by ``service.settings``, so this package's
``__init__`` stays free of imports.
"""
