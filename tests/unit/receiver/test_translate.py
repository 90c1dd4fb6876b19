"""Reports -> events (drydockd.receiver.translate).

Reports are built with the protocol's own builders and validated as the
receiver does, so what is translated here is what the receiver accepts.
No database: applying the events is tests/functional/db/test_apply_events.py.
"""

import dataclasses
import datetime

import pytest

from drydockd.common import events as ev
from drydockd.common import exception
from drydockd.messaging import schemas
from drydockd.receiver import translate

U = '0b7c3c43-6c1e-4a43-9d1b-0d6c1c0f2a11'
BASE = datetime.datetime(2026, 11, 22, 10, 0, 0, 123456)
RECEIVED = BASE + datetime.timedelta(minutes=5)


def T(seconds):
    return BASE + datetime.timedelta(seconds=seconds)


def events(report):
    return translate.translate(schemas.validate_report(report), RECEIVED)


def deploy(status=None, nodes=None, **args):
    return schemas.report('deploy_resp', U, status=status, nodes=nodes,
                          **args)


def test_a_heartbeat_says_only_that_the_task_is_alive():
    assert events(deploy(progress=40.5, executor='master-1')) == [
        ev.TaskReported(U, RECEIVED, 40, 'master-1')]
    assert events(deploy()) == [ev.TaskReported(U, RECEIVED)]


def test_running_starts_the_task():
    assert events(deploy('running', progress=0)) == [
        ev.TaskReported(U, RECEIVED, 0), ev.TaskStarted(U, RECEIVED)]


@pytest.mark.parametrize('status,failed,stopped', [
    ('ready', False, False), ('error', True, False),
    ('stopped', False, True)])
def test_the_executor_words_for_an_end(status, failed, stopped):
    got = events(deploy(status, error='boom' if failed else None))
    assert got[-1] == ev.TaskEnded(U, RECEIVED, failed, stopped,
                                   'boom' if failed else None)


def test_graph_task_entries_keep_executor_times():
    got = events(deploy(nodes=[
        schemas.node_entry('5', T(2), 'hiera', 'ready',
                           time_start=schemas.format_time(T(1)),
                           summary={'lines': 3}, custom={'k': 'v'}),
        schemas.node_entry(None, T(3), 'stage', 'error',
                           error_msg='dependency failed'),
        schemas.node_entry('master', T(4), 'upload', 'running')]))
    assert got[1:] == [
        ev.GraphTaskChanged(U, '5', 'hiera', 'ready', T(2), T(1),
                            custom={'k': 'v'}, summary={'lines': 3}),
        ev.GraphTaskChanged(U, None, 'stage', 'error', T(3),
                            error='dependency failed'),
        ev.GraphTaskChanged(U, 'master', 'upload', 'running', T(4))]


def test_astute_entry_without_time_happened_on_receipt():
    """Fuel's Astute sends no ``time``: the receipt time stands in."""
    astute = {'method': 'deploy_resp', 'args': {
        'task_uuid': U, 'nodes': [
            {'uid': '5', 'deployment_graph_task_name': 'hiera',
             'task_status': 'running'},
            {'uid': '5', 'status': 'ready', 'progress': 100}]}}
    assert events(astute)[1:] == [
        ev.GraphTaskChanged(U, '5', 'hiera', 'running', RECEIVED),
        ev.NodeChanged(U, 5, RECEIVED, 'ready', 100)]


def test_node_entries_move_nodes_and_only_nodes_vote():
    """The final report's node-level entries are the outcomes; the
    master's is not a node: it neither votes nor moves a node row."""
    got = events(deploy('error', progress=100, nodes=[
        schemas.node_entry('5', T(4), status='ready', progress=100),
        schemas.node_entry('10', T(4), status='error', progress=100,
                           error_msg='hiera failed'),
        schemas.node_entry('master', T(4), status='error', progress=100),
        schemas.node_entry('6', T(4), 'hiera', 'ready', progress=50)]))
    assert got == [
        ev.TaskReported(U, RECEIVED, 100),
        ev.NodeChanged(U, 5, T(4), 'ready', 100),
        ev.NodeChanged(U, 10, T(4), 'error', 100, 'hiera failed'),
        ev.GraphTaskChanged(U, '6', 'hiera', 'ready', T(4)),
        ev.NodeChanged(U, 6, T(4), progress=50),
        ev.TaskEnded(U, RECEIVED, True, outcomes=((5, True), (10, False)))]


