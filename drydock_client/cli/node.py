"""``drydock2 node list|show|power``."""

import time

from cliff import lister
from cliff import show

from drydock_client.cli.errors import CommandError

# power_read_at and power_drift come from the power-state sync; a server
# older than it shows them empty.
LIST_COLUMNS = ('id', 'name', 'status', 'power_state', 'progress', 'rack',
                'roles', 'reservation', 'power_read_at', 'power_drift')
POWER_ACTIONS = ('on', 'off', 'cycle', 'status')


def _settle(client, task_id, interval=0.2):
    """Quietly wait for a short power task to end."""
    while True:
        task = client.get_task(task_id)
        if task['status'] in ('complete', 'terminated'):
            return task
        time.sleep(interval)


class ListNodes(lister.Lister):
    """List nodes (BMC credentials are never shown)."""

    def take_action(self, parsed):
        nodes = self.app.client_manager.drydock.list_nodes()
        return LIST_COLUMNS, [[n.get(c) for c in LIST_COLUMNS]
                              for n in nodes]


class ShowNode(show.ShowOne):
    """Show one node by id or name."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node', help='node id or name')
        return parser

    def take_action(self, parsed):
        node = self.app.client_manager.drydock.get_node(parsed.node)
        columns = sorted(node)
        return columns, [node[c] for c in columns]


class PowerNode(show.ShowOne):
    """Power a node on, off, cycle it, or read its power state."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node', help='node id or name')
        parser.add_argument('action', choices=POWER_ACTIONS)
        parser.add_argument('--dry-run', action='store_true',
                            help='say what would be done; send nothing to '
                                 'the BMC')
        return parser

    def take_action(self, parsed):
        client = self.app.client_manager.drydock
        task = client.set_node_power(parsed.node, parsed.action,
                                     dry_run=parsed.dry_run)
        task = _settle(client, task['id'])
        if parsed.dry_run:
            self.app.stderr.write(''.join(
                m['message'] + '\n'
                for m in task['result']['details']['messageList']
                if m['context_type'] == 'node'))
        if task['result']['status'] != 'success':
            messages = [m['message'] for m in
                        task['result']['details']['messageList']
                        if m['error']]
            raise CommandError(messages[0] if messages else
                               task['result']['message'])
        node = client.get_node(parsed.node)
        columns = ('id', 'name', 'power_state', 'task')
        return columns, (node['id'], node['name'], node['power_state'],
                         task['id'])
