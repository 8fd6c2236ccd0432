"""Rate limits: a token bucket, and buckets per caller with a bounded memory. Pure.

Intake limits each key's posts; every API limits each key's reads and each client address's
failed authentications (unknown, malformed or revoked keys), so neither guessing keys nor
reading in a tight loop can take the service from others.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """Per-key rate limit: ``rate`` tokens a second, bursts up to ``capacity``."""

    rate: float
    capacity: float
    tokens: float = field(default=-1.0)
    updated: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> float:
        """Take ``cost`` tokens. Returns 0 when allowed, else the seconds to wait before retrying."""
        if self.tokens < 0:
            self.tokens, self.updated = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if cost > self.capacity:
            cost = self.capacity  # a batch larger than the burst waits for a full bucket, not forever
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate

    def wait(self, now: float, cost: float = 1.0) -> float:
        """The seconds until ``cost`` tokens could be taken (0: now), taking none."""
        if self.tokens < 0:
            return 0.0
        tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        cost = min(cost, self.capacity)
        return 0.0 if tokens >= cost else (cost - tokens) / self.rate


class Buckets:
    """One :class:`TokenBucket` per caller (a key id, a client address), the least recently used
    forgotten past ``max_callers`` so that many distinct callers cannot grow it without bound."""

    def __init__(self, rate: float, capacity: float, max_callers: int = 10_000) -> None:
        self.rate, self.capacity, self.max_callers = rate, capacity, max_callers
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, caller: str, now: float, cost: float = 1.0) -> float:
        """0 when ``caller`` may go on, else the seconds to wait (see TokenBucket.take)."""
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = self._buckets[caller] = TokenBucket(self.rate, self.capacity)
            if len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
        return bucket.take(now, cost)

    def wait(self, caller: str, now: float, cost: float = 1.0) -> float:
        """The seconds until ``caller`` could take ``cost`` (0: now), taking nothing."""
        bucket = self._buckets.get(caller)
        return 0.0 if bucket is None else bucket.wait(now, cost)

    def __len__(self) -> int:
        return len(self._buckets)
