"""Who must hear about a report, in what order and how fast: pure code, no I/O."""
