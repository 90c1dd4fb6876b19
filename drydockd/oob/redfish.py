"""Redfish power and boot-device control through sushy.

This is the only drydock module that imports sushy. A node's design
selects it with ``oob: {type: redfish, address: https://bmc, system: ID,
account: ..., credential: ...}``; the certificate is verified unless the
design says ``verify_certificate: false``, against ``ca_file`` when it
names one.

The bounds are IPMI's (:mod:`drydockd.oob.ipmi`), from ``[redfish]``:

* a hard time limit on each operation (``command_timeout``, the wait for
  a power change included; the HTTP requests also carry
  ``connect_timeout``);
* a bounded number of tries (``retries``) with doubling backoff
  (``retry_backoff``);
* a process-wide limit on Redfish calls in flight (``max_concurrency``),
  plus one call at a time per system.

sushy's own retries are turned off (one request per try) so that the
tries counted are drydock's. One sushy root (service root read, session)
is kept per BMC and account and reused by later calls, so a sweep does
not log in to every BMC again; it is dropped when the BMC refuses it.

Errors name the node and never the credential: refused credentials raise
``OOBAuthFailed``, a certificate that does not verify
``OOBCertificateRejected`` and a system the service does not have
``OOBSystemNotFound``, all at once; a BMC that never answered raises
``OOBUnreachable`` after the last try; one that answered but overran the
time limit ``OOBTimeout``; any other Redfish error ``OOBError``.
"""

import functools
import logging
import re
import threading
import time

import requests
import sushy
from sushy import auth as sushy_auth
from sushy import exceptions as sushy_exc

from drydockd.common import exception
from drydockd.oob import base
from drydockd.oob import bounds

LOG = logging.getLogger(__name__)

_SLOTS = bounds.Limiter()
_AUTH = {'basic': sushy_auth.BasicAuth, 'session': sushy_auth.SessionAuth,
         'auto': sushy_auth.SessionOrBasicAuth}
_READ_POWER = {sushy.POWER_STATE_ON: base.POWER_ON,
               sushy.POWER_STATE_POWERING_ON: base.POWER_ON,
               sushy.POWER_STATE_OFF: base.POWER_OFF,
               sushy.POWER_STATE_POWERING_OFF: base.POWER_OFF}
_EXACT_POWER = {base.POWER_ON: sushy.POWER_STATE_ON,
                base.POWER_OFF: sushy.POWER_STATE_OFF}
_RESET = {base.POWER_ON: sushy.RESET_ON, base.POWER_OFF: sushy.RESET_FORCE_OFF}
_TO_BOOT = {base.BOOT_PXE: sushy.BOOT_SOURCE_TARGET_PXE,
            base.BOOT_DISK: sushy.BOOT_SOURCE_TARGET_HDD}
_FROM_BOOT = {value: key for key, value in _TO_BOOT.items()}
_SYSTEMS = '/redfish/v1/Systems/'


def _tls_reason(error):
    """The part of an SSL error an operator acts on."""
    text = str(error)
    found = re.search(r'certificate verify failed: ([^(\'"]+)', text)
    if found:
        return found.group(1).strip()
    found = re.search(r'\[SSL: ([A-Z_]+)\]', text)
    return found.group(1).lower().replace('_', ' ') if found else \
        'TLS handshake failed'


def _system_path(node):
    """The system's path; None (the service's only system) when the
    design names none."""
    if not node.system:
        return None
    if node.system.startswith('/'):
        return node.system
    return _SYSTEMS + node.system


