"""Each node goes to the driver its design names, or every node to the
one [executor] oob_driver names."""

import pytest

from drydockd.common import exception
from drydockd.conf import config
from drydockd.oob import base
from drydockd.oob import fake
from drydockd.oob import redfish
from drydockd.oob import router


def _router(oob_driver):
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    config.opts.register_opts(conf)
    conf([])
    conf.set_override('oob_driver', oob_driver, 'executor')
    return router.Router(conf)


def _node(name, kind):
    return base.OOBInfo.from_design({'name': name, 'oob': {
        'type': kind, 'address': 'https://127.0.0.1:1' if kind == 'redfish'
        else '127.0.0.1', 'account': 'a', 'credential': 'c'}})


def test_by_design():
    r = _router('design')
    assert r.driver_name(_node('a', 'redfish')) == 'redfish'
    assert r.driver_name(_node('b', 'ipmi')) == 'ipmi'
    assert r.driver_name(_node('c', None)) == 'ipmi'
    assert isinstance(r.driver_for(_node('a', 'redfish')),
                      redfish.RedfishDriver)
    r.validate(_node('a', 'redfish'))
    with pytest.raises(exception.InvalidInput, match='a: oob address'):
        r.validate(base.OOBInfo(name='a', address='10.0.0.1', account='x',
                                credential='y', type='redfish'))


def test_one_driver_for_every_node():
    r = _router('fake')
    node = _node('a', 'redfish')
    assert isinstance(r.driver_for(node), fake.FakeDriver)
    r.set_power_state(node, 'on')
    assert r.get_power_state(node) == 'on'
    r.set_boot_device(node, 'pxe', persistent=True)
    assert r.driver_for(node).store.calls[-1] == (
        'set_boot_device', 'a', ('pxe', 'persistent'))


def test_unknown_driver_is_a_node_error():
    r = _router('design')
    node = base.OOBInfo(name='x', address='1.2.3.4', type='snmp')
    with pytest.raises(exception.InvalidInput, match="node x: .*'snmp'"):
        r.get_power_state(node)
