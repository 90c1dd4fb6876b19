"""Work-arounds for bugs in pyghmi 1.6.19, and the one hook the driver
needs into pyghmi's internals, kept in one place.

Nothing here runs at import time. The IPMI driver calls
:func:`apply_client_fixes` and the BMC simulator calls
:func:`apply_server_fixes` once at startup, before any session exists.
Each fix patches a few pyghmi functions or attributes. Fixes can be
applied more than once, and each one is listed in :data:`FIXES` so that
tests can turn them on one at a time to show that each is needed.

The four known bugs (lock order, receive race, server cipher suites,
server sessionless retransmit) are here, and five more found while
building the driver and simulator (stale login entries, lost wakeups, a
spinning Housekeeper, O(sockets) receives, an IO thread killed by a
closed socket). None is fixed upstream in
pyghmi 1.6.19. Each docstring says what to check before that fix is
dropped; when all go, this module goes too. Check with
``tests/unit/oob/test_pyghmi_compat.py``: it runs every
scenario with the fix off and expects a hang, crash or slowdown.

Even with every fix applied the driver puts a hard timeout around every
BMC call, so a call that hangs for a reason not known here fails with
``OOBTimeout`` and the other nodes carry on.
"""

import logging
import os
import select
import socket
import struct
import threading
import time
import types

from pyghmi.ipmi import command
from pyghmi.ipmi.private import serversession
from pyghmi.ipmi.private import session
from pyghmi.ipmi.private import util

from drydockd.common import exception

LOG = logging.getLogger(__name__)

# RMCP+ status code: "No Cipher suite match with proposed security
# algorithms". pyghmi's client answers it by proposing cipher suite 3.
RMCP_NO_CIPHER_SUITE_MATCH = 0x11

_applied = set()
_apply_lock = threading.Lock()


def fix_lock_order():
    """Make the keepalive and waiting-session locks one lock.

    pyghmi bug: ``Session.send_payload`` takes ``KEEPALIVE_SESSIONS`` and
    then ``WAITING_SESSIONS`` (in ``_xmit_packet``), while
    ``Session.wait_for_rsp`` takes ``WAITING_SESSIONS`` and then, when it
    retransmits from ``_timedout``, ``KEEPALIVE_SESSIONS``. Two threads on
    those paths deadlock and every session in the process stops. One
    re-entrant lock cannot be taken in the wrong order.

    Apply it before any pyghmi session exists: a thread that already holds
    one of the old locks would not exclude a thread taking the new one.

    Drop it when pyghmi takes the two locks in one order (or uses one
    lock); the lock-order test then passes with the fix off.
    """
    merged = threading.RLock()
    session.KEEPALIVE_SESSIONS = merged
    session.WAITING_SESSIONS = merged


def _recvfrom_dontwait(mysocket, size):
    """Receive one datagram without ever blocking, whatever the socket mode.

    Replaces ``session._io_recvfrom``; returns ``None`` when nothing is
    queued, as the original does.
    """
    try:
        return mysocket.recvfrom(size, socket.MSG_DONTWAIT)
    except OSError:
        return None


def fix_receive_race():
    """Make the IO thread's receive non-blocking by flag.

    pyghmi bug: the IO thread calls ``setblocking(0)`` on a shared socket
    and then ``recvfrom()``, while any thread that sends calls
    ``setblocking(1)`` on the same socket first. A send between the two
    leaves the IO thread in a blocking ``recvfrom()`` on an empty socket:
    every session in the process freezes until a stray packet arrives.
    ``MSG_DONTWAIT`` makes one receive non-blocking without touching the
    socket's mode.

    Drop it when ``pyghmi.ipmi.private.session._io_recvfrom`` stops using
    ``setblocking`` to get a non-blocking receive.
    """
    session._io_recvfrom = _recvfrom_dontwait


