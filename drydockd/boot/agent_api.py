"""The node agent's calls, turned into work-plane reports.

The agent POSTs ``/v1/agent/<node>/<step>`` with its token in the
``X-Drydock-Token`` header and a body of ``key=value`` lines, and gets
``key=value`` lines back (docs/provisioning.md). Each accepted call
becomes a ``node_agent_resp`` report for the receiver, which stays the
only writer of the database: the history step it opens or closes, the
node's progress, its inventory, and in the end the node's result.

A call whose token is not the node's current one is refused (403). If
the node is being provisioned, the refusal also ends its provisioning
with an error: an agent that does not hold the token drydock gave it is
not drydock's agent, and nothing it says is believed.
"""

import logging
import re

from drydockd.messaging import schemas

LOG = logging.getLogger(__name__)

# History steps of each kind of agent work, in order.
STEPS = {'deploy': ('boot', 'inspect', 'write_image', 'reboot',
                    'first_boot'),
         'inspect': ('boot', 'inspect'),
         'wipe': ('boot', 'inspect', 'wipe')}
# The step that ``writing``, ``progress`` calls are about, per kind.
LONG_STEP = {'deploy': 'write_image', 'wipe': 'wipe'}
MAX_BODY = 64 * 1024
MAX_MESSAGE = 500
_MAC = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')
_DEV = re.compile(r'^[A-Za-z0-9_.-]{1,32}$')
_PRINTABLE = re.compile(r'[^\x20-\x7e]')


