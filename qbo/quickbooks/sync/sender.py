"""Sending a round of operations to QuickBooks over the realm's limits: batches of up to 30 while a
batch slot is free, single requests otherwise, up to 10 in flight; only HTTP happens in the
sending threads."""
from __future__ import annotations

import collections
import copy
import random
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from flask import current_app

from qbo.core.db import db
from qbo.quickbooks.api.client import request_id_for
from qbo.quickbooks.api.errors import (
    AuthFailed,
    Forbidden,
    LimiterTimeout,
    QboError,
    RateLimited,
    ReconnectNeeded,
    StaleSyncToken,
    SubscriptionEnded,
    TransientError,
)

# Faults about the connection, not the record: they stop the run (the engine pauses the sync and
# says why) instead of becoming a desk row on whichever record happened to be on the wire. The
# read quota is not among them: writes that need no read go on while reads are blocked.
STOPS_THE_RUN = (RateLimited, ReconnectNeeded, AuthFailed, Forbidden, SubscriptionEnded)
from qbo.quickbooks.models import QboLink

BATCH_SIZE = 30  # QBO's hard maximum per batch request (ref §3)


@dataclass
class Op:
    link: QboLink
    record: object
    operation: str  # create, update, delete
    payload: dict
    request_id: str
    bid: str
    # Plain copies for the sending threads, which never touch the ORM session.
    link_id: int = 0
    entity: str = ""
    name_list: bool = False
    qbo_id: str | None = None
    sync_token: str | None = None




class _Reserved:
    """The limiter as one request sees it when the engine already holds its first slot: the first
    acquire hands that lease over, any retry queues like every other request."""

    def __init__(self, limiter, lease):
        self._limiter, self._lease = limiter, lease

    def acquire(self, realm_id, *, batch=False, timeout=None):
        if self._lease is not None:
            lease, self._lease = self._lease, None
            return lease
        return self._limiter.acquire(realm_id, batch=batch, timeout=timeout)

    def __getattr__(self, name):
        return getattr(self._limiter, name)


class Sender:
    """Sends operations over up to `concurrent` requests in flight (ref §3: 10 per realm).

    QBO's ceiling is 40 batches of 30 a minute plus the 460 single requests left of the 500
    (1,660 writes a minute), and batches alone reach only 1,200. So each sending thread takes
    whichever slot the shared limiter gives first, deciding in one step: a batch slot for up to 30
    operations while one is free, else a plain request slot for one.

    The threads live as long as the sender and serve one queue that rounds are appended to, so the
    next round is on the wire while the previous one's last answers arrive and are applied: a
    request slot left unused is gone for good (the 10-a-second window moves on). Only HTTP happens
    in the threads; the database work stays in the caller's thread (SQLAlchemy sessions are not
    thread-safe), which applies one round and plans the next meanwhile.
    """

    def __init__(self, client, firm_id: int):
        self.client, self.firm_id = client, firm_id
        self.limiter = getattr(client, "limiter", None)
        self.concurrent = max(1, int(getattr(self.limiter, "concurrent", 4) or 4))
        self.round_size = BATCH_SIZE * self.concurrent
        self.app = current_app._get_current_object()
        self.queue: collections.deque[tuple[_Round, Op]] = collections.deque()
        self.ready = threading.Condition()
        self.turn = threading.Lock()  # whose turn it is to ask the limiter for a slot
        self.closed = False
        self.error: BaseException | None = None  # fatal for the whole run: stop sending
        self.threads: list[threading.Thread] = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None:
            self._stop(exc)  # the run is over: what is still queued stays pending, unsent
        with self.ready:
            self.closed = True
            self.ready.notify_all()
        for thread in self.threads:
            thread.join()

    def start(self, ops: list[Op]) -> Future:
        """Queue `ops` for sending; the future gives ({bid: result}, first fatal error)."""
        work = _Round(len(ops))
        with self.ready:
            if self.error is not None:
                work.future.set_result(({}, self.error))
                return work.future
            self.queue.extend((work, op) for op in ops)
            self.ready.notify_all()
        while len(self.threads) < min(self.concurrent, len(self.queue)):
            thread = threading.Thread(target=self._serve, name="qbo-send", daemon=True)
            self.threads.append(thread)
            thread.start()
        return work.future

    def _serve(self) -> None:
        with self.app.app_context():
            while True:
                with self.ready:
                    while not self.queue and not self.closed:
                        self.ready.wait()
                    if not self.queue:
                        return
                taken: list[tuple[_Round, Op]] = []
                try:
                    # One thread at a time asks the limiter: the others wait here instead of all
                    # polling Redis, and the GIL churn of ten pollers can't delay a request that
                    # already holds its slot (QBO counts it when it arrives, ref §3).
                    with self.turn:
                        if not self.queue:
                            continue  # the threads ahead in turn took the last ones
                        lease = self._slot(len(self.queue))
                        taken = self._take(BATCH_SIZE if lease is None or lease.batch else 1)
                    if not taken:
                        if lease is not None:
                            lease.release()  # the run stopped meanwhile
                        continue
                    client = self._client(lease)
                    ops = [op for _, op in taken]
                    found = {ops[0].bid: _send_one(client, ops[0])} if len(ops) == 1 \
                        else _send_batch(client, ops, self.firm_id)
                except Exception as exc:  # RateLimited, ReconnectNeeded, or a bug: stop the run
                    self._stop(exc)
                    found = {}
                stop = next((r for r in found.values() if isinstance(r, STOPS_THE_RUN)), None)
                if stop is not None:
                    # A batch item refused for the connection's sake (a 3xxx inside the batch): the
                    # run stops, that item stays pending, and the items that went through count.
                    found = {bid: r for bid, r in found.items() if not isinstance(r, STOPS_THE_RUN)}
                    self._stop(stop)
                for work, op in taken:
                    work.done(op.bid, found.get(op.bid, MISSING), self)
                # The client may have read the connection's tokens: give the database connection
                # back between requests rather than holding one per thread for the whole sync.
                db.session.remove()

    def _take(self, n: int) -> list[tuple["_Round", Op]]:
        with self.ready:
            if self.error is not None:
                return []
            return [self.queue.popleft() for _ in range(min(n, len(self.queue)))]

    def _stop(self, exc: BaseException) -> None:
        """A fatal error: nothing more is sent; every queued operation ends without a result."""
        with self.ready:
            self.error = self.error or exc
            dropped = list(self.queue)
            self.queue.clear()
        for work, op in dropped:
            work.done(op.bid, MISSING, self)

    def _slot(self, left: int):
        """A lease already taken (`lease.batch` says which kind), or None without a limiter."""
        limiter = self.limiter
        if limiter is None:
            return None
        realm = self.client.realm_id
        deadline = time.monotonic() + limiter.timeout
        while True:
            lease, wait = limiter.try_acquire(realm, batch_if_free=left > 1)
            if lease is not None:
                return lease
            if time.monotonic() > deadline:
                raise LimiterTimeout(f"QBO limiter: no slot for realm {realm} in time", retry_after=wait)
            wait = max(0.002, wait)
            time.sleep(wait + random.uniform(0, 0.002 + wait * 0.1))

    def _client(self, lease):
        if lease is None:
            return self.client
        client = copy.copy(self.client)
        client.limiter = _Reserved(self.limiter, lease)
        return client