def _proposes_only_suite_3(request):
    """True if an RMCP+ open-session request fits cipher suite 3.

    The three 8-byte proposals (authentication, integrity,
    confidentiality) start at offset 8; each has its length at byte 3 and
    its algorithm at byte 4. A length of 0 means "BMC's choice". Suite 3
    is algorithm 1 in all three (HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128).
    """
    for offset in (8, 16, 24):
        proposal = request[offset:offset + 8]
        if len(proposal) < 8:
            return False
        if proposal[3] != 0 and proposal[4] & 0x3f != 1:
            return False
    return True


def fix_server_cipher_suites():
    """Refuse open-session proposals the simulated BMC cannot honour.

    pyghmi bug: ``ServerSession.create_open_session_response`` always
    answers "accepted, cipher suite 3", whatever the client proposed.
    pyghmi's own client proposes suite 17 (SHA-256) first, believes the
    answer and crashes in RAKP2 with ``struct.error``. Answering status
    0x11 (no matching cipher suite) makes the client fall back to suite 3,
    as it would with a real BMC.

    Drop it when ``pyghmi.ipmi.bmc.Bmc`` checks the proposal or supports
    suite 17.
    """
    original = serversession.ServerSession.create_open_session_response

    def create_open_session_response(self, request):
        if _proposes_only_suite_3(request):
            return original(self, request)
        self.clientsessionid = request[4:8]
        return (bytearray([request[0], RMCP_NO_CIPHER_SUITE_MATCH, 0, 0])
                + self.clientsessionid)

    serversession.ServerSession.create_open_session_response = (
        create_open_session_response)


def _is_sessionless(data):
    """True for an IPMI 1.5 packet with session id and sequence 0."""
    if data[4] not in (0, 2) or len(data) < 13:
        return False
    sequence, session_id = struct.unpack('<II', bytes(data[5:13]))
    return sequence == 0 and session_id == 0


def _unregister(server_session, sockaddr):
    """Forget one server session; the client's other sessions stay."""
    handlers = session.Session.bmc_handlers.get(sockaddr)
    if handlers and handlers.get(server_session.bmc.port) is server_session:
        del handlers[server_session.bmc.port]
        if not handlers:
            del session.Session.bmc_handlers[sockaddr]


def fix_server_sessionless_retransmit():
    """Keep one client's new login from dropping its other sessions.

    pyghmi bug: when a client sends a sessionless packet (a login's first
    "get channel authentication capabilities") from a UDP port that
    already has a session with a simulated BMC, ``_handle_ipmi_packet``
    deletes ``Session.bmc_handlers[client address]``: the client's
    sessions with *every* BMC in the process. Packets already queued for
    those sessions then reach ``process_pktqueue``, which calls
    ``self.sessionless_data`` on a ``ServerSession`` that has no such
    method, and the ``AttributeError`` ends the shared ``listen()`` loop.
    pyghmi clients send such packets whenever they log in again to a BMC,
    because they share a few UDP ports between all sessions.

    The fix forgets only the session with this BMC and hands the packet to
    this BMC; a packet that reaches a session which is no longer
    registered goes to the session now registered, or to the BMC.

    Drop it when ``ServerSession`` handles a sessionless packet without
    touching other BMCs' sessions.
    """
    cls = serversession.ServerSession
    original = cls._handle_ipmi_packet

    def _handle_ipmi_packet(self, data, sockaddr=None, qent=None):
        if sockaddr is not None:
            if _is_sessionless(data):
                _unregister(self, sockaddr)
                return self.bmc.sessionless_data(data, sockaddr)
            handlers = session.Session.bmc_handlers.get(sockaddr) or {}
            current = handlers.get(self.bmc.port)
            if current is None:
                return self.bmc.sessionless_data(data, sockaddr)
            if current is not self:
                return current._handle_ipmi_packet(data, sockaddr, qent)
        return original(self, data, sockaddr, qent)

    def sessionless_data(self, data, sockaddr):
        return self.bmc.sessionless_data(data, sockaddr)

    cls._handle_ipmi_packet = _handle_ipmi_packet
    cls.sessionless_data = sessionless_data


