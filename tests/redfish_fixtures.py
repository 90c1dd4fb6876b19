"""sushy-tools' Redfish emulator on loopback, for the Redfish driver's tests.

:class:`Emulator` runs ``sushy-emulator --fake`` in a subprocess on a free
TCP port with its own state directory, HTTP basic auth (bcrypt hashes of
few rounds, so a sweep does not measure bcrypt) and, optionally, TLS with a
certificate the test made (:func:`make_tls`). Its fake systems change
power 1-3 s after a reset (``reset_seconds``; sushy-tools' own 1-11 s
through :mod:`quick_sushy_emulator`), not at once, as real hardware.

:class:`NotifiedAgent` plays the node agents of the emulated systems: the
emulator tells it (its external notifier) when a system's state changes,
and a system that is on with PXE as its boot source is reported
``provisioned`` on the work plane, as drydock-fakebmc does for IPMI nodes.
"""

import datetime
import http.server
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
import types

import bcrypt
import requests

QUICK_EMULATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              'quick_sushy_emulator.py')
ACCOUNT = 'admin'
UUID = '6a0f5c1e-0000-4000-8000-%012d'


def free_tcp_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def make_tls(directory):
    """A CA and a server certificate for 127.0.0.1 signed by it.

    :returns: (ca_file, cert_file, key_file) paths.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def build(subject, issuer, key, signer, ca):
        builder = (x509.CertificateBuilder().subject_name(subject)
                   .issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca,
                                                        path_length=None),
                                  critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build(name('drydock test CA'), name('drydock test CA'), ca_key,
               ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(name('127.0.0.1'), ca.subject, key, ca_key, False)
    pem = serialization.Encoding.PEM
    paths = [os.path.join(directory, n)
             for n in ('ca.pem', 'bmc.pem', 'bmc.key')]
    with open(paths[0], 'wb') as f:
        f.write(ca.public_bytes(pem))
    with open(paths[1], 'wb') as f:
        f.write(cert.public_bytes(pem))
    with open(paths[2], 'wb') as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return tuple(paths)


class Emulator:
    """``sushy-emulator --fake`` serving ``count`` systems; a context
    manager.

    ``systems`` are (name, uuid) pairs: ``node01``.. and UUID % i.
    ``tls`` is (ca_file, cert_file, key_file) from :func:`make_tls`, or
    None for plain HTTP. ``notify_url`` turns the external notifier on.
    """

    def __init__(self, directory, count, password='redfish-secret',
                 tls=None, notify_url=None, power='Off', first=1,
                 reset_seconds=3):
        self.dir = str(directory)
        self.reset_seconds = reset_seconds
        self.password = password
        self.tls = tls
        self.port = free_tcp_port()
        scheme = 'https' if tls else 'http'
        self.url = '%s://127.0.0.1:%d' % (scheme, self.port)
        self.systems = [('node%02d' % i, UUID % i)
                        for i in range(first, first + count)]
        self._write_config(notify_url, power)
        self.log_path = os.path.join(self.dir, 'emulator.log')
        self.proc = None

    def _write_config(self, notify_url, power):
        auth = os.path.join(self.dir, 'htpasswd')
        hashed = bcrypt.hashpw(self.password.encode(),
                               bcrypt.gensalt(rounds=4)).decode()
        with open(auth, 'w') as f:
            f.write('%s:%s\n' % (ACCOUNT, hashed))
        systems = [{'uuid': uuid, 'name': name, 'power_state': power,
                    'external_notifier': bool(notify_url),
                    'nics': [{'mac': '52:54:00:00:%02x:%02x' % divmod(i, 256),
                              'ip': '127.0.0.1'}]}
                   for i, (name, uuid) in enumerate(self.systems)]
        settings = {'SUSHY_EMULATOR_FAKE_SYSTEMS': systems,
                    'SUSHY_EMULATOR_AUTH_FILE': auth,
                    'SUSHY_EMULATOR_STATE_DIR': os.path.join(self.dir,
                                                             'state')}
        if notify_url:
            settings['EXTERNAL_NOTIFICATION_URL'] = notify_url
        self.config = os.path.join(self.dir, 'emulator.conf')
        with open(self.config, 'w') as f:
            for key, value in settings.items():
                f.write('%s = %r\n' % (key, value))

    def __enter__(self):
        args = [sys.executable, QUICK_EMULATOR, str(self.reset_seconds),
                '--fake', '-i', '127.0.0.1', '-p', str(self.port),
                '--config', self.config]
        if self.tls:
            args += ['--ssl-certificate', self.tls[1], '--ssl-key',
                     self.tls[2]]
        with open(self.log_path, 'w') as log:
            self.proc = subprocess.Popen(args, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self.log()
            try:
                self.get('/redfish/v1/')
                return self
            except requests.RequestException:
                assert time.monotonic() < deadline, 'emulator never ready'
                time.sleep(0.1)

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        with open(self.log_path) as f:
            return f.read()[-3000:]

    # -- what an outsider sees -----------------------------------------

    def _request(self, method, path, **kwargs):
        verify = self.tls[0] if self.tls else True
        response = requests.request(method, self.url + path,
                                    auth=(ACCOUNT, self.password),
                                    verify=verify, timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def get(self, path):
        return self._request('GET', path).json()

    def system(self, uuid):
        return self.get('/redfish/v1/Systems/%s' % uuid)

    def power(self, uuid):
        """'on' or 'off', as the emulator reports the system now."""
        return self.system(uuid)['PowerState'].lower()

    def boot(self, uuid):
        return self.system(uuid)['Boot']['BootSourceOverrideTarget']

    def press_button(self, uuid, reset='ForceOff'):
        """Change power behind drydock's back, as someone at the rack."""
        self._request('POST', '/redfish/v1/Systems/%s/Actions/'
                      'ComputerSystem.Reset' % uuid,
                      json={'ResetType': reset})

    def wait_power(self, uuid, state, timeout=20):
        deadline = time.monotonic() + timeout
        while self.power(uuid) != state:
            assert time.monotonic() < deadline, (uuid, state)
            time.sleep(0.2)

    # -- designs ---------------------------------------------------------

    def oob(self, uuid, **overrides):
        """The ``oob`` mapping of a design node for system ``uuid``."""
        oob = {'type': 'redfish', 'address': self.url, 'system': uuid,
               'account': ACCOUNT, 'credential': self.password}
        if self.tls:
            oob['ca_file'] = self.tls[0]
        oob.update(overrides)
        return {k: v for k, v in oob.items() if v is not None}


