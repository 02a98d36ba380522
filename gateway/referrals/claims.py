"""Claiming due members of a sorted-set clock (acknowledgement deadlines, duties), one worker each.

`CLAIM_SCRIPT` moves due members to the claimed set with a lease; `EXPIRED_SCRIPT` puts back
those whose worker died before finishing, so a deadline is never lost with a worker.
"""

CLAIM_SCRIPT = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZADD', KEYS[2], ARGV[3], member)
end
return due
"""
EXPIRED_SCRIPT = """
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(stale) do
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZADD', KEYS[1], ARGV[1], member)
end
return #stale
"""
