"""The I/O edge of the child-protection referral gateway: HTTP, storage, workers and the CLI.

Imports run one way: `gateway` uses `menus` and `routing`; they never import `gateway`.
"""
