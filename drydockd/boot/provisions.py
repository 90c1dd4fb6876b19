"""The boot service's view of which nodes are being provisioned.

The database says which nodes a running agent action holds (the boot
service only reads it; the receiver stays the only writer). For each
such node the boot service keeps a :class:`Provisioning`: what the agent
is to do, and how far it got, which decides the node's iPXE script (the
deploy ramdisk until the agent asked to reboot, the local disk after).
"""

import dataclasses
import datetime
import threading

# Agent actions and what the agent does for each.
AGENT_WORK = {'provision_nodes': 'deploy', 'inspect_nodes': 'inspect',
              'destroy_nodes': 'wipe'}
# Phases: handed the ramdisk (booting), agent talking (agent), image on
# disk and rebooting into it (rebooting).
NETBOOT_PHASES = ('waiting', 'booting', 'agent')


@dataclasses.dataclass
class Provisioning:
    """One node's part of one agent action.

    :param node: the node's uid (its id, as a string).
    :param image: ``{name, url, sha256, format, size}`` for deploy.
    """

    node: str
    name: str
    mac: str
    task: str
    action: str
    image: dict | None = None
    phase: str = 'waiting'
    booted_at: datetime.datetime | None = None
    step_started: dict = dataclasses.field(default_factory=dict)
    closed: set = dataclasses.field(default_factory=set)
    # Why the work cannot be done (a missing image): the agent's first
    # call ends the node with it.
    problem: str | None = None
    # When the executor power-cycled the node (None until it did).
    since: datetime.datetime | None = None

    @property
    def netboots(self):
        """True while the node must boot the deploy ramdisk."""
        return self.phase in NETBOOT_PHASES


class Registry:
    """Provisionings by node uid, and the design's nodes by MAC."""

    def __init__(self, tokens):
        self.tokens = tokens
        self._lock = threading.Lock()
        self._by_node = {}
        self._macs = {}

    def set_macs(self, macs):
        """``{mac: (uid, name)}`` of every node the design knows."""
        with self._lock:
            self._macs = {m.lower(): v for m, v in macs.items()}

    def node_of_mac(self, mac):
        with self._lock:
            return self._macs.get((mac or '').lower())

    def sync(self, current):
        """Make the registry hold exactly ``current`` (Provisionings from
        the database). A node whose task changed starts afresh; one that
        left loses its token."""
        with self._lock:
            keep = {}
            for prov in current:
                old = self._by_node.get(prov.node)
                if old is not None and old.task == prov.task:
                    old.since = old.since or prov.since
                    keep[prov.node] = old
                else:
                    keep[prov.node] = prov
            gone = set(self._by_node) - set(keep)
            renewed = {n for n, p in keep.items()
                       if self._by_node.get(n) is not None
                       and self._by_node[n] is not p}
            self._by_node = keep
        for node in gone | renewed:
            self.tokens.revoke(node)

    def get(self, node):
        with self._lock:
            return self._by_node.get(node)

    def not_booted(self, before):
        """Provisionings whose node was power-cycled before ``before``
        and has not fetched its iPXE script since."""
        with self._lock:
            return [p for p in self._by_node.values()
                    if p.phase == 'waiting' and p.since is not None
                    and p.since < before]

    def end(self, node):
        """The node's provisioning is over: forget it and its token."""
        with self._lock:
            prov = self._by_node.get(node)
            if prov is not None:
                prov.phase = 'ended'
        self.tokens.revoke(node)
        return prov