def fix_stale_login_entries():
    """Stop a second ``Command()`` to the same BMC from reusing a dead login.

    pyghmi bug: ``Session.__new__`` files each new session in
    ``Session.initting_sessions`` under ``(bmc, userid, password, port,
    kg)`` as given (text), but removes it under the encoded (bytes) user
    and password, which never matches on Python 3. The entry stays, and the
    next ``Command()`` with the same BMC and credentials gets the old
    session back: if it had logged in, ``__init__`` waits forever for a
    login that already happened; if it had failed or logged out, the call
    fails with a misleading error (``Session no longer connected`` after
    7 s instead of ``Incorrect password provided``, or a ``TypeError``).

    The fix drops the entry when its session is no longer logging in, so
    each later ``Command()`` logs in afresh. An entry for a login still in
    progress is kept, so that a concurrent ``Command()`` still joins it.

    Drop it when ``Session.__new__`` and ``_mark_broken`` use the same key
    (upstream keys both on the raw arguments).
    """
    cls = session.Session
    original = cls.__new__

    def __new__(cls, bmc, userid, password, port=623, kg=None, *args,
                **kwargs):
        key = (bmc, userid, password, port, kg)
        entry = cls.initting_sessions.get(key)
        if entry is not None and (getattr(entry, 'broken', False)
                                  or getattr(entry, 'logged', 0)
                                  or not getattr(entry, 'logging', True)):
            cls.initting_sessions.pop(key, None)
        return original(cls, bmc, userid, password, port, kg, *args,
                        **kwargs)

    cls.__new__ = staticmethod(__new__)


_waiters_lock = threading.Lock()
_waiters = {}  # what a wait is for (see _wait_key): set of Events
_local = threading.local()
# Backstop: a wait for "any packet" looks again at least this often.
_ANY_WAIT_CAP = 0.5
_NO_PEER = ('housekeeping', 0)  # an address no packet comes from
_HOUSEKEEPING_PERIOD = 1.0


def _wake(key):
    with _waiters_lock:
        events = list(_waiters.get(key, ()))
    for event in events:
        event.set()


def _wait_key(myaddr):
    """What this wait is for: a peer's answer, a login, or any packet."""
    if myaddr is not None:
        return myaddr
    return getattr(_local, 'login', None)


def _work_is_queued(key):
    """True if the wait about to start would wait for something done."""
    if key is None:
        return bool(session.sessionqueue)
    if isinstance(key, session.Session):  # a login: done, or work queued
        return (not key.logging or key.broken
                or bool(session.sessionqueue))
    awaiting = getattr(_local, 'call', None)
    if awaiting is None:
        return False
    peer, netfn, command = awaiting
    return (bool(peer.pktqueue)
            or not session.unmatched(peer.lastresponse, netfn, command))


def _io_wait(timeout, myaddr=None, evq=None):
    """``session._io_wait`` that cannot miss work another thread did.

    Same protocol as the original (an event queued for the IO thread,
    which sets it when a packet comes or the deadline passes), plus: the
    event is registered where :func:`_wake` finds it, and the wait is
    skipped when its work is already queued or done.
    """
    event = threading.Event()
    if evq is not None:
        evq.append(event)
    deadline = timeout + util._monotonic_time()
    if myaddr is None and getattr(_local, 'timers_only', False):
        myaddr = _NO_PEER  # so the IO thread wakes it at the deadline only
    session.ioqueue.append((deadline, event, myaddr))
    if deadline < session.selectdeadline:
        wakeup = session.iosockets[0]
        wakeup.sendto(b'\x01', (session.myself, wakeup.getsockname()[1]))
    if evq is not None or myaddr is _NO_PEER:
        event.wait()  # woken by the thread it waits for, or at the deadline
        return
    key = _wait_key(myaddr)
    with _waiters_lock:
        _waiters.setdefault(key, set()).add(event)
    try:
        if not _work_is_queued(key):
            event.wait(_ANY_WAIT_CAP if myaddr is None else None)
    finally:
        with _waiters_lock:
            events = _waiters[key]
            events.discard(event)
            if not events:
                del _waiters[key]


