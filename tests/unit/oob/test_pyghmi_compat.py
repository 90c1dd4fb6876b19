"""Each pyghmi work-around is needed: the scenario fails without it.

Every scenario runs in a fresh interpreter (``python THIS_FILE SCENARIO
FIXES ARGS...``) so that it starts from unpatched pyghmi and applies only
the fixes it is given; a hang is a subprocess that outlives its timeout.
Simulated BMCs for the client-side scenarios come from drydock-fakebmc;
the server-side scenarios run pyghmi's own ``Bmc.listen()`` loop with all
but the fix under test.
"""

import os
import select
import subprocess
import sys
import threading
import time

import pytest

# Run as a script, this file needs tests/ (fakebmc_fixtures) on the path.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
import fakebmc_fixtures as fx  # noqa: E402
from drydockd.oob import pyghmi_compat  # noqa: E402

THIS = __file__
PASSWORD = 'pw-compat'
CLIENT = pyghmi_compat.CLIENT_FIXES
SERVER = pyghmi_compat.SERVER_FIXES


def without(fixes, name):
    return ','.join(f for f in fixes if f != name) or '-'


# --- scenarios: run in a subprocess ------------------------------------


def _apply(fixes):
    if fixes != '-':
        pyghmi_compat.apply_fixes(fixes.split(','))


def scenario_serve(base_port, count):
    """Plain pyghmi BMCs on ``count`` ports, served by ``Bmc.listen()``."""
    from pyghmi.ipmi import bmc

    class Bmc(bmc.Bmc):
        power = 'off'

        def get_power_state(self):
            return self.power

        def power_on(self):
            self.power = 'on'

        def power_off(self):
            self.power = 'off'

    for port in range(int(base_port), int(base_port) + int(count)):
        Bmc({'admin': PASSWORD}, port=port, address='127.0.0.1')
    print('READY', flush=True)
    bmc.Bmc.listen()


def _status(port, password=PASSWORD, logout=True):
    from pyghmi.ipmi import command
    cmd = command.Command('127.0.0.1', 'admin', password, port=int(port))
    rsp = cmd.raw_command(netfn=0, command=1)
    if logout:
        cmd.ipmi_session.logout()
    return rsp


def scenario_status(port):
    """One login and power status; prints the outcome."""
    try:
        print('RESULT ok code=%s' % _status(port)['code'])
    except Exception as exc:  # noqa: BLE001 - the outcome is the output
        print('RESULT error %r' % exc)


def scenario_twice(port):
    """Two Commands in a row to one BMC, no logout in between."""
    _status(port, logout=False)
    _status(port, logout=False)
    print('RESULT ok')


def scenario_stress(base_port, count, seconds):
    """``count`` threads log in, read status and log out in a loop."""
    ok, errors = [0], []
    stop = time.monotonic() + float(seconds)

    def work(port):
        while time.monotonic() < stop:
            try:
                _status(port)
                ok[0] += 1
            except Exception as exc:  # noqa: BLE001 - counted
                errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(int(base_port) + i,),
                                daemon=True) for i in range(int(count))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.1, stop + 3 - time.monotonic()))
    hung = sum(thread.is_alive() for thread in threads)
    print('RESULT ok=%d errors=%d hung=%d %s'
          % (ok[0], len(errors), hung, errors[:3]))


def scenario_mixed(base_port, live, dead_port, dead, seconds):
    """Threads log in and out of live BMCs while others retry dead ones
    (whose retransmits run under pyghmi's locks); a stall of 3 s with no
    live call finishing is reported as a hang."""
    done, last = [0], [time.monotonic()]
    stop = time.monotonic() + float(seconds)

    def work(port, live):
        while time.monotonic() < stop:
            try:
                _status(port)
            except Exception:  # noqa: BLE001,S112 - only progress counts
                continue
            if live:
                done[0] += 1
                last[0] = time.monotonic()

    ports = [(int(base_port) + i, True) for i in range(int(live))] + [
        (int(dead_port) + i, False) for i in range(int(dead))]
    for port, alive in ports:
        threading.Thread(target=work, args=(port, alive), daemon=True).start()
    while time.monotonic() < stop:
        time.sleep(0.2)
        if time.monotonic() - last[0] > 3:
            print('RESULT hung after %d calls' % done[0], flush=True)
            return
    print('RESULT ok calls=%d' % done[0])


def scenario_sequential(base_port, count, ops):
    """Logins one at a time, with pyghmi's Housekeeper running as the
    IPMI driver runs it; prints the slowest."""
    from pyghmi.ipmi import command
    command.Housekeeper(daemon=True).start()
    slowest = 0.0
    for i in range(int(ops)):
        started = time.monotonic()
        _status(int(base_port) + i % int(count))
        slowest = max(slowest, time.monotonic() - started)
        if slowest > 2:
            break
    print('RESULT slowest=%.3f' % slowest)


