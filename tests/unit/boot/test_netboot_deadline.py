"""A node that never asks for its iPXE script fails at the boot
service's deadline, with what dnsmasq's log showed: whether its design
MAC asked for an address, and which MACs not in the design did."""

import datetime

from drydockd.boot import agent_api
from drydockd.boot import dhcplog
from drydockd.boot import provisions
from drydockd.boot import service
from drydockd.boot import tokens

T0 = datetime.datetime(2026, 11, 30, 22, 0, 0)
# Lines as dnsmasq 2.90 writes them with log-dhcp.
# (each with the trailing space dnsmasq leaves after the MAC).
LOG = [
    'dnsmasq-dhcp[14358]: 1682797377 DHCPDISCOVER(br0) 52:54:00:77:00:02 ',
    'dnsmasq-dhcp[14358]: 1682797377 DHCPOFFER(br0) 10.77.0.12 '
    '52:54:00:77:00:02 ',
    'dnsmasq-dhcp[14358]: 3466194483 DHCPDISCOVER(br0) 52:54:00:77:00:03 '
    'ignored',
    'dnsmasq-dhcp[14358]: 1682797377 sent size:  6 option: 12 hostname  '
    'node02',
    'dnsmasq-dhcp[14358]: 1682797377 requested options: 1:netmask, '
    '3:router']


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


def _sightings(clock):
    seen = dhcplog.Sightings(now=clock)
    for line in LOG:
        seen.feed(line)
    return seen


def test_sightings_tell_answered_from_ignored():
    clock = Clock()
    seen = _sightings(clock)
    assert seen.asked_since('52:54:00:77:00:02', T0)
    assert not seen.asked_since('52:54:00:77:00:03', T0)
    assert seen.ignored_since(T0) == ['52:54:00:77:00:03']
    assert seen.ignored_since(T0 + datetime.timedelta(seconds=1)) == []
    assert not seen.asked_since('52:54:00:77:00:02',
                                T0 + datetime.timedelta(seconds=1))


def test_sightings_are_bounded():
    seen = dhcplog.Sightings()
    for i in range(dhcplog.MAX_MACS + 10):
        seen.feed('DHCPDISCOVER(br0) 02:00:00:%02x:%02x:%02x ignored'
                  % (i >> 16, (i >> 8) & 255, i & 255))
    assert len(seen.ignored_since(datetime.datetime.min)) == \
        dhcplog.MAX_MACS


def _prov(mac, since=T0):
    return provisions.Provisioning(node='3', name='node03', mac=mac,
                                   task='t-1', action='deploy', since=since)


def test_the_message_says_who_asked():
    seen = _sightings(Clock())
    assert service.silence_message(_prov('52:54:00:77:00:99'), 90, seen) == (
        'no network boot request within 90 s of its power cycle: its '
        'design MAC 52:54:00:77:00:99 never asked for an address; MACs not '
        'in the design did, and got no answer: 52:54:00:77:00:03')
    assert service.silence_message(_prov('52:54:00:77:00:02'), 90, seen) == (
        'no network boot request within 90 s of its power cycle: its MAC '
        '52:54:00:77:00:02 got an address but never fetched its iPXE '
        'script')
    assert service.silence_message(_prov('52:54:00:77:00:99'), 90, None) \
        == 'no network boot request within 90 s of its power cycle'


def test_only_nodes_power_cycled_long_ago_and_silent_are_due():
    book = tokens.TokenBook()
    registry = provisions.Registry(book)
    silent = _prov('52:54:00:77:00:99')
    booted = provisions.Provisioning(node='2', name='node02',
                                     mac='52:54:00:77:00:02', task='t-1',
                                     action='deploy', since=T0,
                                     phase='booting')
    fresh = provisions.Provisioning(node='4', name='node04', mac='m',
                                    task='t-1', action='deploy',
                                    since=T0 + datetime.timedelta(
                                        seconds=100))
    not_cycled = provisions.Provisioning(node='5', name='node05', mac='m',
                                         task='t-1', action='deploy')
    registry.sync([silent, booted, fresh, not_cycled])
    due = T0 + datetime.timedelta(seconds=90)
    assert registry.not_booted(due) == [silent]
    # Its power cycle shows up in a later read of the database.
    registry.sync([silent, booted, fresh, provisions.Provisioning(
        node='5', name='node05', mac='m', task='t-1', action='deploy',
        since=T0)])
    assert [p.node for p in registry.not_booted(due)] == ['3', '5']
    sent = []
    agent_api.AgentAPI(registry, sent.append, now=lambda: due).fail(
        silent, 'no network boot request within 90 s')
    assert [p.node for p in registry.not_booted(due)] == ['5']
    [report] = sent
    boot, result = report['args']['nodes']
    assert (boot['deployment_graph_task_name'], boot['task_status']) == (
        'boot', 'error')
    assert result['agent_result'] == 'failure'
    assert result['message'] == ('node node03: no network boot request '
                                 'within 90 s')


def _service(netboot_timeout, started):
    from oslo_config import cfg

    from drydockd.conf import opts
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    conf.set_override('netboot_timeout', netboot_timeout, group='boot')
    conf.set_override('dnsmasq', False, group='boot')
    publisher = ListPublisher()
    svc = service.BootService(conf, db=object(), publisher=publisher)
    svc.started = started
    return svc, publisher.sent


class ListPublisher:
    """Takes the reports the work plane would."""

    def __init__(self):
        self.sent = []

    def to_receiver(self, report):
        self.sent.append(report)


def test_the_service_fails_silent_nodes_only_after_watching_them():
    from drydockd.common import timeutils
    now = timeutils.utcnow()
    long_ago = now - datetime.timedelta(seconds=1000)
    # Just restarted: a node power-cycled long ago is not failed yet.
    svc, sent = _service(90, now - datetime.timedelta(seconds=10))
    svc.registry.sync([_prov('52:54:00:77:00:99', since=long_ago)])
    svc.fail_silent_nodes()
    assert sent == []
    svc.started = long_ago
    svc.fail_silent_nodes()
    [report] = sent
    assert report['args']['nodes'][-1]['message'] == (
        'node node03: no network boot request within 90 s of its power '
        'cycle')
    # Off: never.
    svc, sent = _service(0, long_ago)
    svc.registry.sync([_prov('52:54:00:77:00:99', since=long_ago)])
    svc.fail_silent_nodes()
    assert sent == []