def _logging_in(init):
    """``Session.__init__`` that notes which login this thread waits for."""

    def __init__(self, *args, **kwargs):
        previous = getattr(_local, 'login', None)
        _local.login = self
        try:
            init(self, *args, **kwargs)
        finally:
            _local.login = previous

    return __init__


def _waking(method, key_of):
    """``method`` that wakes the waiters for ``key_of(self)`` afterwards."""

    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        finally:
            _wake(key_of(self))

    return wrapper


def fix_lost_wakeup():
    """Wake a waiting caller when another thread does its work.

    pyghmi bug: a thread waiting for an answer, or for its login to
    finish, sleeps until the IO thread reads a *new* packet or a timer
    fires (0.5-1 s for an answer, up to the ~25 s keepalive for a login).
    Any thread may handle any session's packets and finish any session's
    login, so when another thread (often ``Housekeeper``) does it just
    before or while the caller waits, the caller sleeps on although its
    work is done. Under load about 1 call in 100 took 1 s instead of
    2 ms; one BMC at a time, a login could stall for 25 s.

    The fix registers each wait under what it waits for, has the code that
    does that work wake it (``process_pktqueue`` for answers, ``onlogon``
    and ``_mark_broken`` for logins), and skips a wait whose work is
    already queued or done.

    Drop it when pyghmi's waits are woken by the code that does the work
    rather than only by the IO thread.
    """
    cls = session.Session
    process = cls.process_pktqueue
    await_response = cls.awaitresponse

    def awaitresponse(self, retry, netfn, command):
        previous = getattr(_local, 'call', None)
        _local.call = (self, netfn, command)
        try:
            return await_response(self, retry, netfn, command)
        finally:
            _local.call = previous

    def process_pktqueue(self):
        if self.pktqueue:
            process(self)
            _wake(getattr(self, 'sockaddr', None) or ())

    session._io_wait = _io_wait
    cls.__init__ = _logging_in(cls.__init__)
    cls.awaitresponse = awaitresponse
    cls.process_pktqueue = process_pktqueue
    cls.onlogon = _waking(cls.onlogon, lambda self: self)
    cls._mark_broken = _waking(cls._mark_broken, lambda self: self)


def _housekeeping(cls):
    """``Command.eventloop`` that sleeps until the next timer is due."""
    _local.timers_only = True
    while True:
        session.Session.wait_for_rsp(timeout=_HOUSEKEEPING_PERIOD)


def fix_housekeeper_spin():
    """Make ``Housekeeper`` sleep between timers instead of spinning.

    pyghmi bug: ``Housekeeper`` runs ``Command.eventloop``, which calls
    ``Session.wait_for_rsp()`` without a timeout; with no session open,
    that returns at once, so the thread spins and holds the GIL (1.3 s of
    CPU in 2 s idle) and every other pyghmi thread slows down. With
    sessions open it also races the callers for every packet, so logins
    hop between threads. Here it waits for timers only (keepalives,
    retransmits), at least once a second; callers handle their own
    packets.

    Drop it when ``Command.eventloop`` passes a timeout.
    """
    command.Command.eventloop = classmethod(_housekeeping)


def fix_receive_ready_only():
    """Read only the sockets that have data after each IO wakeup.

    pyghmi limitation: after every wakeup the IO thread calls
    ``recvfrom`` on every socket in the process until it fails. A
    simulator with 500 BMCs has 500 sockets, so each packet cost 500
    failed system calls and an exception each, and one process could not
    serve hundreds of BMCs quickly. A zero-timeout ``select`` first picks
    the sockets that have data.

    Drop it when ``_io_graball`` reads only the sockets ``select`` found
    ready.
    """
    original = session._io_graball

    def _io_graball(mysockets, iowaiters):
        try:
            ready = select.select(mysockets, (), (), 0)[0]
        except (OSError, ValueError):  # a socket closed meanwhile
            ready = mysockets
        return original(ready, iowaiters)

    session._io_graball = _io_graball


