"""Who may do what, and how much: API and admin keys, per-key rate limits, and the sandbox that
parses untrusted content in a resource-limited child process."""
