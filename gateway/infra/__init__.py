"""Plumbing every part shares: settings, Redis and its key names, the clock, logs, metrics,
phone numbers, encryption, rate limits and private data files. Imports nothing else of the gateway."""
