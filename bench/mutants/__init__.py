"""The mutation bench: how much of what a careless release can break the gate catches.

``python -m bench.mutants`` (see bench/README.md): mutants from mutmut's operators applied one at
a time to a copy of the checkout, the reference stack booted from the copy, the checks that
execute the mutated line run against it (``coverage_map``), the outcome appended to a JSONL file
(``runner``), a report per module and per checklist section (``report``).
"""