def _is_closed(sock):
    try:
        os.fstat(sock.fileno())
    except (OSError, ValueError):
        return True
    return False


def _select_open(rlist, wlist, xlist, timeout=None):
    """``select.select`` for pyghmi's IO thread: sockets closed under it
    leave ``rlist`` (pyghmi's own ``iosockets``) instead of raising."""
    try:
        return select.select(rlist, wlist, xlist, timeout)
    except (OSError, ValueError):
        closed = [sock for sock in list(rlist) if _is_closed(sock)]
        if not closed:
            raise
        for sock in closed:
            if sock in rlist:
                rlist.remove(sock)
        LOG.debug('Dropped %d closed sockets from pyghmi\'s IO loop',
                  len(closed))
        return [], [], []


def fix_closed_socket():
    """Keep pyghmi's IO thread alive when one of its sockets is closed.

    pyghmi bug: the IO thread ``select()``s on every socket in
    ``iosockets`` and nothing catches an error there. A socket closed
    while it is still listed (a simulated BMC stopping while the thread
    was between building its list and the system call) raises EBADF; the
    thread dies, and every later call in the process waits for ever for
    an answer nobody reads (seen as "did not answer" from every BMC, in
    a test process that had stopped a simulated fleet earlier). Here the
    closed socket is dropped from the list and the loop goes on.

    Drop it when pyghmi's IO loop survives a closed socket.
    """
    session.select = types.SimpleNamespace(select=_select_open)


_heard = {}  # peer address as pyghmi sees it: time.monotonic() of last packet
_tracking = []


def track_answers():
    """Record when each peer last sent this process a packet.

    Not a bug fix: pyghmi reports a BMC that never answers and one that
    answers too slowly the same way, and the driver needs to tell them
    apart (``OOBUnreachable`` against ``OOBTimeout``). Wraps the IO
    thread's ``_io_graball``, which returns the addresses it read from.
    Idempotent; see :func:`answered_since`.
    """
    with _apply_lock:
        if _tracking:
            return
        original = session._io_graball

        def _io_graball(mysockets, iowaiters):
            addresses = original(mysockets, iowaiters)
            now = time.monotonic()
            for address in addresses:
                _heard[address] = now
            return addresses

        session._io_graball = _io_graball
        _tracking.append(True)


def answered_since(address, port, since):
    """True if the BMC at ``address``:``port`` sent anything after ``since``.

    :param since: a ``time.monotonic()`` value.
    Needs :func:`track_answers`. An address pyghmi maps to IPv6
    (``::ffff:a.b.c.d``) is looked up in both forms.
    """
    try:
        infos = socket.getaddrinfo(address, port, 0, socket.SOCK_DGRAM)
    except OSError:
        return False
    for info in infos:
        sockaddr = info[4]
        candidates = [sockaddr]
        if info[0] == socket.AF_INET:
            candidates.append(('::ffff:' + sockaddr[0], sockaddr[1], 0, 0))
        if any(_heard.get(c, -1.0) >= since for c in candidates):
            return True
    return False


#: Every fix by name, in the order they are applied.
FIXES = {
    'lock_order': fix_lock_order,
    'receive_race': fix_receive_race,
    'stale_login_entries': fix_stale_login_entries,
    'lost_wakeup': fix_lost_wakeup,
    'housekeeper_spin': fix_housekeeper_spin,
    'server_cipher_suites': fix_server_cipher_suites,
    'server_sessionless_retransmit': fix_server_sessionless_retransmit,
    'receive_ready_only': fix_receive_ready_only,
    'closed_socket': fix_closed_socket,
}
CLIENT_FIXES = ('lock_order', 'receive_race', 'stale_login_entries',
                'lost_wakeup', 'housekeeper_spin', 'closed_socket')
