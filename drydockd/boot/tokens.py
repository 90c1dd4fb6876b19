"""One-time agent tokens: one per provisioning of a node.

A token is drawn when the boot service hands a node its deploy ramdisk
(it rides on the kernel command line) and is good until that
provisioning ends, when it is forgotten: a token replayed afterwards, or
one that was never issued, is refused. Only a SHA-256 of each token is
kept, and tokens are compared in constant time. No token is ever logged,
put in an exception, a report or a task record.
"""

import hashlib
import hmac
import secrets
import threading

TOKEN_BYTES = 24


def _digest(token):
    return hashlib.sha256(token.encode('utf-8', 'replace')).digest()


class TokenBook:
    """Node uid -> the digest of its current token. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._digests = {}

    def issue(self, node):
        """A new token for ``node``; the node's previous one is void."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._lock:
            self._digests[node] = _digest(token)
        return token

    def check(self, node, token):
        """True if ``token`` is ``node``'s current token."""
        if not token:
            return False
        with self._lock:
            expected = self._digests.get(node)
        return expected is not None and hmac.compare_digest(
            expected, _digest(token))

    def revoke(self, node):
        """Forget ``node``'s token: its provisioning is over."""
        with self._lock:
            self._digests.pop(node, None)

    def holders(self):
        with self._lock:
            return set(self._digests)
