"""`python -m gateway …` is `cpgw …`: how `cpgw serve` starts its worker process with the same Python."""

from gateway.cli import app

app(prog_name="cpgw")