class Refused(Exception):
    """The call is refused: ``status`` and a one-line reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_body(text):
    """``key=value`` lines -> list of (key, value)."""
    pairs = []
    for line in text.splitlines():
        key, sep, value = line.partition('=')
        if sep and key.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


def parse_inventory(pairs):
    """The agent's inventory lines -> drydock's inventory dict.

    :raises: Refused(400) for a value that is not what the agent sends.
    """
    inv = {'cpus': None, 'memory_mb': None, 'disks': [], 'nics': []}
    try:
        for key, value in pairs:
            if key == 'cpus':
                inv['cpus'] = int(value)
            elif key == 'memory_bytes':
                inv['memory_mb'] = int(value) // (1024 * 1024)
            elif key == 'disk':
                name, size = value.split()
                if not _DEV.match(name):
                    raise ValueError(name)
                inv['disks'].append({'name': name, 'size_bytes': int(size)})
            elif key == 'nic':
                name, mac = value.split()
                if not _DEV.match(name) or not _MAC.match(mac.lower()):
                    raise ValueError(name)
                inv['nics'].append({'name': name, 'mac': mac.lower()})
    except ValueError:
        raise Refused('400 Bad Request', 'inventory line not understood')
    return inv


def _clean(text):
    return _PRINTABLE.sub('?', text or '')[:MAX_MESSAGE]


class AgentAPI:
    """Checks each call's token, reports what it says, answers the agent.

    :param registry: the boot service's :class:`provisions.Registry`.
    :param send: ``callable(report)``, which publishes a report for the
        receiver (raises if the work plane is unavailable).
    :param now: the clock (naive UTC).
    """

    def __init__(self, registry, send, now=schemas.utcnow):
        self.registry = registry
        self.send = send
        self.now = now

    def call(self, node, step, token, body):
        """Handle one call; returns the answer's ``key=value`` lines.

        :raises: Refused.
        """
        prov = self.registry.get(node)
        if prov is None or prov.phase == 'ended':
            raise Refused('403 Forbidden', 'no provisioning under way')
        if not self.registry.tokens.check(node, token):
            LOG.warning('Refused an agent call (%s) for node %s: wrong '
                        'token', step, prov.name)
            self.fail(prov, 'agent call refused: wrong token')
            raise Refused('403 Forbidden', 'wrong token')
        handler = {'start': self._step_start, 'writing': self._step_writing,
                   'progress': self._step_progress,
                   'written': self._step_written, 'wiped': self._step_wiped,
                   'error': self._step_error, 'done': self._step_done,
                   'firstboot': self._step_firstboot}.get(step)
        if handler is None:
            raise Refused('404 Not Found', 'no such step')
        return handler(prov, parse_body(body))

    # Reports -----------------------------------------------------------

    def _report(self, prov, *entries):
        self.send(schemas.report(schemas.NODE_AGENT_REPORT, prov.task,
                                 nodes=list(entries)))

    def _step(self, prov, name, status, **extra):
        """A history entry for ``name``; its start is remembered."""
        now = self.now()
        started = prov.step_started.setdefault(name, now)
        if status == 'running':
            return schemas.node_entry(prov.node, now, name, status, **extra)
        return schemas.node_entry(prov.node, now, name, status,
                                  time_start=schemas.format_time(started),
                                  **extra)

    def fail(self, prov, message):
        """End the node's provisioning with ``message``: the step it is
        in (``boot`` before the agent called) fails with it."""
        if self.registry.end(prov.node) is None:
            return
        entries = []
        for name in STEPS[prov.action]:
            if name in prov.closed:
                continue
            if name in prov.step_started or name == 'boot':
                entries.append(self._step(prov, name, 'error',
                                          error_msg=message))
            break
        entries.append(schemas.node_entry(
            prov.node, self.now(), agent_result='failure',
            message='node %s: %s' % (prov.name, message)))
        self._report(prov, *entries)

    def _close(self, prov, name, status='ready', **extra):
        prov.closed.add(name)
        return self._step(prov, name, status, **extra)

    # Steps -------------------------------------------------------------

    def _step_start(self, prov, pairs):
        """The agent is up: the boot is over, and here is the inventory."""
        inventory = parse_inventory(pairs)
        if prov.problem:
            self.fail(prov, prov.problem)
            return {'action': 'none', 'then': 'poweroff'}
        prov.phase = 'agent'
        prov.step_started.setdefault('boot', prov.booted_at or self.now())
        entries = [self._close(prov, 'boot'),
                   self._close(prov, 'inspect', summary=inventory),
                   schemas.node_entry(prov.node, self.now(),
                                      inventory=inventory)]
        answer = {'action': prov.action}
        if prov.action == 'deploy':
            answer.update(image_url=prov.image['url'],
                          image_sha256=prov.image['sha256'],
                          image_format=prov.image['format'],
                          image_size=str(prov.image['size']))
        self._report(prov, *entries)
        return answer

    def _long_step(self, prov):
        step = LONG_STEP.get(prov.action)
        if step is None:
            raise Refused('409 Conflict', 'no such step for %s'
                          % prov.action)
        return step

    def _step_writing(self, prov, pairs):
        """The image writing (or the wipe) begins."""
        self._report(prov, self._step(prov, self._long_step(prov),
                                      'running'),
                     schemas.node_entry(prov.node, self.now(), progress=0))
        return {}

    def _step_progress(self, prov, pairs):
        step = self._long_step(prov)
        try:
            percent = max(0, min(100, int(dict(pairs).get('progress', 0))))
        except ValueError:
            raise Refused('400 Bad Request', 'progress is not a number')
        # Node progress spans the whole provisioning; writing is 10-90.
        self._report(prov, schemas.node_entry(
            prov.node, self.now(), step, 'running',
            custom={'progress': percent}, progress=10 + percent * 8 // 10))
        return {}

    def _step_written(self, prov, pairs):
        if prov.action != 'deploy':
            raise Refused('409 Conflict', 'not deploying')
        fields = dict(pairs)
        self._report(prov, self._close(
            prov, 'write_image', custom={'progress': 100},
            summary={'disk': _clean(fields.get('disk')),
                     'sha256': _clean(fields.get('sha256'))}))
        return {}

    def _step_wiped(self, prov, pairs):
        if prov.action != 'wipe':
            raise Refused('409 Conflict', 'not wiping')
        self._report(prov, self._close(
            prov, 'wipe', custom={'progress': 100},
            summary={'disks': _clean(dict(pairs).get('disks'))}))
        return {}

    def _step_error(self, prov, pairs):
        self.fail(prov, _clean(dict(pairs).get('message'))
                   or 'the agent failed without saying why')
        return {'then': 'poweroff'}

    def _step_done(self, prov, pairs):
        if prov.action == 'deploy':
            if 'write_image' not in prov.closed:
                self.fail(prov, 'agent finished before the image was '
                                 'written')
                return {'then': 'poweroff'}
            prov.phase = 'rebooting'
            self._report(prov, self._step(prov, 'reboot', 'running'),
                         schemas.node_entry(prov.node, self.now(),
                                            progress=90))
            return {'then': 'reboot'}
        if prov.action == 'wipe' and 'wipe' not in prov.closed:
            self.fail(prov, 'agent finished before the disks were wiped')
            return {'then': 'poweroff'}
        self.registry.end(prov.node)
        done = {'wipe': 'disks wiped, powering off',
                'inspect': 'inspected, powering off'}[prov.action]
        self._report(prov, schemas.node_entry(
            prov.node, self.now(), agent_result='success',
            message='node %s: %s' % (prov.name, done)))
        return {'then': 'poweroff'}

    def _step_firstboot(self, prov, pairs):
        """The deployed system's first boot: the provisioning is over."""
        if prov.phase != 'rebooting':
            raise Refused('409 Conflict', 'not rebooting')
        self.registry.end(prov.node)
        self._report(prov, self._close(prov, 'reboot'),
                     self._close(prov, 'first_boot'),
                     schemas.node_entry(
                         prov.node, self.now(), status='provisioned',
                         progress=100, agent_result='success',
                         message='node %s: deployed system booted'
                         % prov.name))
        return {}