class RedfishDriver(bounds.RetriedCalls, base.PowerInterface,
                    base.ManagementInterface):
    """Power and management of nodes through Redfish services.

    :param conf: an oslo.config ``ConfigOpts`` with ``[redfish]``
        registered; read once, here.
    """

    interface_type = 'redfish'

    def __init__(self, conf):
        opts = conf.redfish
        self.timeout = opts.command_timeout
        self.connect_timeout = min(opts.connect_timeout, opts.command_timeout)
        self.max_concurrency = opts.max_concurrency
        self.poll_interval = opts.status_poll_interval
        self._auth = _AUTH[opts.auth_type]
        self._set_retries(opts.retries, opts.retry_backoff)
        self._roots = {}
        self._roots_lock = threading.Lock()
        _SLOTS.set_limit(self.max_concurrency)

    def validate(self, node):
        base.check_redfish_info(node)

    # -- the interfaces ----------------------------------------------------

    def get_power_state(self, node):
        return self._call(node, 'power status', lambda system, deadline:
                          _READ_POWER.get(system.power_state, base.POWER_OFF))

    def set_power_state(self, node, state):
        base.check_choice(node, 'power state', state, base.POWER_STATES)

        def change(system, deadline):
            if system.power_state != _EXACT_POWER[state]:
                system.reset_system(_RESET[state])
                self._wait_power(system, state, deadline)

        self._call(node, f'power {state}', change)

    def reboot(self, node):
        sent = []  # once the BMC has taken the reset, later tries only wait

        def cycle(system, deadline):
            if not sent:
                on = system.power_state == sushy.POWER_STATE_ON
                system.reset_system(sushy.RESET_FORCE_RESTART if on
                                    else sushy.RESET_ON)
                sent.append(True)
            self._wait_power(system, base.POWER_ON, deadline)

        self._call(node, 'reboot', cycle)

    def get_boot_device(self, node):
        return self._call(node, 'boot device', lambda system, deadline:
                          _FROM_BOOT.get(system.boot.target))

    def set_boot_device(self, node, device, persistent=False):
        base.check_choice(node, 'boot device', device, base.BOOT_DEVICES)
        enabled = (sushy.BOOT_SOURCE_ENABLED_CONTINUOUS if persistent
                   else sushy.BOOT_SOURCE_ENABLED_ONCE)
        self._call(node, f'boot device {device}', lambda system, deadline:
                   system.set_system_boot_options(_TO_BOOT[device],
                                                  enabled=enabled))

    # -- bounded calls -----------------------------------------------------

    def _wait_power(self, system, target, deadline):
        """Poll until the system reports ``target``; bounded by
        ``deadline`` (Redfish resets are asynchronous)."""
        while True:
            system.refresh()
            if system.power_state == _EXACT_POWER[target]:
                return
            if time.monotonic() + self.poll_interval >= deadline:
                raise bounds.NotReached(f'power did not turn {target}')
            time.sleep(self.poll_interval)

    @staticmethod
    def _lock_key(node):
        return ('redfish', node.address, node.system or '-')

    def _attempt(self, node, what, operation):
        """One try of ``operation(system, deadline)`` within the time
        limit, or a :class:`bounds.Failure`."""
        started = time.monotonic()
        answered = []
        with _SLOTS:
            try:
                return bounds.run_with_deadline(
                    functools.partial(self._on_system, node, operation,
                                      started + self.timeout, answered),
                    self.timeout, f'redfish-{node.name}')
            except bounds.Overrun:
                kind, detail = 'overrun', f'no result within {self.timeout}s'
            except bounds.NotReached as exc:
                kind, detail = 'overrun', str(exc)
            except sushy_exc.AccessError:
                self._forget(node)
                raise exception.OOBAuthFailed(node=node.name) from None
            except sushy_exc.ResourceNotFoundError:
                raise exception.OOBSystemNotFound(
                    node=node.name,
                    system=node.system or '(default)') from None
            except sushy_exc.ConnectionError as exc:
                kind, detail = self._connection_failure(node, exc)
            except sushy_exc.ServerSideError as exc:
                kind = 'error'
                detail = bounds.scrub(f'HTTP {exc.status_code}: '
                                      f'{exc.detail or "server error"}',
                                      node)
            except sushy_exc.HTTPError as exc:
                raise exception.OOBError(node=node.name, reason=bounds.scrub(
                    f'HTTP {exc.status_code}: {exc.detail or exc.code}',
                    node)) from None
            except sushy_exc.SushyError as exc:
                raise exception.OOBError(
                    node=node.name,
                    reason=bounds.scrub(str(exc.message), node)) from None
            except Exception as exc:  # noqa: BLE001 - sushy's own bugs: retry
                kind = 'error'
                detail = bounds.scrub(f'{type(exc).__name__}: {exc}', node)
        if kind != 'error':
            kind = 'overrun' if answered else 'noanswer'
        raise bounds.Failure(kind, detail, time.monotonic() - started)

    def _on_system(self, node, operation, deadline, answered):
        system = self._root(node).get_system(_system_path(node))
        answered.append(True)
        return operation(system, deadline)

    @staticmethod
    def _connection_failure(node, exc):
        """(kind, detail) of a request that got no HTTP answer; raises at
        once for a certificate that does not verify."""
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, requests.exceptions.SSLError):
            raise exception.OOBCertificateRejected(
                node=node.name, address=node.address,
                reason=_tls_reason(cause)) from None
        if isinstance(cause, requests.exceptions.ReadTimeout):
            return 'noanswer', 'no HTTP answer in time'
        return 'noanswer', 'connection failed: %s' % type(cause).__name__

    # -- sushy roots, one per BMC and account ------------------------------

    @staticmethod
    def _key(node):
        return (node.address, node.account, node.credential, node.verify)

    def _root(self, node):
        key = self._key(node)
        with self._roots_lock:
            root = self._roots.get(key)
        if root is None:
            root = sushy.Sushy(
                node.address, verify=node.verify,
                auth=self._auth(username=node.account,
                                password=node.credential),
                server_side_retries=1, server_side_retries_delay=0,
                read_timeout=self.timeout,
                connect_timeout=self.connect_timeout)
            with self._roots_lock:
                root = self._roots.setdefault(key, root)
        return root

    def _forget(self, node):
        with self._roots_lock:
            self._roots.pop(self._key(node), None)