def scenario_receive_race():
    """The IO thread's receive after a sender set the socket blocking."""
    import socket

    from pyghmi.ipmi.private import session

    class SenderWonTheRace(socket.socket):
        def setblocking(self, flag):
            super().setblocking(True)  # the sender's setblocking(1) ran

    sock = SenderWonTheRace(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(('127.0.0.1', 0))
    worker = threading.Thread(target=session._io_recvfrom,
                              args=(sock, 3000), daemon=True)
    worker.start()
    worker.join(2)
    print('RESULT %s' % ('blocked' if worker.is_alive() else 'returned'))


def scenario_housekeeper_idle():
    """Wakeups of an idle Housekeeper in one second (a count, not CPU
    time, so a loaded machine cannot hide a spin)."""
    from pyghmi.ipmi import command
    from pyghmi.ipmi.private import session
    wakeups = [0]
    original = session.Session.wait_for_rsp.__func__

    def counting(cls, *args, **kwargs):
        wakeups[0] += 1
        return original(cls, *args, **kwargs)
    session.Session.wait_for_rsp = classmethod(counting)
    command.Housekeeper(daemon=True).start()
    time.sleep(1)
    print('RESULT wakeups=%d' % wakeups[0])


def scenario_ready_only():
    """Receive calls needed to read one packet among 300 sockets."""
    import socket

    from pyghmi.ipmi.private import session
    socks = []
    for _ in range(300):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(('127.0.0.1', 0))
        socks.append(sock)
    socks[150].sendto(b'\x06\x00\xff\x07 hello', socks[150].getsockname())
    select.select([socks[150]], [], [], 5)    # the packet has arrived
    calls = [0]
    original = session._io_recvfrom

    def counting(sock, size):
        calls[0] += 1
        return original(sock, size)

    session._io_recvfrom = counting
    session._io_graball(socks, {})
    print('RESULT calls=%d' % calls[0])


def scenario_closed_socket(port):
    """A call after a socket in pyghmi's IO loop was closed (a simulated
    BMC stopping in the same process)."""
    import socket

    from pyghmi.ipmi.private import session
    _status(port)   # the IO thread is running
    gone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    session.iosockets.append(gone)
    gone.close()
    call = threading.Thread(target=_status, args=(port,), daemon=True)
    call.start()
    call.join(5)
    print('RESULT %s' % ('hung' if call.is_alive() else 'ok'))


# --- the tests ----------------------------------------------------------


def run(name, fixes, *args, timeout=20):
    """(returncode or None if it hung, the RESULT line or all output)."""
    code, out = fx.run_script([THIS, name, fixes] + [str(a) for a in args],
                              timeout)
    results = [line for line in out.splitlines()
               if line.startswith('RESULT')]
    return code, (results[-1] if results else out[-3000:])


@pytest.fixture(scope='module')
def fakebmc(tmp_path_factory):
    """20 simulated BMCs (every server fix on), one password."""
    with fx.FleetProcess(tmp_path_factory.mktemp('compat'), 20,
                         '--password', PASSWORD) as fleet:
        yield fleet


class PlainBmcs:
    """pyghmi's own Bmc loop with the given fixes, in a subprocess."""

    def __init__(self, fixes, count):
        self.count = count
        self.base_port = fx.free_udp_ports(count)
        self.proc = subprocess.Popen(
            [sys.executable, THIS, 'serve', fixes, str(self.base_port),
             str(count)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout.readline().strip() == 'READY'

    def stop(self):
        alive = self.proc.poll() is None
        self.proc.kill()
        out, _ = self.proc.communicate()
        return alive, out


def test_lock_order(fakebmc):
    # 20 threads on live BMCs, 40 on ports nobody answers.
    dead_port = fx.free_udp_ports(40)
    args = (fakebmc.base_port, 20, dead_port, 40, 5)
    code, result = run('mixed', without(CLIENT, 'lock_order'), *args,
                       timeout=15)
    assert code is None or 'hung' in result, result
    code, result = run('mixed', ','.join(CLIENT), *args, timeout=15)
    assert code == 0 and 'RESULT ok' in result, result


def test_receive_race():
    code, result = run('receive_race', '-')
    assert 'blocked' in result, result
    code, result = run('receive_race', 'receive_race')
    assert 'returned' in result, result


def test_stale_login_entries(fakebmc):
    port = fakebmc.base_port
    code, result = run('twice', without(CLIENT, 'stale_login_entries'),
                       port, timeout=4)
    assert code is None, 'second Command() did not hang: %s' % result
    code, result = run('twice', ','.join(CLIENT), port, timeout=8)
    assert code == 0 and 'RESULT ok' in result, result


def test_lost_wakeup(fakebmc):
    # Without the fix the Housekeeper often finishes a login while its
    # caller sleeps; the caller then waits for the ~25 s keepalive timer.
    code, result = run('sequential', without(CLIENT, 'lost_wakeup'),
                       fakebmc.base_port, 20, 300, timeout=6)
    assert code is None or float(result.split('=')[1]) > 2, result
    code, result = run('sequential', ','.join(CLIENT), fakebmc.base_port,
                       20, 300, timeout=20)
    assert code == 0 and float(result.split('=')[1]) < 0.5, result


def test_closed_socket(fakebmc):
    port = fakebmc.base_port
    code, result = run('closed_socket', without(CLIENT, 'closed_socket'),
                       port, timeout=15)
    assert code is None or 'hung' in result, result
    code, result = run('closed_socket', ','.join(CLIENT), port, timeout=15)
    assert code == 0 and 'RESULT ok' in result, result


def test_housekeeper_spin():
    code, result = run('housekeeper_idle', '-')
    assert int(result.split('=')[1]) > 1000, result
    code, result = run('housekeeper_idle', 'housekeeper_spin')
    assert int(result.split('=')[1]) <= 3, result


def test_receive_ready_only():
    code, result = run('ready_only', '-')
    assert int(result.split('=')[1]) >= 300, result
    code, result = run('ready_only', 'receive_ready_only')
    assert int(result.split('=')[1]) <= 3, result


def test_server_cipher_suites():
    bmcs = PlainBmcs(without(SERVER, 'server_cipher_suites'), 1)
    try:
        code, result = run('status', ','.join(CLIENT), bmcs.base_port)
    finally:
        bmcs.stop()
    assert 'pack expected' in result, result  # struct.error in RAKP2
    bmcs = PlainBmcs(','.join(SERVER), 1)
    try:
        code, result = run('status', ','.join(CLIENT), bmcs.base_port)
    finally:
        bmcs.stop()
    assert 'RESULT ok code=0' in result, result


def test_server_sessionless_retransmit():
    # Fresh logins from the same few client ports: without the fix the
    # server drops the client's other sessions and its loop dies.
    bmcs = PlainBmcs(without(SERVER, 'server_sessionless_retransmit'), 20)
    code, result = run('stress', ','.join(CLIENT), bmcs.base_port, 20, 3,
                       timeout=8)
    alive, server_out = bmcs.stop()
    assert (not alive and 'sessionless_data' in server_out) or \
        'errors=0 hung=0' not in result, (result, server_out[-2000:])
    bmcs = PlainBmcs(','.join(SERVER), 20)
    code, result = run('stress', ','.join(CLIENT), bmcs.base_port, 20, 3,
                       timeout=15)
    alive, server_out = bmcs.stop()
    assert alive, server_out[-2000:]
    assert 'errors=0 hung=0' in result and 'ok=0 ' not in result, result


def test_apply_is_idempotent_and_rejects_typos():
    with pytest.raises(KeyError):
        pyghmi_compat.apply_fixes(['no_such_fix'])
    pyghmi_compat.apply_client_fixes()
    pyghmi_compat.apply_client_fixes()
    assert set(CLIENT) <= pyghmi_compat.applied()


if __name__ == '__main__':
    _apply(sys.argv[2])
    globals()['scenario_' + sys.argv[1]](*sys.argv[3:])


def test_the_installed_pyghmi_has_every_patched_internal():
    assert pyghmi_compat.missing_internals() == []
    pyghmi_compat.check_internals()


def test_moved_internals_stop_a_daemon_at_start_up(tmp_path):
    """A pyghmi release that moved what the fixes patch is refused before
    any fix half-applies: ``drydockd all-in-one`` exits 1 with one line."""
    shim = tmp_path / 'sitecustomize.py'
    shim.write_text('from pyghmi.ipmi.private import session\n'
                    'del session._io_wait\n')
    config = tmp_path / 'drydock.conf'
    config.write_text('[DEFAULT]\nstate_path = %s\n' % tmp_path)
    # As root (the suite's user), drydockd must be told that is meant.
    env = dict(os.environ, PYTHONPATH=str(tmp_path), DRYDOCK_ALLOW_ROOT='1')
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'drydockd'),
         'all-in-one', '--config-file', str(config)],
        capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1, result.stderr
    assert 'lacks internals drydock patches ' \
        '(pyghmi.ipmi.private.session._io_wait)' in result.stderr
    assert 'Traceback' not in result.stderr
