"""What a design may make the master node read and run ([site] options).

A ``design_ref`` comes from whoever may create a task, and the design it
names decides what the executor runs. Two things would otherwise make the
master node a tool for any caller, so both are bounded here, in one place
that the manager (at validation) and the executor (at run time) share:

- **Where a reference may point.** A ``file://`` reference must resolve
  (its real path, symbolic links followed) inside one of
  ``design_file_roots``; an ``http(s)://`` one must name a host and port
  in ``design_http_hosts``. Anything else is refused before it is
  fetched, with one line naming the option. The check returns the
  reference to fetch: for ``file://``, the resolved real path, so a link
  swapped after the check is not followed to somewhere else.
- **Commands on the master node.** A graph task placed on the master
  (``master_shell``, or any task with role ``master``) runs as the
  daemon's user on the master itself. It is allowed only when
  ``allow_master_shell`` is on and its command is one of
  ``master_shell_commands``, written exactly. Tasks that run nothing
  (stage, sync, noop, skipped) and BMC actions are not commands.

:data:`OPEN` is the policy with no bound, for code and tests that handle
designs without a site (the sample's tools); services build theirs with
:meth:`Policy.from_conf`.
"""

import dataclasses
import os
import urllib.parse

from drydockd.common import exception
from drydockd.graph import vocabulary
from drydockd.site import fetch

# Task types a master placement runs without a command.
NOT_COMMANDS = vocabulary.INSTANT_TYPES | vocabulary.POWER_TYPES
DEFAULT_PORTS = {'http': 80, 'https': 443}


@dataclasses.dataclass(frozen=True)
class Policy:
    """:param file_roots: real paths of the allowed directories, or None
        for any file.
    :param http_hosts: ``(host, port)`` pairs (port None: the scheme's
        default), or None for any server.
    :param master_shell: whether master tasks may run at all.
    :param master_commands: the commands they may run, or None for any.
    """

    file_roots: tuple = None
    http_hosts: frozenset = None
    master_shell: bool = True
    master_commands: frozenset = None

    @classmethod
    def from_conf(cls, conf):
        group = conf.site
        roots = tuple(os.path.realpath(r) for r in group.design_file_roots
                      if r and os.path.isabs(r))
        hosts = frozenset(_host_entry(e) for e in group.design_http_hosts
                          if e.strip())
        commands = frozenset(c for c in group.master_shell_commands if c)
        return cls(roots, hosts, group.allow_master_shell, commands)

    @property
    def key(self):
        """What validation results depend on (the design cache's key)."""
        if not self.master_shell:
            return 'off'
        if self.master_commands is None:
            return 'any'
        return repr(sorted(self.master_commands))

    # -- references --------------------------------------------------------

    def resolve(self, ref):
        """The reference to fetch for ``ref``.

        :raises: InvalidInput (one line naming the option) when ``ref``
            points outside the configured roots and hosts.
        """
        if not isinstance(ref, str):
            return ref          # fetch refuses it with its own words
        parsed = urllib.parse.urlparse(ref)
        if parsed.scheme == 'file' and self.file_roots is not None:
            return self._resolve_file(ref, parsed)
        if parsed.scheme in DEFAULT_PORTS and self.http_hosts is not None:
            self._check_host(ref, parsed)
        return ref

    def _resolve_file(self, ref, parsed):
        path = urllib.parse.unquote(parsed.path)
        if parsed.netloc or not os.path.isabs(path) or '\0' in path:
            return ref          # fetch refuses it with its own words
        real = os.path.realpath(path)
        if not any(_inside(real, root) for root in self.file_roots):
            raise exception.InvalidInput(reason=(
                'design_ref %s is outside the directories designs may be '
                'read from ([site] design_file_roots: %s)' % (
                    _shown(ref), ', '.join(self.file_roots) or 'none')))
        return 'file://' + urllib.parse.quote(real)

    def _check_host(self, ref, parsed):
        try:
            host = (parsed.hostname or '').lower()
            port = parsed.port
        except ValueError:
            return              # fetch refuses it with its own words
        default = DEFAULT_PORTS[parsed.scheme]
        wanted = {(host, port or default)}
        if port in (None, default):
            wanted.add((host, None))
        if not wanted & self.http_hosts:
            raise exception.InvalidInput(reason=(
                'design_ref %s names a server designs may not be fetched '
                'from ([site] design_http_hosts: %s)' % (
                    _shown(ref), ', '.join(sorted(
                        _host_text(h) for h in self.http_hosts))
                    or 'none')))

    # -- master-node commands ----------------------------------------------

    def master_refusal(self, task):
        """Why ``task``, placed on the master node, may not run there (a
        sentence), or None."""
        kind = task.get('type')
        if isinstance(kind, str) and kind in NOT_COMMANDS:
            return None
        if not self.master_shell:
            return ('runs a command on the master node, and master-node '
                    'commands are off ([site] allow_master_shell)')
        params = task.get('parameters')
        command = params.get('command') if isinstance(params, dict) else None
        if self.master_commands is not None and \
                command not in self.master_commands:
            return ('its command is not one of [site] '
                    'master_shell_commands')
        return None

    def design_problems(self, task):
        """``(field, problem)`` for a design task that would run on the
        master node and may not, or None."""
        if not isinstance(task, dict) or not runs_on_master(task):
            return None
        reason = self.master_refusal(task)
        if reason is None:
            return None
        if self.master_shell:
            return 'parameters.command', reason
        return ('type' if task.get('type') == 'master_shell' else 'roles'), \
            reason


OPEN = Policy()


def runs_on_master(task):
    """Whether a design task is placed on the master node (as
    graph.serializer.place decides)."""
    if task.get('type') == 'master_shell':
        return True
    roles = task.get('roles', task.get('groups'))
    roles = [roles] if isinstance(roles, str) else roles
    return isinstance(roles, list) and vocabulary.MASTER in roles


def _inside(path, root):
    return path == root or path.startswith(root.rstrip('/') + '/')


def _host_entry(entry):
    """``host``, ``host:port`` or ``[v6]:port`` -> ``(host, port|None)``."""
    parsed = urllib.parse.urlsplit('//' + entry.strip())
    return (parsed.hostname or '').lower(), parsed.port


def _host_text(pair):
    host, port = pair
    if ':' in host:
        host = '[%s]' % host
    return host if port is None else '%s:%d' % (host, port)


def _shown(ref):
    """The reference as an error may show it: no credentials, bounded."""
    text = fetch.safe_ref(ref)
    return text if len(text) <= 200 else text[:197] + '...'
