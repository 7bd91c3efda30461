"""Every request the platform sends out: one client (`client`) that enforces the egress policy
(`egress`), the destinations' rate limits shared across processes (`limits`), and their metric."""
