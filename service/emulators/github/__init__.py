"""An emulated GitHub REST API: the issues of a repository, as ``api.github.com`` lists them.

Run it with ``python -m service.emulators.github``. It serves ``GET /repos/{owner}/{repo}/issues``
(and ``/repositories/{id}/issues``, where GitHub's ``Link`` headers point) in the 2022-11-28 wire
format from a small fixture (``fixtures/issues.json``): issue objects with labels as objects,
pull requests among them marked by a ``pull_request`` key, page links, rate-limit headers, and
GitHub's error bodies (404 for an unknown repository, 403/429 when rate limited). It is where the
suite's ``post24h.user-issues`` check counts user reports when the target is a reference stack;
``POST /_emulator/issues`` adds issues while it runs, so a self-test can flood it with reports.

This module stays free of web-framework imports: the stack reads ``DEFAULT_REPO`` from it.
"""

# The repository the fixture holds; the stack publishes it as ``emulators.github.repo``.
DEFAULT_REPO = "preflight-org/research-platform"
# The REST API version the emulator speaks (GitHub's default and the one the suite requests).
API_VERSION = "2022-11-28"
