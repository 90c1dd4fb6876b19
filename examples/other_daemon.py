"""Another daemon asking drydock for a deployment, with plain oslo.messaging.

Nothing from drydock is imported: the API is topic ``drydock`` on the
``drydock`` exchange, version 1.0 methods with keyword arguments, and a
context dict whose ``user`` drydock records as ``created_by``.

    python examples/other_daemon.py TRANSPORT_URL DESIGN_REF [NODE ...]

It casts ``create_task`` (fire and forget), finds the new task with
``list_tasks``, then calls ``get_task`` until the task ends. It exits 0
when the deployment succeeded. See docs/integration.md.
"""

import sys
import time

import oslo_messaging as messaging
from oslo_config import cfg

CONTEXT = {'user': 'other-daemon'}
FINAL = ('complete', 'terminated')


def connect(url):
    # oslo.messaging registers some of its options on the global CONF only.
    cfg.CONF(args=[], project='other-daemon', default_config_files=[])
    transport = messaging.get_rpc_transport(cfg.CONF, url=url)
    target = messaging.Target(exchange='drydock', topic='drydock',
                              version='1.0')
    # Pin 1.0: every drydock manager of the 1.x series understands it.
    return messaging.get_rpc_client(transport, target, version_cap='1.0',
                                    timeout=30), transport


def wait_for_new_task(client, design_ref, newer_than, timeout=30):
    """The cast returns nothing: find our task among the newest ones."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in client.call(CONTEXT, 'list_tasks'):
            if task['id'] > newer_than and task['design_ref'] == design_ref:
                return task['id']
        time.sleep(0.2)
    raise SystemExit('drydock did not create the task within %ss' % timeout)


def main(url, design_ref, nodes):
    client, transport = connect(url)
    try:
        known = client.call(CONTEXT, 'list_tasks', include_deleted=True)
        newest = max([t['id'] for t in known], default=0)
        node_filter = None
        if nodes:
            node_filter = {'filter_set_type': 'union', 'filter_set': [
                {'filter_type': 'union', 'node_names': nodes}]}
        client.cast(CONTEXT, 'create_task', action='deploy_nodes',
                    design_ref=design_ref, node_filter=node_filter,
                    dry_run=False)
        print('cast create_task deploy_nodes %s' % design_ref)
        task_id = wait_for_new_task(client, design_ref, newest)
        while True:
            task = client.call(CONTEXT, 'get_task', task_id=task_id)
            print('task %s %s %s%%' % (task_id, task['status'],
                                       task['progress']))
            if task['status'] in FINAL:
                break
            time.sleep(0.5)
        result = task['result']['status']
        print('task %s %s: %s' % (task_id, task['status'], result))

        # Errors arrive as RemoteError naming drydock's exception class.
        try:
            client.call(CONTEXT, 'get_task', task_id=10 ** 9)
        except messaging.RemoteError as exc:
            print('unknown task: %s' % exc.exc_type)
        return 0 if result == 'success' else 1
    finally:
        transport.cleanup()


if __name__ == '__main__':
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