MISSING = object()  # sent without a readable answer (outcome unknown), or never sent


class _Round:
    """One round's operations: its future resolves when every one of them has an outcome."""

    def __init__(self, size: int):
        self.outstanding = size
        self.results: dict[str, object] = {}
        self.lock = threading.Lock()
        self.future: Future = Future()
        if size == 0:
            self.future.set_result(({}, None))

    def done(self, bid: str, result, sender: Sender) -> None:
        with self.lock:
            if result is not MISSING:
                self.results[bid] = result
            self.outstanding -= 1
            finished = self.outstanding == 0
        if finished:
            self.future.set_result((self.results, sender.error))


def _send_one(client, op: Op):
    """One operation alone; returns the entity or the QboError (STOPS_THE_RUN faults raise)."""
    try:
        if op.operation == "create":
            return client.create(op.entity, op.payload, request_id=op.request_id)
        if op.operation == "update":
            try:
                return client.sparse_update(op.entity, op.qbo_id, op.sync_token, op.payload, request_id=op.request_id)
            except StaleSyncToken:
                # Someone edited it in QBO since our last push: our ledger is the source of truth.
                current = client.read(op.entity, op.qbo_id)
                return client.sparse_update(op.entity, op.qbo_id, current["SyncToken"], op.payload,
                                            request_id=request_id_for(op.request_id, current["SyncToken"]))
        if op.name_list:
            return client.deactivate(op.entity, op.qbo_id, op.sync_token, request_id=op.request_id)
        return client.delete(op.entity, op.qbo_id, op.sync_token, request_id=op.request_id)
    except STOPS_THE_RUN:
        raise
    except QboError as error:
        return error


def _send_batch(client, ops: list[Op], firm_id: int) -> dict:
    items = []
    for op in ops:
        if op.operation == "create":
            items.append({"bId": op.bid, "operation": "create", "entity": op.entity, "body": op.payload})
        elif op.operation == "update":
            body = dict(op.payload, Id=op.qbo_id, SyncToken=op.sync_token, sparse=True)
            items.append({"bId": op.bid, "operation": "update", "entity": op.entity, "body": body})
        elif op.name_list:
            body = {"Id": op.qbo_id, "SyncToken": op.sync_token, "sparse": True, "Active": False}
            items.append({"bId": op.bid, "operation": "update", "entity": op.entity, "body": body})
        else:
            items.append({"bId": op.bid, "operation": "delete", "entity": op.entity,
                          "body": {"Id": op.qbo_id, "SyncToken": op.sync_token}})
    batch_id = request_id_for(firm_id, "batch", *sorted(op.request_id for op in ops))
    try:
        results = client.batch(items, request_id=batch_id)
    except STOPS_THE_RUN:
        raise
    except TransientError:
        # Refused as a whole after the client's retries (a 5xx, or a SystemFault with any status):
        # creates keep their pending_request_id and are looked up before the next attempt.
        return {}
    except QboError:
        # The batch request itself was refused (a 400 to the envelope, JSON or XML): none of its
        # items ran, so each goes again alone and gets its own answer.
        return {op.bid: _send_one(client, op) for op in ops}
    out = {}
    for op in ops:
        result = results.get(op.bid)
        if result is None:
            continue
        if isinstance(result, StaleSyncToken):
            result = _send_one(client, op)  # re-read the SyncToken and update alone
        out[op.bid] = result
    return out
