"""What each simulated BMC was sent, in order: the hardware's own record.

A test that must prove nothing touched a node (a dry run) reads this log
rather than trusting drydock's account of itself. Every IPMI packet a
simulated BMC handles is one entry: session set-up (``open_session``,
``get_channel_auth_capabilities``, ``get_channel_cipher_suites``) and
every command inside a session, named, with what it asked for
(``chassis_control`` / ``power off``). A client that never talks to the
BMC leaves no entry at all.

The last :data:`KEPT` entries stay in memory per node (:meth:`CallLog.of`;
a fleet that runs for days must not grow without end) and, when a path is
given (``drydock-fakebmc --call-log FILE``), are appended to that file as
one JSON object per line, flushed at once, so another process can read
them while the fleet runs (:func:`read`).
"""

import collections
import datetime
import json
import threading

# (netfn, command) -> name, for what pyghmi's Bmc hands on.
COMMANDS = {
    (6, 0x01): 'get_device_id', (6, 0x02): 'cold_reset',
    (6, 0x37): 'get_system_guid', (6, 0x48): 'activate_payload',
    (6, 0x49): 'deactivate_payload', (0, 0x01): 'get_chassis_status',
    (0, 0x02): 'chassis_control', (0, 0x08): 'set_system_boot_options',
    (0, 0x09): 'get_system_boot_options',
}
CHASSIS_CONTROL = {0: 'power off', 1: 'power on', 2: 'power cycle',
                   3: 'hard reset', 4: 'diagnostic interrupt',
                   5: 'soft off'}
# Sessionless packets (before a login): application commands by number.
SESSIONLESS = {0x38: 'get_channel_auth_capabilities',
               0x54: 'get_channel_cipher_suites'}
RMCP_PLUS_OPEN_SESSION = 0x10
# Entries kept in memory per node.
KEPT = 10000


def describe(request):
    """``(name, detail)`` of an in-session request pyghmi parsed."""
    key = (request.get('netfn'), request.get('command'))
    name = COMMANDS.get(key) or 'netfn 0x%02x command 0x%02x' % key
    data = request.get('data') or []
    detail = None
    if name == 'chassis_control' and data:
        detail = CHASSIS_CONTROL.get(data[0], 'directive %d' % data[0])
    elif name == 'set_system_boot_options' and data:
        detail = 'parameter %d' % (data[0] & 0x7f)
    return name, detail


def describe_sessionless(data):
    """The name of a sessionless IPMI packet, or None if it is not one."""
    if len(data) < 22 or data[0] != 6 or bytes(data[2:4]) != b'\xff\x07':
        return None
    if data[4] == 6:     # IPMI 2.0 / RMCP+
        if data[5] == RMCP_PLUS_OPEN_SESSION:
            return 'open_session'
        data = data[2:]
    return SESSIONLESS.get(data[19], 'sessionless command 0x%02x'
                           % data[19])


class CallLog:
    """Thread-safe record of calls per node; optionally also a file."""

    def __init__(self, path=None):
        self._lock = threading.Lock()
        self._calls = {}
        self._file = open(path, 'a') if path else None

    def record(self, node, command, detail=None):
        entry = {'time': datetime.datetime.now(datetime.UTC).isoformat(),
                 'node': node, 'command': command, 'detail': detail}
        with self._lock:
            if node not in self._calls:
                self._calls[node] = collections.deque(maxlen=KEPT)
            self._calls[node].append(entry)
            if self._file is not None:
                self._file.write(json.dumps(entry) + '\n')
                self._file.flush()

    def of(self, node):
        """Every entry for ``node``, oldest first."""
        with self._lock:
            return list(self._calls.get(node, ()))

    def close(self):
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read(path):
    """The entries a ``--call-log`` file holds so far, oldest first."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    # Only whole lines: the last one may still be being written.
    return [json.loads(line) for line in text.split('\n')[:-1] if line]
