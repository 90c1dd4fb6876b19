"""A three-node RabbitMQ cluster loses the node that leads the work queues
in the middle of a deployment (issue 15).

The cluster is the test's own (tests/rabbit_nodes.py: own node names,
ports and directories), never the shared broker. Every daemon gets all
three nodes in its URLs. The work queues are quorum queues, so their
messages survive the leader; publishers retry until a surviving node
confirms, and consumers ack only after the work is done, so a failover
may deliver a report twice but never loses one. The rows must equal those
of an undisturbed run of the same design, field by field.
"""

import time

import pytest

import faults_support as fs
import rabbit_nodes
from test_receiver_faults import reference_env  # noqa: F401 - a fixture
from test_receiver_faults import ends_as_undisturbed
from test_receiver_faults import reference_run

DURATION = 1.8


@pytest.fixture
def broker_cluster():
    cluster = rabbit_nodes.cluster(3)
    yield cluster
    cluster.stop()


def test_leader_killed_mid_deployment(tmp_path, pg_url, reference_env,  # noqa: F811
                                      daemons, broker_cluster):
    design = fs.write_design(tmp_path / 'site.yaml', duration=DURATION)
    expected = reference_run(tmp_path, design, reference_env, daemons)

    vhost = broker_cluster.add_vhost('drydock-cluster')
    site = fs.Site(tmp_path / 'cluster', pg_url, vhost, daemons,
                   broker=broker_cluster)
    site.start()
    site.create(design)
    # Reports flow once the graph runs; the receiver queue's leader then
    # holds what is not yet committed.
    site.wait_running(ready_rows=200)
    leader = broker_cluster.leader(vhost, fs.RECEIVER_QUEUE)
    before = fs.deployment_state(site.engine, site.task['id'])
    leader.kill()
    killed = time.monotonic()
    time.sleep(5)
    leader.restart()
    print('killed %s (leader of %s) for %.1f s at %r' % (
        leader.name, fs.RECEIVER_QUEUE, time.monotonic() - killed, before))
    assert before['task'] not in ('complete', 'terminated')
    assert before['open_rows'] > 0
    ends_as_undisturbed(site, expected, timeout=240)