#: A simulator process runs pyghmi's client IO machinery too.
SERVER_FIXES = CLIENT_FIXES + ('server_cipher_suites',
                               'server_sessionless_retransmit',
                               'receive_ready_only')


#: pyghmi's private names the fixes read or replace. pyproject.toml caps
#: pyghmi below its next minor version; this catches a patch release
#: that moved one anyway, before any fix half-applies.
INTERNALS = {
    command: ('Command.eventloop',),
    serversession: ('ServerSession._handle_ipmi_packet',
                    'ServerSession.create_open_session_response'),
    session: ('KEEPALIVE_SESSIONS', 'WAITING_SESSIONS', '_io_graball',
              'select',
              '_io_recvfrom', '_io_wait', 'iosockets', 'Session.__init__',
              'Session.awaitresponse', 'Session.process_pktqueue',
              'Session.onlogon', 'Session._mark_broken',
              'Session._is_session_valid',
              'Session.wait_for_rsp', 'Session.initting_sessions',
              'Session.bmc_handlers'),
    util: ('_monotonic_time',),
}


def session_usable(cmd):
    """True if ``cmd``'s session is logged in and pyghmi still counts it
    alive (not broken, its keep-alive not overdue)."""
    try:
        sess = cmd.ipmi_session
        return bool(sess.logged) and not sess.broken \
            and session.Session._is_session_valid(sess)
    except Exception:  # noqa: BLE001 - unknown state: not usable
        return False


def drop_session(cmd):
    """Make pyghmi forget ``cmd``'s session, so that the next
    ``Command()`` to that BMC logs in afresh instead of reusing it (a
    session a failed or abandoned call left in an unknown state). Never
    raises."""
    try:
        cmd.ipmi_session._mark_broken()
    except Exception:  # noqa: BLE001 - best effort: a broken one anyway
        LOG.debug('Dropping an IPMI session failed', exc_info=True)


def missing_internals():
    """The ``module.name`` of every internal in :data:`INTERNALS` that
    this pyghmi lacks (empty when all are there)."""
    missing = []
    for module, names in INTERNALS.items():
        for name in names:
            found = module
            for part in name.split('.'):
                found = getattr(found, part, None)
            if found is None:
                missing.append('%s.%s' % (module.__name__, name))
    return missing


def check_internals():
    """Refuse to run on a pyghmi whose internals moved.

    Daemons that drive or simulate BMCs call this at start-up.

    :raises DrydockException: naming the installed version and what is
        gone.
    """
    missing = missing_internals()
    if missing:
        from importlib import metadata
        raise exception.DrydockException(
            'pyghmi %s lacks internals drydock patches (%s); install the '
            'pyghmi version pyproject.toml allows'
            % (metadata.version('pyghmi'), ', '.join(missing)))


def apply_fixes(names):
    """Apply the named fixes from :data:`FIXES`, each at most once.

    :param names: iterable of keys of :data:`FIXES`.
    :raises KeyError: for an unknown name, before anything is applied.
    :raises DrydockException: when pyghmi's internals moved
        (:func:`check_internals`).
    """
    names = list(names)
    unknown = [name for name in names if name not in FIXES]
    if unknown:
        raise KeyError(f'unknown pyghmi fixes: {", ".join(unknown)}')
    check_internals()
    with _apply_lock:
        for name in names:
            if name not in _applied:
                FIXES[name]()
                _applied.add(name)
                LOG.debug('Applied pyghmi work-around %s', name)


def apply_client_fixes():
    """Apply the fixes a process that talks to BMCs needs."""
    apply_fixes(CLIENT_FIXES)


def apply_server_fixes():
    """Apply the fixes a process that simulates BMCs needs."""
    apply_fixes(SERVER_FIXES)


def applied():
    """Names of the fixes applied in this process."""
    return frozenset(_applied)
