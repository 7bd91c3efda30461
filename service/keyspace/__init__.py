"""The platform's Redis keyspace: every key with its reason (`keys`), and the Lua prelude every
script shares (`lua`). One place, so the API, workers, pollers and admin tools agree on it."""
