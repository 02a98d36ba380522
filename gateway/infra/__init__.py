"""Plumbing every part shares: settings, Redis and its key names, the clock, logs, metrics,
phone numbers, encryption and rate limits. Imports nothing else of the gateway but settings."""
