"""IPMI power and boot-device control through pyghmi.

This is the only drydock module that drives BMCs with pyghmi. With
``[ipmi] reuse_sessions`` (the default) a call leaves its session logged
in, and the next call to the same BMC with the same credentials reuses it
(kept here: pyghmi's own reuse compares text with bytes and never
matches), so a power-state sweep does not log in to every BMC again:
login is most of a call's round trips. pyghmi's housekeeping thread keeps
idle sessions alive. A session pyghmi marked broken (its keep-alive got
no answer) is replaced by a fresh login; a call that failed in any way,
a call on a session the BMC forgot (it restarted) included, drops its
session, so the retry logs in again. At most ``[ipmi] max_kept_sessions``
are kept, the least recently used dropped first: pyghmi looks at every
kept session on every packet it handles, so a call's CPU grows with
their number. Without the option each call logs out at its end (one
BMC session slot per call, never held).

Every BMC call is bounded three ways, so one bad BMC cannot hold up the
others:

* a hard time limit (``[ipmi] command_timeout``, login included): the
  pyghmi call runs in its own daemon thread and is abandoned, not
  awaited, when the limit passes;
* a bounded number of tries (``retries``) with exponential backoff
  (``retry_backoff``, doubling), through tenacity;
* a process-wide limit on calls in flight (``max_concurrency``), shared
  by every driver instance, plus one call at a time per BMC.

Errors name the node and never the credential: wrong credentials raise
``OOBAuthFailed`` at once; a BMC that never answered raises
``OOBUnreachable`` after the last try; one that answered but overran the
limit raises ``OOBTimeout``; an IPMI error answer raises ``OOBError``.
"""

import collections
import concurrent.futures
import functools
import logging
import threading
import time

from pyghmi import exceptions as pyghmi_exc
from pyghmi.ipmi import command as ipmi_command

from drydockd.common import exception
from drydockd.oob import base
from drydockd.oob import bounds
from drydockd.oob import pyghmi_compat

LOG = logging.getLogger(__name__)

# IPMI chassis commands (netfn 0).
_NETFN_CHASSIS = 0x00
_GET_CHASSIS_STATUS = 0x01
_CHASSIS_CONTROL = 0x02
_CONTROL = {'off': 0, 'on': 1, 'cycle': 2}
_BOOT_TO_PYGHMI = {base.BOOT_PXE: 'network', base.BOOT_DISK: 'hd'}
_BOOT_FROM_PYGHMI = {'network': base.BOOT_PXE, 'hd': base.BOOT_DISK}
# pyghmi error texts: refused credentials, and "got no answer".
_AUTH_ERRORS = ('Incorrect password', 'Unauthorized name',
                'Invalid username', 'Unauthorized role')
_NO_ANSWER = (None, '', 'timeout', 'Session no longer connected')


_SLOTS = bounds.Limiter()
_globals_lock = threading.Lock()
_housekeeper = []


def _start_pyghmi():
    """Patch pyghmi and start its housekeeping thread, once per process."""
    pyghmi_compat.apply_client_fixes()
    pyghmi_compat.track_answers()
    with _globals_lock:
        if not _housekeeper:
            keeper = ipmi_command.Housekeeper(name='pyghmi-housekeeper',
                                              daemon=True)
            keeper.start()
            _housekeeper.append(keeper)


# (address, port, account, credential) -> logged-in Command, least
# recently used first.
_kept = collections.OrderedDict()


def drop_kept_sessions():
    """Log out of every kept session (the BMCs behind them are going
    away: a simulated fleet stopping, a test ending)."""
    with _globals_lock:
        kept = list(_kept.values())
        _kept.clear()
    for cmd in kept:
        pyghmi_compat.drop_session(cmd)


def _session_key(node):
    return (node.address, node.port, node.account, node.credential)


