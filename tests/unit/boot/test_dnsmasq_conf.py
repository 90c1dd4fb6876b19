"""dnsmasq's files, generated from the site design."""

import pytest

from drydockd.boot import dnsmasq
from drydockd.common import exception

DESIGN = {
    'boot': {'server': '10.77.0.1'},
    'nodes': [
        {'id': 1, 'name': 'node01',
         'boot': {'mac': '52:54:00:AA:00:01', 'ip': '10.77.0.11'}},
        {'id': 2, 'name': 'node02',
         'boot': {'mac': '52:54:00:aa:00:02', 'ip': '10.77.0.12'}},
        {'id': 3, 'name': 'node03'},
    ]}
BASE = 'http://10.77.0.1:8080'


def _lines(text):
    return [line for line in text.splitlines() if not line.startswith('#')]


def test_one_reservation_per_known_mac():
    assert dnsmasq.hosts_text(DESIGN).splitlines() == [
        '52:54:00:aa:00:01,10.77.0.11,node01',
        '52:54:00:aa:00:02,10.77.0.12,node02']


def test_dhcp_mode_answers_known_macs_only_and_chains_ipxe():
    lines = _lines(dnsmasq.conf_text(DESIGN, BASE, '/run/x/hosts',
                                     '/usr/lib/ipxe', 'br0'))
    assert 'dhcp-ignore=tag:!known' in lines
    assert 'dhcp-hostsfile=/run/x/hosts' in lines
    assert 'dhcp-range=10.77.0.0,static,255.255.255.0,1h' in lines
    assert 'dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe' in lines
    assert 'dhcp-boot=tag:ipxe,http://10.77.0.1:8080/boot.ipxe' in lines
    assert 'dhcp-userclass=set:ipxe,iPXE' in lines
    assert 'port=0' in lines            # no DNS
    assert ['interface=br0', 'bind-interfaces'] == [
        line for line in lines if line.startswith(('interface=', 'bind-'))]
    assert not any('proxy' in line for line in lines)


def test_proxy_mode_offers_boot_only():
    design = dict(DESIGN, boot={'server': '10.77.0.1', 'mode': 'proxy',
                                'subnet': '10.77.0.0',
                                'netmask': '255.255.0.0'})
    lines = _lines(dnsmasq.conf_text(design, BASE, 'h', '/t'))
    assert 'dhcp-range=10.77.0.0,proxy,255.255.0.0' in lines
    assert 'pxe-service=tag:!ipxe,x86PC,"drydock",undionly.kpxe' in lines
    assert ('pxe-service=tag:ipxe,x86PC,"drydock",'
            'http://10.77.0.1:8080/boot.ipxe') in lines
    assert 'dhcp-ignore=tag:!known' in lines
    assert not any(line.startswith('dhcp-boot') for line in lines)
    # No addresses handed out: the site's DHCP server does that.
    assert dnsmasq.hosts_text(design).splitlines()[0] == \
        '52:54:00:aa:00:01,node01'


def test_no_boot_section_is_one_clear_error():
    with pytest.raises(exception.InvalidInput) as err:
        dnsmasq.conf_text({'nodes': []}, BASE, 'h', '/t')
    assert 'boot section' in str(err.value)
