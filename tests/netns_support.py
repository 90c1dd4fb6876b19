"""Network namespaces for the boot tests: a bridge, taps and veths.

Everything lives inside namespaces this module creates (names start with
``ddt``), and :meth:`Lab.close` deletes them, so no packet ever leaves
the machine. Needs root.
"""

import secrets
import subprocess


def ip(*args, check=True):
    return subprocess.run(('ip',) + args, capture_output=True, text=True,
                          check=check, timeout=30)


class Lab:
    """A namespace with bridge ``br0`` at ``server``/24, and client
    namespaces or taps plugged into it."""

    def __init__(self, server='10.77.0.1'):
        self.tag = secrets.token_hex(3)
        self.ns = 'ddt%s' % self.tag
        self.server = server
        self.extra = []
        ip('netns', 'add', self.ns)
        try:
            self.run('ip', 'link', 'set', 'lo', 'up')
            self.run('ip', 'link', 'add', 'br0', 'type', 'bridge')
            self.run('ip', 'addr', 'add', server + '/24', 'dev', 'br0')
            self.run('ip', 'link', 'set', 'br0', 'up')
        except Exception:
            self.close()
            raise

    def argv(self, *argv):
        """``argv`` run inside the lab's namespace."""
        return ('ip', 'netns', 'exec', self.ns) + tuple(argv)

    def run(self, *argv, check=True, timeout=30):
        return subprocess.run(self.argv(*argv), capture_output=True,
                              text=True, check=check, timeout=timeout)

    def add_tap(self, name):
        """A tap on the bridge, for a QEMU started inside the lab."""
        self.run('ip', 'tuntap', 'add', name, 'mode', 'tap')
        self.run('ip', 'link', 'set', name, 'master', 'br0')
        self.run('ip', 'link', 'set', name, 'up')
        return name

    def add_client(self, mac):
        """A namespace whose only NIC (``eth0``, ``mac``) is on the
        bridge; returns its name."""
        client = 'ddc%s%d' % (self.tag, len(self.extra))
        ip('netns', 'add', client)
        self.extra.append(client)
        port = 'v%s%d' % (self.tag, len(self.extra))
        ip('link', 'add', port, 'netns', self.ns, 'type', 'veth', 'peer',
           'name', 'eth0', 'netns', client)
        self.run('ip', 'link', 'set', port, 'master', 'br0')
        self.run('ip', 'link', 'set', port, 'up')
        subprocess.run(('ip', 'netns', 'exec', client, 'ip', 'link', 'set',
                        'eth0', 'address', mac), check=True, timeout=30)
        subprocess.run(('ip', 'netns', 'exec', client, 'ip', 'link', 'set',
                        'eth0', 'up'), check=True, timeout=30)
        return client

    def close(self):
        for name in self.extra + [self.ns]:
            ip('netns', 'del', name, check=False)
        self.extra = []