class NotifiedAgent:
    """The node agents of emulated systems, told by the emulator.

    :param config_file: a drydock config naming the work plane.
    :param uids: ``{system uuid: node uid}``.
    :param boot_seconds: how long a node "boots" before it reports.
    :param silent: uuids of systems whose agent never reports (a node
        that never comes back from its network boot).
    """

    def __init__(self, config_file, uids, boot_seconds=0.5, silent=()):
        from drydockd.fakebmc import agent
        self.uids = {u: n for u, n in uids.items() if u not in silent}
        self.boot_seconds = boot_seconds
        names = sorted(uids, key=lambda u: int(uids[u]))
        self._agent = agent.Agent(config_file, [
            types.SimpleNamespace(name=u, node_id=uids[u]) for u in names])
        self.reported = []
        self._booting = set()
        self._lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), self._handler())
        self.url = 'http://127.0.0.1:%d/' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def _handler(self):
        agent = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                length = int(self.headers.get('Content-Length') or 0)
                system = json.loads(self.rfile.read(length) or b'{}')
                self.send_response(204)
                self.end_headers()
                agent.seen(system)

            def log_message(self, *args):
                pass

        return Handler

    def seen(self, system):
        uuid = system.get('uuid')
        netboot = (system.get('power_state') == 'On'
                   and system.get('boot_device') == 'Pxe')
        with self._lock:
            if not netboot or uuid not in self.uids \
                    or uuid in self._booting:
                return
            self._booting.add(uuid)
        threading.Timer(self.boot_seconds, self._report, (uuid,)).start()

    def _report(self, uuid):
        self._agent(uuid)
        with self._lock:
            self.reported.append(uuid)
            self._booting.discard(uuid)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self._agent.close()
