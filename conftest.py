"""Root conftest of the checkout: loads the plugin where its entry point is not installed.

Installed (``pip install -e .`` or the wheel), the ``pytest11`` entry point registered the plugin
under this same name before any conftest is read, and this line changes nothing: pytest skips a
plugin name it already knows. It serves runs from a checkout on an interpreter whose installed
metadata predates the entry point (or with the checkout on ``PYTHONPATH`` only); there a path
option outside the checkout needs the ``--stack=PATH`` spelling (see the README's Install).
"""

pytest_plugins = ["acceptance.harness.plugin"]
