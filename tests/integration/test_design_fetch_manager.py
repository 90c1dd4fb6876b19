"""A manager whose RPC worker is fetching a design from a hostile server
still stops on SIGTERM: every fetch ends at its deadline.

Before, a server dripping one byte now and then held the worker for ever,
and the manager's shutdown waited for that worker, so SIGTERM never ended
the process (systemd had to SIGKILL it).
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time

import conftest
from drydockd.site import fetch


def test_sigterm_stops_a_manager_inside_a_slow_fetch(tmp_path, pg_url,
                                                     rabbit_vhost, daemons):
    server = socket.create_server(('127.0.0.1', 0))
    config = conftest.production_config(
        tmp_path / 'drydock.conf', pg_url, rabbit_vhost,
        site={'design_http_hosts': '127.0.0.1:%d'
              % server.getsockname()[1]})
    conftest.migrate(config)
    manager = daemons('manager', config, tmp_path / 'manager.log')
    manager.wait_ready()

    asked, stop = threading.Event(), threading.Event()

    def drip():
        conn, _ = server.accept()
        conn.recv(65536)
        asked.set()
        conn.sendall(b'HTTP/1.0 200 OK\r\nX-Slow: ')
        try:
            while not stop.wait(1):
                conn.sendall(b'x')
        except OSError:
            pass            # the manager gave up on us: expected
        conn.close()
    threading.Thread(target=drip, daemon=True).start()
    url = 'http://127.0.0.1:%d/site.yaml' % server.getsockname()[1]

    env = dict(os.environ)
    env.pop('DRYDOCK_CONFIG', None)
    cli = subprocess.Popen(
        [os.path.join(conftest.BIN, 'drydock2'), '--config-file', config,
         'design', 'validate', url, '-f', 'json'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert asked.wait(60), 'the manager never fetched the design'
        manager.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert manager.proc.wait(fetch.FETCH_TIMEOUT + 30) == 0
        assert time.monotonic() - started < fetch.FETCH_TIMEOUT + 15
        out, err = cli.communicate(timeout=120)
    finally:
        stop.set()
        server.close()
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    # The call in progress finished before the manager exited: its caller
    # got the fetch's own answer.
    assert cli.returncode == 1, err
    assert json.loads(out) == [
        {'context': 'Design %s is invalid' % url,
         'problem': 'timed out after 30s'}]
