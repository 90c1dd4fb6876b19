"""``drydock2 task create|list|show|delete``."""

import os
import time

from cliff import command
from cliff import lister
from cliff import show

from drydock_client.cli import args as cli_args

TASK_STATUSES = ('requested', 'queued', 'running', 'terminating',
                 'complete', 'terminated')
FINAL = ('complete', 'terminated')
LIST_COLUMNS = ('id', 'task_id', 'action', 'status', 'result', 'progress',
                'created')


def design_ref(value):
    """A plain path becomes an absolute file:// reference."""
    if '://' in value:
        return value
    return 'file://' + os.path.abspath(value)


def node_filter(parsed):
    """One intersection filter from --nodes/--racks/--tags/--labels."""
    flt = {'filter_type': 'intersection'}
    for key, value in (('node_names', parsed.nodes),
                       ('rack_names', parsed.racks),
                       ('node_tags', parsed.tags)):
        if value:
            flt[key] = value
    if parsed.labels:
        flt['node_labels'] = dict(parsed.labels)
    if len(flt) == 1:
        return None
    return {'filter_set_type': 'intersection', 'filter_set': [flt]}


def document_rows(doc):
    columns = sorted(doc)
    return columns, [doc[c] for c in columns]


class CreateTask(show.ShowOne):
    """Create a task (e.g. deploy_nodes) over nodes of a site design."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('action', help='deploy_nodes, validate_design')
        parser.add_argument('--design-ref', required=True, type=design_ref,
                            help='file:///abs/path.yaml, http(s):// or a '
                                 'local path')
        parser.add_argument('--nodes', action=cli_args.ListAction,
                            help='node names or ids (comma or space '
                                 'separated)')
        parser.add_argument('--racks', action=cli_args.ListAction)
        parser.add_argument('--tags', action=cli_args.ListAction)
        parser.add_argument('--labels', type=cli_args.key_value, nargs='+',
                            metavar='KEY=VALUE')
        parser.add_argument('--dry-run', action='store_true')
        parser.add_argument('--wait', action='store_true',
                            help='wait until the task ends; exit 1 unless '
                                 'it succeeded')
        return parser

    def take_action(self, parsed):
        client = self.app.client_manager.drydock
        doc = client.create_task(parsed.action, parsed.design_ref,
                                 node_filter=node_filter(parsed),
                                 dry_run=parsed.dry_run)
        self.failed = False
        if parsed.wait and 'id' in doc:
            doc = wait(client, doc['id'], self.app.stderr)
            self.failed = doc['result']['status'] != 'success'
        return document_rows(doc)

    def run(self, parsed_args):
        """Print the task, then exit 1 if a waited-for task failed."""
        result = super().run(parsed_args)
        return 1 if getattr(self, 'failed', False) else result


def wait(client, task_id, out, interval=1.0):
    """Poll until the task ends, one progress line per change."""
    last = None
    while True:
        doc = client.get_task(task_id)
        line = 'task %s: %s %s%%' % (task_id, doc['status'], doc['progress'])
        if line != last:
            out.write(line + '\n')
            out.flush()
            last = line
        if doc['status'] in FINAL:
            return doc
        time.sleep(interval)


class ListTasks(lister.Lister):
    """List tasks, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--status', action=cli_args.ListAction,
                            valid=TASK_STATUSES, dest='statuses')
        parser.add_argument('--all', action='store_true',
                            help='include deleted tasks')
        return parser

    def take_action(self, parsed):
        tasks = self.app.client_manager.drydock.list_tasks(
            statuses=parsed.statuses, include_deleted=parsed.all)
        return LIST_COLUMNS, [[t[c] for c in LIST_COLUMNS] for t in tasks]


class ShowTask(show.ShowOne):
    """Show a task document."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('id', help='task id or uuid')
        return parser

    def take_action(self, parsed):
        return document_rows(self.app.client_manager.drydock.get_task(
            parsed.id))


class DeleteTask(command.Command):
    """Soft-delete a task: hidden from listings, history kept."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('id', help='task id or uuid')
        return parser

    def take_action(self, parsed):
        task = self.app.client_manager.drydock.delete_task(parsed.id)
        self.app.stdout.write('Task %s deleted\n' % task['id'])


class StopTask(show.ShowOne):
    """Stop a task: running graph tasks finish, nothing new starts."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('id', help='task id or uuid')
        parser.add_argument('--wait', action='store_true',
                            help='wait until the task has ended')
        return parser

    def take_action(self, parsed):
        client = self.app.client_manager.drydock
        doc = client.stop_task(parsed.id)
        if parsed.wait:
            doc = wait(client, doc['id'], self.app.stderr)
        return document_rows(doc)
