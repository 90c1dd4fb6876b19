"""Which machines asked dnsmasq for an address, read from its DHCP log.

dnsmasq logs every DHCP and PXE exchange (``log-dhcp``), and says
``ignored`` for a machine it does not answer: one whose MAC no design
node has. The boot service keeps the last time each MAC asked, so a
node that never boots over the network can be told apart from one whose
NIC is not the MAC the design gives (docs/provisioning.md, "When a node
never asks").
"""

import logging
import re
import threading

from drydockd.common import timeutils

LOG = logging.getLogger(__name__)
# "DHCPDISCOVER(br0) 52:54:00:77:00:03 ignored",
# "DHCPREQUEST(br0) 10.77.0.11 52:54:00:77:00:01", "PXE(br0) 10.77.0.9
# 52:54:00:77:00:01 proxy".
_EXCHANGE = re.compile(
    r'\b(?:DHCP[A-Z]+|PXE)\([^)]*\) (?:[0-9.]+ )?'
    r'((?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2})(.*)$')
MAX_MACS = 4096


class Sightings:
    """MAC -> when it last asked (answered or ignored). Thread-safe."""

    def __init__(self, now=timeutils.utcnow):
        self.now = now
        self._lock = threading.Lock()
        self._asked = {}
        self._ignored = {}

    def feed(self, line):
        """Take one dnsmasq log line."""
        found = _EXCHANGE.search(line)
        if not found:
            return
        mac = found.group(1).lower()
        ignored = 'ignored' in found.group(2)
        with self._lock:
            table = self._ignored if ignored else self._asked
            first = mac not in table
            if first and len(table) >= MAX_MACS:
                # A flood of made-up MACs must not grow this without end.
                table.pop(next(iter(table)))
            table[mac] = self.now()
        if ignored and first:
            LOG.warning('DHCP from %s, which no node of the design has: '
                        'not answered', mac)

    def asked_since(self, mac, since):
        """True if ``mac`` asked and was answered at or after ``since``."""
        with self._lock:
            at = self._asked.get((mac or '').lower())
        return at is not None and at >= since

    def ignored_since(self, since):
        """MACs dnsmasq ignored at or after ``since``, sorted."""
        with self._lock:
            return sorted(m for m, at in self._ignored.items()
                          if at >= since)
