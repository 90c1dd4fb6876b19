"""How a dry run names a node's BMC."""

from drydockd.manager import dry_run


def test_a_dry_run_names_a_redfish_bmc_by_url_and_system():
    node = {'name': 'rf01', 'oob': {'type': 'redfish',
                                    'address': 'https://10.0.0.5',
                                    'system': 'sys-1'}}
    assert dry_run.effect('power_nodes', node, 'off') == (
        'Dry run: would power off rf01 through its BMC at '
        'https://10.0.0.5 (Redfish system sys-1)')
