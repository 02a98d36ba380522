"""Acting on cases: the referral loop (alert a step, wait, escalate), the actions every door
calls, the outbox and its transports, and the worker that runs the background work."""
