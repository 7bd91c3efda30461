"""Benchmarks of the job system (documented commands, not timed tests); see each module."""
