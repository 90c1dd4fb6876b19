"""IPMI session reuse: one login per BMC across calls, and a fresh login
when the BMC forgot the session (the simulated BMCs' own call log says
how many logins they saw)."""

import pytest
from pyghmi.ipmi.private import session as pyghmi_session

import fakebmc_fixtures as fx
from drydockd.oob import ipmi


@pytest.fixture(autouse=True)
def _no_sessions_from_other_tests():
    """Other tests' fleets reused these ports; their kept sessions (and
    pyghmi's keep-alives for them) must not count here."""
    ipmi.drop_kept_sessions()
    yield
    ipmi.drop_kept_sessions()


def _logins(fleet, name):
    return sum(1 for e in fleet.calls.of(name)
               if e['command'] == 'open_session')


def _forget_sessions(fleet, name):
    """The simulated BMC drops every session it has, as a BMC that
    restarted or expired them (pyghmi files a BMC's server sessions
    under each client's address)."""
    bmc = fleet.bmcs[name]
    handlers = pyghmi_session.Session.bmc_handlers
    for peer in list(handlers):
        entry = handlers.get(peer)
        if isinstance(entry, dict) and getattr(
                entry.get(bmc.port), 'bmc', None) is bmc:
            del entry[bmc.port]


def _driver(reuse, **more):
    return ipmi.IPMIDriver(fx.make_conf(
        command_timeout=2, retries=3, retry_backoff=0.05,
        status_poll_interval=0.02, reuse_sessions=reuse, **more))


def test_past_the_limit_the_least_recently_used_session_is_dropped():
    fleet = fx.start_fleet(3)
    driver = _driver(True, max_kept_sessions=2)
    nodes = [fx.oob_info(spec) for spec in fleet.specs]
    try:
        for node in nodes + nodes[1:]:      # 1, 2, 3 (1 out), 2, 3
            driver.get_power_state(node)
        assert [_logins(fleet, n) for n in ('node01', 'node02',
                                            'node03')] == [1, 1, 1]
        driver.get_power_state(nodes[0])    # logs in again; 2 goes out
        driver.get_power_state(nodes[2])
        assert [_logins(fleet, n) for n in ('node01', 'node02',
                                            'node03')] == [2, 1, 1]
        assert len(ipmi._kept) == 2
    finally:
        fleet.stop()


def test_one_login_for_many_calls_and_again_when_the_bmc_forgot_it():
    fleet = fx.start_fleet(2)
    driver = _driver(True)
    node = fx.oob_info(fleet.specs[0])
    try:
        for _ in range(5):
            assert driver.get_power_state(node) == 'off'
        driver.set_power_state(node, 'on')
        assert driver.get_power_state(node) == 'on'
        assert _logins(fleet, 'node01') == 1
        # The BMC forgets every session: the next call logs in again and
        # succeeds within its tries; the one after reuses that login.
        _forget_sessions(fleet, 'node01')
        assert driver.get_power_state(node) == 'on'
        assert driver.get_power_state(node) == 'on'
        assert _logins(fleet, 'node01') == 2
    finally:
        fleet.stop()


def test_without_reuse_every_call_logs_in():
    fleet = fx.start_fleet(1)
    driver = _driver(False)
    node = fx.oob_info(fleet.specs[0])
    try:
        for _ in range(3):
            driver.get_power_state(node)
        assert _logins(fleet, 'node01') == 3
    finally:
        fleet.stop()

