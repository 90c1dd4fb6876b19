"""The ``ssh`` node transport: the OpenSSH client, one process per task.

How a task runs:

- on a node: ``ssh -T -o BatchMode=yes -o StrictHostKeyChecking=yes
  -o ConnectTimeout=N [-p port] [-l user] [-i key] -- HOST REMOTE``.
  Batch mode never prompts; an unknown or changed host key fails the task
  (exit 255) instead of trusting it. HOST is the node's ``ssh.host`` fact,
  else its name.
- on ``master`` (``master_shell``): ``/bin/sh -c COMMAND`` locally.
- ``reboot``: read the node's boot id, run ``parameters.command`` (default
  ``shutdown -r now``), then poll until the boot id changes, all within
  the task's timeout.
- ``power_on`` / ``power_off`` need the BMC, not a shell: they fail here
  with a message saying so (the executor routes them to the OOB layer).

Node facts (uid, name, roles, rack, task id, attempt, and the task's own
``parameters.environment``) reach the command as environment variables.
sshd hands the remote command line to the user's shell, and SendEnv
depends on the server's AcceptEnv, so REMOTE is built as
``env NAME=VALUE ... /bin/sh -c COMMAND`` with every word through
``shlex.quote``: a value is always one literal word, never shell syntax.
Names must match ``[A-Z_][A-Z0-9_]*``. The COMMAND is the design's, run
by ``sh`` as written; facts are never interpolated into it.

Each process gets a new session (its group is killed on timeout, SIGTERM
then SIGKILL), stdin from /dev/null, and stdout/stderr in temporary files
whose last ``output_tail_bytes`` go into the report's ``summary``
(``exit_code``, ``stdout_tail``, ``stderr_tail``, ``duration``), so a
chatty command never grows the executor's memory.

Options come from the ``[ssh]`` config group when it is registered, else
the defaults below; keyword arguments override both (tests).
"""

import logging
import os
import re
import shlex
import signal
import subprocess
import tempfile
import threading
import time

from drydockd.executor.transports import base
from drydockd.graph.vocabulary import MASTER

LOG = logging.getLogger(__name__)

DEFAULTS = {'ssh_binary': 'ssh', 'user': None, 'port': None,
            'identity_file': None, 'known_hosts_file': None,
            'connect_timeout': 10, 'output_tail_bytes': 4096,
            'reboot_poll_interval': 5.0}
ENV_NAME = re.compile(r'^[A-Z_][A-Z0-9_]*$')
HOST = re.compile(r'^[A-Za-z0-9_.:%\[\]][A-Za-z0-9_.:%\[\]-]*$')
USER = re.compile(r'^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$')
KILL_GRACE = 2.0