def _keep(node, cmd, limit):
    """Keep ``cmd`` for the next call; past ``limit`` kept sessions the
    least recently used is dropped, not logged out: pyghmi stops keeping
    it alive and the BMC expires it. A logout would be one more round
    trip to a BMC that may be busy with, or be logging in, a newer call
    (the simulated BMCs then refused that login's credentials)."""
    with _globals_lock:
        _kept[_session_key(node)] = cmd
        dropped = [_kept.popitem(last=False)[1]
                   for _ in range(len(_kept) - limit)]
    for old in dropped:
        pyghmi_compat.drop_session(old)


def _in_session(node, operation, deadline, keep, held):
    """Run ``operation(cmd, deadline)`` in a session: the BMC's kept one
    while it is still usable, else a fresh login. With ``keep`` (the most
    sessions kept; 0: none) the session stays logged in for the next
    call, else it is logged out.
    ``held`` gets the command object, so a caller that gave up on this
    thread can still drop its session."""
    cmd = None
    if keep:
        with _globals_lock:
            cmd = _kept.pop(_session_key(node), None)
        if cmd is not None and not pyghmi_compat.session_usable(cmd):
            pyghmi_compat.drop_session(cmd)
            cmd = None
    if cmd is None:
        cmd = ipmi_command.Command(bmc=node.address, userid=node.account,
                                   password=node.credential, port=node.port)
    held.append(cmd)
    try:
        result = operation(cmd, deadline)
    except BaseException:
        pyghmi_compat.drop_session(cmd)
        raise
    if keep:
        _keep(node, cmd, keep)
    else:
        try:
            cmd.ipmi_session.logout()
        except Exception:
            LOG.debug('Logout from BMC of node %s failed', node.name,
                      exc_info=True)
    return result


def _read_power(cmd):
    rsp = cmd.xraw_command(netfn=_NETFN_CHASSIS, command=_GET_CHASSIS_STATUS)
    return base.POWER_ON if rsp['data'][0] & 1 else base.POWER_OFF


def _control(cmd, action):
    cmd.xraw_command(netfn=_NETFN_CHASSIS, command=_CHASSIS_CONTROL,
                     data=(_CONTROL[action],))


def _wait_power(cmd, target, deadline, interval):
    """Poll the power state until ``target``; bounded by ``deadline``."""
    while _read_power(cmd) != target:
        if time.monotonic() + interval >= deadline:
            raise bounds.NotReached(f'power did not turn {target}')
        time.sleep(interval)


