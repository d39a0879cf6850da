"""Redis connections: one decoding client for locks and counters, one raw client for RQ
(RQ fails on a decode_responses client)."""
from __future__ import annotations

from flask import current_app
from redis import Redis

_clients: dict[tuple[str, bool], Redis] = {}


def get_redis(*, decode: bool = True) -> Redis:
    url = current_app.config["REDIS_URL"]
    key = (url, decode)
    if key not in _clients:
        _clients[key] = Redis.from_url(url, decode_responses=decode, socket_timeout=10,
                                       socket_connect_timeout=5)
    return _clients[key]


def redis_answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except Exception:
        return False