class SSHTransport(base.NodeTransport):

    boot_id_command = 'cat /proc/sys/kernel/random/boot_id'

    def __init__(self, conf=None, **overrides):
        settings = dict(DEFAULTS)
        group = getattr(conf, 'ssh', None) if conf is not None else None
        for key in DEFAULTS:
            value = getattr(group, key, None) if group is not None else None
            if value is not None:
                settings[key] = value
        settings.update(overrides)
        self.settings = settings
        self._procs = set()
        self._lock = threading.Lock()
        self._closed = False

    def start(self, uid, task, timeout, on_done):
        threading.Thread(target=self._run, args=(uid, task, timeout, on_done),
                         daemon=True,
                         name='ssh-%s-%s' % (uid, task.get('id'))).start()

    def close(self):
        """Kill every command still running (their callbacks still fire)."""
        with self._lock:
            self._closed = True
            procs = list(self._procs)
        for proc in procs:
            _kill(proc)

    def _run(self, uid, task, timeout, on_done):
        try:
            ok, message, summary = self.execute(uid, task, timeout)
        except Exception as exc:  # noqa: BLE001 - report, never vanish
            LOG.exception('ssh transport failed on node %s', uid)
            ok, message, summary = False, 'ssh transport failure: %s' % exc, {}
        on_done(ok, message, summary)

    def execute(self, uid, task, timeout):
        """Run one task synchronously; returns ``(ok, message, summary)``."""
        kind = task.get('type')
        if kind in ('power_on', 'power_off'):
            return False, ('task type %s needs the OOB (IPMI) layer; the ssh '
                           'transport cannot run it' % kind), {}
        try:
            env = facts_env(uid, task)
        except ValueError as exc:
            return False, str(exc), {}
        params = task.get('parameters') or {}
        if kind == 'reboot':
            return self._reboot(uid, task, env, timeout)
        command = params.get('command')
        if not command:
            return False, 'task %s has no parameters.command' % task['id'], {}
        if str(uid) == MASTER or kind == 'master_shell':
            return self.call(['/bin/sh', '-c', command], timeout,
                             env=dict(os.environ, **env))
        try:
            argv = self.ssh_argv(uid, task, remote_command(command, env))
        except ValueError as exc:
            return False, str(exc), {}
        return self.call(argv, timeout)

    def ssh_argv(self, uid, task, remote):
        """The OpenSSH client command line; raises ValueError on a host,
        user or port that could be read as an option."""
        settings = self.settings
        node = task.get('node') or {}
        ssh = node.get('ssh') or {}
        host = str(ssh.get('host') or node.get('name') or uid)
        if not HOST.match(host):
            raise ValueError('node %s: bad ssh host %r' % (uid, host))
        argv = [settings['ssh_binary'], '-T', '-o', 'BatchMode=yes',
                '-o', 'StrictHostKeyChecking=yes',
                '-o', 'ConnectTimeout=%d' % int(settings['connect_timeout']),
                '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=3']
        if settings['known_hosts_file']:
            argv += ['-o', 'UserKnownHostsFile=%s'
                     % settings['known_hosts_file']]
        if settings['identity_file']:
            argv += ['-i', settings['identity_file'],
                     '-o', 'IdentitiesOnly=yes']
        port = ssh.get('port') or settings['port']
        if port:
            if isinstance(port, bool) or not 0 < int(port) < 65536:
                raise ValueError('node %s: bad ssh port %r' % (uid, port))
            argv += ['-p', str(int(port))]
        user = ssh.get('user') or settings['user']
        if user:
            if not USER.match(str(user)):
                raise ValueError('node %s: bad ssh user %r' % (uid, user))
            argv += ['-l', str(user)]
        return argv + ['--', host, remote]

    def call(self, argv, timeout, env=None):
        """Run a process to its end or ``timeout``; ``(ok, msg, summary)``."""
        started = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=err, env=env,
                                        start_new_session=True)
            except OSError as exc:
                return False, 'could not run %s: %s' % (
                    argv[0], exc.strerror), {}
            with self._lock:
                self._procs.add(proc)
                closed = self._closed
            if closed:
                _kill(proc)
            timed_out = False
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill(proc)
            finally:
                with self._lock:
                    self._procs.discard(proc)
            tail = int(self.settings['output_tail_bytes'])
            summary = {'exit_code': proc.returncode,
                       'duration': round(time.monotonic() - started, 3),
                       'stdout_tail': _tail(out, tail),
                       'stderr_tail': _tail(err, tail)}
        if timed_out:
            summary['timed_out'] = True
            return False, 'timed out after %ss' % _seconds(timeout), summary
        if proc.returncode == 0:
            return True, None, summary
        last = _last_line(summary['stderr_tail'])
        if proc.returncode == 255 and argv[0] == self.settings['ssh_binary']:
            return False, 'ssh failed (exit 255): %s' % last, summary
        return False, 'command exited with status %s: %s' % (
            proc.returncode, last), summary

    def _reboot(self, uid, task, env, timeout):
        """Reboot through the node's shell and wait for a new boot id."""
        deadline = time.monotonic() + timeout
        probe_timeout = int(self.settings['connect_timeout']) + 10
        try:
            probe = self.ssh_argv(uid, task, self.boot_id_command)
            command = (task.get('parameters') or {}).get('command') \
                or 'shutdown -r now'
            reboot = self.ssh_argv(uid, task, remote_command(command, env))
        except ValueError as exc:
            return False, str(exc), {}
        ok, message, summary = self.call(probe, min(timeout, probe_timeout))
        before = summary.get('stdout_tail', '').strip()
        if not ok or not before:
            return False, 'could not read the boot id before rebooting: %s' \
                % (message or 'empty answer'), summary
        # The connection usually drops mid-command: its status means nothing.
        self.call(reboot, max(0.1, min(deadline - time.monotonic(), 60)))
        while time.monotonic() < deadline:
            time.sleep(max(0.0, min(float(self.settings[
                'reboot_poll_interval']), deadline - time.monotonic())))
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ok, _, summary = self.call(probe, min(left, probe_timeout))
            after = summary.get('stdout_tail', '').strip()
            if ok and after and after != before:
                return True, None, {'boot_id': after}
        return False, 'node %s did not come back from reboot within %ss' % (
            uid, _seconds(timeout)), {'boot_id': before}


def facts_env(uid, task):
    """Environment variables for a task's command: node facts first, the
    task's ``parameters.environment`` on top; raises ValueError on a name
    that is not an environment variable name."""
    node = task.get('node') or {}
    env = {'DRYDOCK_NODE_UID': str(uid), 'DRYDOCK_TASK': str(task['id']),
           'DRYDOCK_ATTEMPT': str(task.get('attempt', 1))}
    if node.get('name') is not None:
        env['DRYDOCK_NODE_NAME'] = str(node['name'])
    if node.get('roles') is not None:
        env['DRYDOCK_NODE_ROLES'] = ','.join(str(r) for r in node['roles'])
    if node.get('rack') is not None:
        env['DRYDOCK_NODE_RACK'] = str(node['rack'])
    extra = (task.get('parameters') or {}).get('environment') or {}
    for name, value in extra.items():
        if not ENV_NAME.match(str(name)):
            raise ValueError('task %s: bad environment variable name %r'
                             % (task['id'], name))
        env[str(name)] = '' if value is None else str(value)
    return {k: v.replace('\0', '') for k, v in env.items()}


def remote_command(command, env):
    """``env NAME=VALUE ... /bin/sh -c COMMAND``, every word quoted."""
    words = ['env'] + [shlex.quote('%s=%s' % item)
                       for item in sorted(env.items())]
    return ' '.join(words + ['/bin/sh', '-c', shlex.quote(command)])


def _kill(proc):
    """SIGTERM the process group, SIGKILL it after a grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(handle, size):
    handle.seek(0, os.SEEK_END)
    handle.seek(max(0, handle.tell() - size))
    return handle.read().decode('utf-8', 'replace')


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else 'no error output'


def _seconds(value):
    return ('%g' % value) if isinstance(value, float) else str(value)
