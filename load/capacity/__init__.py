"""Capacity under the SLO: ``python -m load.capacity`` (see ``__main__``), the bounded search
(``search``), its steps against a target (``sweep``) and the chart (``charts``)."""