class IPMIDriver(bounds.RetriedCalls, base.PowerInterface,
                 base.ManagementInterface):
    """Power and management of nodes through their BMCs over IPMI 2.0.

    :param conf: an oslo.config ``ConfigOpts`` with the ``[ipmi]`` group
        registered; read once, here.
    """

    interface_type = 'ipmi'

    def __init__(self, conf):
        opts = conf.ipmi
        self.timeout = opts.command_timeout
        self.max_concurrency = opts.max_concurrency
        self.poll_interval = opts.status_poll_interval
        # Sessions kept for reuse (0: every call logs out).
        self.keep = opts.max_kept_sessions if opts.reuse_sessions else 0
        self._set_retries(opts.retries, opts.retry_backoff)
        _SLOTS.set_limit(self.max_concurrency)
        _start_pyghmi()

    def validate(self, node):
        base.check_oob_info(node)

    def get_power_state(self, node):
        return self._call(node, 'power status',
                          lambda cmd, deadline: _read_power(cmd))

    def set_power_state(self, node, state):
        base.check_choice(node, 'power state', state, base.POWER_STATES)

        def change(cmd, deadline):
            if _read_power(cmd) != state:
                _control(cmd, state)
                _wait_power(cmd, state, deadline, self.poll_interval)

        self._call(node, f'power {state}', change)

    def reboot(self, node):
        sent = []  # once the BMC has taken the cycle, later tries only wait

        def cycle(cmd, deadline):
            if not sent:
                on = _read_power(cmd) == base.POWER_ON
                _control(cmd, 'cycle' if on else base.POWER_ON)
                sent.append(True)
            _wait_power(cmd, base.POWER_ON, deadline, self.poll_interval)

        self._call(node, 'reboot', cycle)

    def get_boot_device(self, node):
        found = self._call(node, 'boot device',
                           lambda cmd, deadline: cmd.get_bootdev())
        return _BOOT_FROM_PYGHMI.get(found.get('bootdev'))

    def set_boot_device(self, node, device, persistent=False):
        base.check_choice(node, 'boot device', device, base.BOOT_DEVICES)
        self._call(node, f'boot device {device}', lambda cmd, deadline:
                   cmd.set_bootdev(_BOOT_TO_PYGHMI[device],
                                   persist=persistent))

    @staticmethod
    def _lock_key(node):
        return ('ipmi', node.address, node.port)

    def _attempt(self, node, what, operation):
        """One try of ``operation(cmd, deadline)``: a session within the
        time limit, or a :class:`bounds.Failure`."""
        started = time.monotonic()
        kind = None
        held = []
        with _SLOTS:
            try:
                return bounds.run_with_deadline(
                    functools.partial(_in_session, node, operation,
                                      started + self.timeout,
                                      self.keep, held),
                    self.timeout, f'ipmi-{node.name}')
            except pyghmi_exc.IpmiException as exc:
                detail = self._ipmi_error(node, exc)
            except bounds.Overrun:
                # The abandoned thread may still hold the session.
                for cmd in held:
                    pyghmi_compat.drop_session(cmd)
                detail = f'no result within {self.timeout}s'
            except bounds.NotReached as exc:
                detail = str(exc)
            except Exception as exc:  # noqa: BLE001 - pyghmi's own bugs: retry
                kind = 'error'
                detail = bounds.scrub(f'{type(exc).__name__}: {exc}', node)
                LOG.debug('BMC of node %s: %s raised %s', node.name, what,
                          type(exc).__name__)
        if kind is None:
            answered = pyghmi_compat.answered_since(node.address, node.port,
                                                    started)
            kind = 'overrun' if answered else 'noanswer'
        raise bounds.Failure(kind, detail, time.monotonic() - started)

    @staticmethod
    def _ipmi_error(node, exc):
        """Raise at once for refused credentials or an IPMI error answer;
        return a description when pyghmi only saw no (usable) answer."""
        error = exc.args[0] if exc.args else None
        if any(text in str(error) for text in _AUTH_ERRORS):
            raise exception.OOBAuthFailed(node=node.name) from None
        if error not in _NO_ANSWER:
            reason = bounds.scrub(str(error), node)
            raise exception.OOBError(node=node.name, reason=reason) from None
        return 'no usable answer'


IPMIManagement = IPMIDriver


def run_many(driver, nodes, fn, max_workers=None):
    """Call ``fn(driver, node)`` for every node from a thread pool.

    Each call is bounded by the driver, so a dead or slow BMC delays only
    its own result. For example ``run_many(drv, nodes,
    IPMIDriver.get_power_state)``.

    :param nodes: iterable of :class:`~base.OOBInfo`.
    :param max_workers: threads; default ``driver.max_concurrency``.
    :returns: dict of node name to ``fn``'s result or the exception it
        raised, in the order of ``nodes``.
    """
    nodes = list(nodes)
    if not nodes:
        return {}
    workers = max_workers or getattr(driver, 'max_concurrency', 16)
    with concurrent.futures.ThreadPoolExecutor(
            max_workers=min(workers, len(nodes)),
            thread_name_prefix='oob-batch') as pool:
        futures = [(node, pool.submit(fn, driver, node)) for node in nodes]
        concurrent.futures.wait([future for _, future in futures])
    return {node.name: future.exception() or future.result()
            for node, future in futures}