def test_a_graph_task_error_is_not_the_node_error():
    got = events(deploy(nodes=[schemas.node_entry(
        '5', T(2), 'hiera', 'error', error_msg='exit 3', progress=50)]))
    assert got[2] == ev.NodeChanged(U, 5, T(2), progress=50)


def test_subtask_entries():
    until = T(1800)
    got = events(schemas.report('provision_resp', U, nodes=[
        schemas.node_entry('5', T(1), subtask_uuid='s5', result='failure',
                           message='BMC unreachable', status='error',
                           error_msg='BMC unreachable'),
        schemas.node_entry('6', T(2), subtask_uuid='s6',
                           message='waiting for the agent',
                           awaiting_agent_until=schemas.format_time(until),
                           status='provisioning', progress=50,
                           power_state='on')]))
    assert got[1:] == [
        ev.SubtaskSettled(U, 's5', RECEIVED, False, 'BMC unreachable'),
        ev.NodeChanged(U, 5, T(1), 'error', error='BMC unreachable'),
        ev.SubtaskAwaitingAgent(U, 's6', RECEIVED, until,
                                'waiting for the agent'),
        ev.NodeChanged(U, 6, T(2), 'provisioning', 50, power_state='on')]


def test_node_agent_report():
    agent = schemas.report('node_agent_resp', None, nodes=[
        schemas.node_entry('5', T(1), status='provisioned', progress=100),
        schemas.node_entry('6', T(1), status='provisioning')])
    assert events(agent) == [ev.NodeProvisioned(5, RECEIVED)]


def test_boot_service_agent_report():
    """The boot service's reports name the task: steps, inventory and
    the agent's result."""
    inventory = {'cpus': 1, 'memory_mb': 256, 'disks': [], 'nics': []}
    agent = schemas.report('node_agent_resp', U, nodes=[
        schemas.node_entry('5', T(2), 'inspect', 'ready',
                           time_start=schemas.format_time(T(1))),
        schemas.node_entry('5', T(2), inventory=inventory),
        schemas.node_entry('5', T(3), status='provisioned', progress=100,
                           agent_result='success', message='booted'),
        schemas.node_entry('6', T(3), agent_result='failure',
                           message='disk too small')])
    assert events(agent) == [
        ev.TaskReported(U, RECEIVED),
        ev.GraphTaskChanged(U, '5', 'inspect', 'ready', T(2), T(1)),
        ev.NodeInventoried(U, 5, T(2), inventory),
        ev.NodeChanged(U, 5, T(3), 'provisioned', 100),
        ev.AgentFinished(U, 5, T(3), True, 'booted'),
        ev.AgentFinished(U, 6, T(3), False, 'disk too small')]


def test_an_unreadable_deadline_is_refused():
    """validate_report checks ``time`` and ``time_start``; a deadline
    outside datetime's range is caught by the translation, so the receiver
    sets that message aside on its own."""
    report = schemas.report('provision_resp', U, nodes=[schemas.node_entry(
        '5', T(1), subtask_uuid='s5', message='m',
        awaiting_agent_until='9999-12-31T23:59:59-10:00')])
    with pytest.raises(exception.MessageInvalid):
        events(report)


def test_long_texts_are_cut():
    long = 'x' * (ev.MAX_TEXT + 10)
    got = events(deploy('error', error=long, nodes=[
        schemas.node_entry('5', T(1), 'hiera', 'error', error_msg=long)]))
    assert len(got[1].error) == len(got[2].reason) == ev.MAX_TEXT


def test_events_are_frozen():
    event = events(deploy())[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.progress = 5


def test_power_sync_report():
    """Every reading is a PowerRead; a state other than the expected one
    is also a PowerDrift, restored or not; a failed read says why."""
    sweep = schemas.report('power_sync_resp', None, nodes=[
        schemas.node_entry('5', T(1), power_read='on'),
        schemas.node_entry('6', T(2), power_read='off',
                           power_expected='on', power_restored=True),
        schemas.node_entry('7', T(3), power_read='on',
                           power_expected='off'),
        schemas.node_entry('8', T(4), power_error='BMC of node n8 did '
                                                  'not answer')])
    assert events(sweep) == [
        ev.PowerRead(5, T(1), 'on'),
        ev.PowerRead(6, T(2), 'off'),
        ev.PowerDrift(6, T(2), 'on', 'off', True),
        ev.PowerRead(7, T(3), 'on'),
        ev.PowerDrift(7, T(3), 'off', 'on', None),
        ev.PowerRead(8, T(4), None, 'BMC of node n8 did not answer')]
    with pytest.raises(exception.MessageInvalid):
        schemas.validate_report(schemas.report('power_sync_resp', None))
