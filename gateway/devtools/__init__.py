"""Tools for trying and measuring the gateway without a real provider: the Africa's Talking API stub
(`at_stub`), the process harness that runs `cpgw` and a redis-server as real processes
(`processes`), and what a driver of field traffic needs to know (`traffic`).

Used by the tests, the benchmarks (`bench/`) and developers; never imported by the running gateway.
"""
