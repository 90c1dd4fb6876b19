"""Size limits a task must fit before it is created.

Checked before the task row exists and before any node is reserved: a
task that the executors would have to refuse is refused to its caller
instead, with the limit named, and never sits holding nodes while its
work message waits in a dead-letter queue.
"""

from drydockd.common import exception
from drydockd.messaging import schemas


def check_message(conf, message):
    """The work message fits ``[DEFAULT] max_message_bytes``."""
    size = schemas.encoded_size(message)
    if size > conf.max_message_bytes:
        raise exception.InvalidInput(
            reason='the work message of this task would be %d bytes, over '
                   '[DEFAULT] max_message_bytes (%d); select fewer nodes, '
                   'or raise the limit on every drydock host'
                   % (size, conf.max_message_bytes))


def check_deployment(conf, node_tasks):
    """A deployment's node tasks fit ``[graph] max_deployment_tasks``."""
    limit = conf.graph.max_deployment_tasks
    if node_tasks > limit:
        raise exception.InvalidInput(
            reason='this deployment has %d node tasks (nodes x graph '
                   'tasks), over [graph] max_deployment_tasks (%d); select '
                   'fewer nodes, or raise the limit on every drydock host'
                   % (node_tasks, limit))
