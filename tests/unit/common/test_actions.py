"""One action table: everything that names node actions reads it."""

from drydockd.common import actions
from drydockd.common import states
from drydockd.executor import node_methods
from drydockd.messaging import schemas


def test_every_node_action_method_has_one_executor_handler():
    methods = {a.method for a in actions.NODE_ACTIONS.values()}
    assert methods == set(node_methods.HANDLERS)


def test_protocol_and_state_rules_follow_the_table():
    for action in actions.NODE_ACTIONS.values():
        assert schemas.REQUESTS[action.method] == action.reply
        assert action.name in states.SUBTASK_ACTIONS
        request = schemas.request(action.method, 'uuid-1', **action.args)
        assert request['respond_to'] == action.reply
    assert actions.AGENT_ACTIONS == ('provision_nodes', 'inspect_nodes',
                                     'destroy_nodes')
    assert actions.awaits_agent('image_provision')
    assert not actions.awaits_agent('power')


def test_destroy_leaves_only_network_booting_nodes_to_their_agent():
    destroy = actions.NODE_ACTIONS['destroy_nodes']
    pxe = {'name': 'n1', 'boot': {'mac': '52:54:00:00:00:01'}}
    plain = {'name': 'n2'}
    assert destroy.uses_agent(pxe) and not destroy.uses_agent(plain)
    assert 'wipe its disks' in destroy.effect_for(pxe)
    assert destroy.effect_for(plain).startswith('power off %(node)s')
    provision = actions.NODE_ACTIONS['provision_nodes']
    assert provision.uses_agent(plain) and provision.uses_agent(pxe)
    assert not actions.NODE_ACTIONS['prepare_nodes'].uses_agent(pxe)
    assert actions.of_method('remove_nodes') is destroy


def test_create_task_accepts_every_action_but_power():
    assert set(actions.SUPPORTED) == (
        set(actions.NODE_ACTIONS) - {'power_nodes'}
        | {'verify_site', 'validate_design', 'prepare_site', 'deploy_nodes'})
