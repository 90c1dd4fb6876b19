"""Out-of-band driver interfaces: small ABCs in the style of Ironic's.

A driver talks to one node's BMC per call. Implementations: ``ipmi``
(pyghmi, :mod:`drydockd.oob.ipmi`), ``redfish`` (sushy,
:mod:`drydockd.oob.redfish`) and ``fake`` (in memory,
:mod:`drydockd.oob.fake`); :mod:`drydockd.oob.router` sends each node to
the driver its design names.

Every method takes an :class:`OOBInfo` and raises only drydock exceptions
(:mod:`drydockd.common.exception`), each naming the node, never the
credential. Calls are synchronous and bounded in time: a driver must give
up with ``OOBTimeout`` rather than block a worker thread forever.
"""

import abc
import dataclasses
import ipaddress
import urllib.parse

from drydockd.common import exception

POWER_ON = 'on'
POWER_OFF = 'off'
POWER_STATES = (POWER_ON, POWER_OFF)

BOOT_PXE = 'pxe'
BOOT_DISK = 'disk'
BOOT_DEVICES = (BOOT_PXE, BOOT_DISK)


@dataclasses.dataclass(frozen=True)
class OOBInfo:
    """How to reach one node's BMC.

    ``credential`` is left out of ``repr()`` (and so out of log lines and
    assertion messages that show the object); ``dataclasses.asdict()``
    still includes it, so never log that.

    ``type`` is the driver the design names (``''``: none named). For
    Redfish, ``address`` is the service's URL, ``system`` the system's id
    or path (``''``: the only system the service has) and ``verify`` is
    True, False, or the path of a CA bundle to check the BMC's
    certificate against; IPMI uses ``port`` instead.
    """

    name: str
    address: str
    port: int = 623
    account: str = ''
    credential: str = dataclasses.field(default='', repr=False)
    type: str = ''
    system: str = ''
    verify: bool | str = True

    @classmethod
    def from_design(cls, node):
        """Build from a site-design node: ``{'name': ..., 'oob': {...}}``.

        :param node: mapping with ``name`` and an ``oob`` mapping holding
            ``address``, ``port`` (default 623), ``account`` and
            ``credential``, and optionally ``type``, ``system``,
            ``ca_file`` and ``verify_certificate`` (default true).
        :returns: an :class:`OOBInfo`.
        """
        oob = node.get('oob') or {}
        verify = oob.get('verify_certificate', True) is not False
        if verify and oob.get('ca_file'):
            verify = str(oob['ca_file'])
        return cls(name=node['name'], address=str(oob.get('address', '')),
                   port=int(oob.get('port', 623)),
                   account=oob.get('account') or '',
                   credential=oob.get('credential') or '',
                   type=oob.get('type') or '',
                   system=str(oob.get('system') or ''),
                   verify=verify)


def check_oob_info(node):
    """Raise ``InvalidInput`` unless ``node`` can be used to reach a BMC
    over IPMI.

    Shared by the drivers' ``validate()``; looks only at the fields, never
    at the network. The message names the node and the field, never the
    credential's value.
    """
    problems = []
    try:
        ipaddress.ip_address(node.address)
    except ValueError:
        problems.append('oob address is not an IP address')
    if not isinstance(node.port, int) or not 0 < node.port < 65536:
        problems.append('oob port must be an integer 1-65535')
    _raise_problems(node, problems + _account_problems(node))


def check_redfish_info(node):
    """Raise ``InvalidInput`` unless ``node`` can be used to reach a
    Redfish service: an http(s) URL with a host, an account and a
    credential."""
    problems = []
    url = urllib.parse.urlsplit(node.address)
    if url.scheme not in ('http', 'https') or not url.hostname:
        problems.append('oob address is not an http:// or https:// URL')
    _raise_problems(node, problems + _account_problems(node))


def _account_problems(node):
    problems = []
    if not node.account:
        problems.append('oob account is missing')
    if not node.credential:
        problems.append('oob credential is missing')
    return problems


def _raise_problems(node, problems):
    if problems:
        raise exception.InvalidInput(
            reason=f'node {node.name}: {"; ".join(problems)}')


def check_choice(node, what, value, allowed):
    """Raise ``InvalidInput`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise exception.InvalidInput(
            reason=f'node {node.name}: {what} {value!r} is not one of '
                   f'{", ".join(allowed)}')


class BaseInterface(abc.ABC):
    """What every driver interface has."""

    #: Name of the concern, e.g. ``'power'``; used by configuration.
    interface_type = None

    @abc.abstractmethod
    def validate(self, node):
        """Check that ``node`` carries what this interface needs.

        Often called synchronously from an API request, so it must be fast
        and must never contact the BMC.

        :param node: an :class:`OOBInfo`.
        :raises: InvalidInput naming the node and the missing or invalid
            field (never its value when that is the credential).
        """


class PowerInterface(BaseInterface):
    """Reads and changes a node's power state."""

    interface_type = 'power'

    @abc.abstractmethod
    def get_power_state(self, node):
        """Ask the BMC whether the node is powered.

        :param node: an :class:`OOBInfo`.
        :returns: ``'on'`` or ``'off'`` (:data:`POWER_STATES`).
        :raises: OOBAuthFailed if the BMC refuses the credentials;
            OOBUnreachable if it does not answer after the configured
            tries; OOBTimeout if it answers but the call overruns its time
            limit; OOBError for any other BMC failure.
        """

    @abc.abstractmethod
    def set_power_state(self, node, state):
        """Power the node on or off and wait until the BMC reports it.

        Setting the state the node is already in succeeds and changes
        nothing.

        :param node: an :class:`OOBInfo`.
        :param state: ``'on'`` or ``'off'``.
        :raises: InvalidInput for any other state; otherwise as
            :meth:`get_power_state`.
        """

    @abc.abstractmethod
    def reboot(self, node):
        """Power-cycle the node (power it on if it is off).

        Returns once the BMC reports the node on again. With the boot
        device set to ``'pxe'`` this is how provisioning starts.

        :param node: an :class:`OOBInfo`.
        :raises: as :meth:`get_power_state`.
        """

    def get_supported_power_states(self, node):
        """Power states :meth:`set_power_state` accepts for ``node``.

        :param node: an :class:`OOBInfo`.
        :returns: a list of states; by default ``['on', 'off']``.
        """
        return list(POWER_STATES)


class ManagementInterface(BaseInterface):
    """Reads and changes the device a node boots from next."""

    interface_type = 'management'

    @abc.abstractmethod
    def get_boot_device(self, node):
        """Ask the BMC which device the node boots from next.

        :param node: an :class:`OOBInfo`.
        :returns: ``'pxe'``, ``'disk'``, or ``None`` when the BMC reports
            no override or a device drydock does not use.
        :raises: as :meth:`PowerInterface.get_power_state`.
        """

    @abc.abstractmethod
    def set_boot_device(self, node, device, persistent=False):
        """Make the node boot from ``device`` on its next boot, or on
        every boot from then on when ``persistent``.

        :param node: an :class:`OOBInfo`.
        :param device: ``'pxe'`` or ``'disk'`` (:data:`BOOT_DEVICES`).
        :param persistent: keep the choice for every later boot.
        :raises: InvalidInput for any other device; otherwise as
            :meth:`PowerInterface.get_power_state`.
        """

    def get_supported_boot_devices(self, node):
        """Boot devices :meth:`set_boot_device` accepts for ``node``.

        :param node: an :class:`OOBInfo`.
        :returns: a list of devices; by default ``['pxe', 'disk']``.
        """
        return list(BOOT_DEVICES)
