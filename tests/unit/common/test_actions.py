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
    assert actions.AGENT_ACTIONS == ('provision_nodes', 'inspect_nodes')
    assert actions.awaits_agent('image_provision')
    assert not actions.awaits_agent('power')


def test_create_task_accepts_every_action_but_power():
    assert set(actions.SUPPORTED) == (
        set(actions.NODE_ACTIONS) - {'power_nodes'}
        | {'verify_site', 'validate_design', 'prepare_site', 'deploy_nodes'})
