"""Reference implementation of the LLM research platform that preflight guards."""

__version__ = "0.2.0"

# Version of the job record / datastore layout. API, workers and the datastore must agree on it;
# a mismatch is what `data.schema-versions` exists to catch.
SCHEMA_VERSION = 1
