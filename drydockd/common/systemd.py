"""sd_notify over ``$NOTIFY_SOCKET`` (no libsystemd needed)."""

import os
import socket


def notify(state):
    """Send ``state`` (e.g. ``READY=1``); a no-op outside systemd."""
    address = os.environ.get('NOTIFY_SOCKET')
    if not address:
        return False
    if address.startswith('@'):
        address = '\0' + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode('utf-8'))
    return True


def watchdog_interval():
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec), or None."""
    usec = os.environ.get('WATCHDOG_USEC')
    if not usec or os.environ.get('WATCHDOG_PID', str(os.getpid())) \
            != str(os.getpid()):
        return None
    return int(usec) / 2e6
