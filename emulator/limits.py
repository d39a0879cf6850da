"""Per-realm throttling (ref §3): requests per minute and per second, concurrency, batches."""

import collections
import threading
import time


class Limiter:
    def __init__(self, settings):
        self.settings = settings  # the live dict in store.state["limits"]
        self.lock = threading.Lock()
        self.hits = collections.defaultdict(collections.deque)  # realm -> request times
        self.batches = collections.defaultdict(collections.deque)
        self.in_flight = collections.Counter()

    def reset(self, settings):
        with self.lock:
            self.settings = settings
            self.hits.clear()
            self.batches.clear()

    def _minute(self):
        return 60.0 / float(self.settings.get("time_scale") or 1)

    @staticmethod
    def _count(window, now, span):
        while window and window[0] <= now - span:
            window.popleft()
        return len(window)

    def enter(self, realm, is_batch):
        """Admit one request (None) or name the limit it broke (throttled). Every attempt counts: a
        client that retries before the window clears stays throttled (stricter; ref §3 says wait
        60 s). The name goes into the request log only, so a client's author can see which limit
        their pacing missed; QBO's answer doesn't say."""
        s = self.settings
        with self.lock:
            self.in_flight[realm] += 1
            if not s.get("enabled", True):
                return None
            now = time.monotonic()
            minute = self._minute()
            hits = self.hits[realm]
            broken = []
            if self._count(hits, now, minute) >= int(s.get("per_minute", 500)):
                broken.append("per_minute")
            per_second = s.get("per_second")
            if per_second and sum(1 for t in hits if t > now - minute / 60.0) >= int(per_second):
                broken.append("per_second")
            hits.append(now)
            if is_batch:
                batches = self.batches[realm]
                if self._count(batches, now, minute) >= int(s.get("batch_per_minute", 40)):
                    broken.append("batch_per_minute")
                batches.append(now)
            if self.in_flight[realm] > int(s.get("concurrent", 10)):
                broken.append("concurrent")
            return ",".join(broken) or None

    def leave(self, realm):
        with self.lock:
            self.in_flight[realm] -= 1
