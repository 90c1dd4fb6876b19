"""Parsed, validated designs kept by the sha256 of their bytes.

The executor loads the design for every work message and the manager for
every task; a large design costs seconds to parse and validate, and it is
usually the same bytes each time. The bytes are still fetched every time
(the file may have changed), and only their digest decides whether the
parse can be skipped.

A design is kept as a ``marshal`` blob and every ``get`` rebuilds fresh
objects from it (about 40 ms for 5,000 nodes): a caller may change what it
got without changing what the next caller gets. The cache holds at most
``max_entries`` designs and ``max_bytes`` of blobs, dropping the least
recently used first.
"""

import collections
import hashlib
import marshal
import threading


def digest(data):
    return hashlib.sha256(data).hexdigest()


class DesignCache:

    def __init__(self, max_entries=8, max_bytes=64 * 1024 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._blobs = collections.OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        """A fresh copy of the design stored under ``key``, or None."""
        with self._lock:
            blob = self._blobs.get(key)
            if blob is None:
                self.misses += 1
                return None
            self._blobs.move_to_end(key)
            self.hits += 1
        return marshal.loads(blob)

    def put(self, key, doc):
        """Keep ``doc`` (plain JSON data) under ``key``."""
        blob = marshal.dumps(doc)
        if len(blob) > self.max_bytes:
            return
        with self._lock:
            old = self._blobs.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._blobs[key] = blob
            self._size += len(blob)
            while len(self._blobs) > self.max_entries or \
                    self._size > self.max_bytes:
                _, dropped = self._blobs.popitem(last=False)
                self._size -= len(dropped)

    def clear(self):
        with self._lock:
            self._blobs.clear()
            self._size = 0

    def __len__(self):
        return len(self._blobs)
