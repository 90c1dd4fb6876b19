"""Dry runs of node actions: what would be touched, recorded; nothing is.

A dry run ends in the manager. No work message is cast, so no executor,
BMC or node transport ever sees it; no node is reserved, changes status
or is even registered from the design. The task is recorded with
``dry_run`` true, one status message per node saying what the action
would do to it (through which BMC), and a result naming the nodes.

A dry-run deployment is planned like a real one instead (see
``deploy.start``): its graph and pending history are what it would
touch, and the executor marks every graph task skipped without starting
any, BMC power tasks included.
"""

from drydockd.common import actions

# Node names the result message lists before "and N more".
NAMES_SHOWN = 10
DEFAULT_IPMI_PORT = 623


def _bmc(node):
    oob = node.get('oob') or {}
    if oob.get('type') == 'redfish':
        return '%s (Redfish system %s)' % (oob.get('address') or '?',
                                           oob.get('system') or 'default')
    return '%s:%s' % (oob.get('address') or '?',
                      oob.get('port') or DEFAULT_IPMI_PORT)


def effect(action, node, power=None):
    """What ``action`` would do to one design ``node``, in words."""
    wording = actions.NODE_ACTIONS[action].effect_for(node)
    return 'Dry run: would ' + wording % {
        'node': node['name'], 'bmc': _bmc(node),
        'power': actions.POWER_EFFECTS.get(power, power)}


def summary(action, nodes):
    names = [n['name'] for n in nodes]
    listed = ', '.join(names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        listed += ' and %d more' % (len(names) - NAMES_SHOWN)
    return ('Dry run of %s: would touch %d node%s (%s); no BMC or node was '
            'contacted and no node reserved'
            % (action, len(names), '' if len(names) == 1 else 's', listed))


def record(db, action, design_ref, node_filter_doc, nodes, created_by,
           power=None):
    """Record and end the dry-run task; returns it with its messages."""
    task = db.start_task({'action': action, 'design_ref': design_ref,
                          'node_filter': node_filter_doc, 'dry_run': True,
                          'created_by': created_by}, [])
    db.add_result_messages(task['id'], [
        {'message': effect(action, n, power), 'context_type': 'node',
         'context': n['name']} for n in nodes])
    db.finish_task(task['id'], 'success', summary(action, nodes))
    return db.get_task(task['id'], with_messages=True)
