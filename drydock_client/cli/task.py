"""``drydock2 task create|list|show|delete|stop|wait``."""

import os
import time

from cliff import command
from cliff import lister
from cliff import show

from drydock_client.cli import args as cli_args
from drydock_client.cli.errors import CommandError

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
    for key in ('min_memory_mb', 'min_disk_bytes'):
        if getattr(parsed, key, None) is not None:
            flt[key] = getattr(parsed, key)
    if len(flt) == 1:
        return None
    return {'filter_set_type': 'intersection', 'filter_set': [flt]}


# Formatters that print nested data faithfully: they get the whole
# document. The others (table, value, shell) get a readable summary.
STRUCTURED = ('json', 'yaml')


def document_rows(doc, formatter='table'):
    """``(columns, values)`` of a task document for ``formatter``.

    ``-f json`` and ``-f yaml`` show the document as the API returns it.
    Tables show the result as ``result`` (its status), ``result_message``,
    ``error_count`` and ``messages``, one message per line, instead of
    one dict hundreds of characters wide, and the number of ``subtasks``
    instead of their uuids.
    """
    if formatter not in STRUCTURED:
        doc = dict(doc)
        result = doc.pop('result')
        doc.update(result=result['status'],
                   result_message=result['message'],
                   result_reason=result['reason'],
                   error_count=result['details']['errorCount'],
                   messages='\n'.join(
                       message_line(m)
                       for m in result['details']['messageList']),
                   subtasks=len(doc.pop('subtask_id_list')))
    columns = sorted(doc)
    return columns, [doc[c] for c in columns]


def message_line(message):
    """``ERROR node06: BMC of node node06 refused the credentials``."""
    where = message['context'] if message['context_type'] != 'task' \
        else None
    return '%s%s%s' % ('ERROR ' if message['error'] else '',
                       '%s: ' % where if where else '', message['message'])


class ExitOnFailure:
    """Print the output, then exit 1 if ``take_action`` set ``failed``."""

    failed = False

    def run(self, parsed_args):
        result = super().run(parsed_args)
        return 1 if self.failed else result


class CreateTask(ExitOnFailure, show.ShowOne):
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
        parser.add_argument('--min-memory-mb', type=int, metavar='MB',
                            help='nodes whose inventory has at least this '
                                 'much memory')
        parser.add_argument('--min-disk-bytes', type=int, metavar='BYTES',
                            help='nodes whose inventory has a disk of at '
                                 'least this size')
        parser.add_argument('--all-nodes', action='store_true',
                            help='every node of the design; needed by '
                                 'prepare_nodes, provision_nodes and '
                                 'destroy_nodes when no node is named')
        parser.add_argument('--dry-run', action='store_true',
                            help='record what the task would touch and '
                                 'touch nothing (no BMC, node or lock); '
                                 'deploy_nodes prints the graph summary '
                                 'on stderr')
        parser.add_argument('--wait', action='store_true',
                            help='wait until the task ends, showing its '
                                 'progress on stderr; exit 1 unless it '
                                 'succeeded')
        add_wait_arguments(parser)
        return parser

    def take_action(self, parsed):
        client = self.app.client_manager.drydock
        doc = client.create_task(parsed.action, parsed.design_ref,
                                 node_filter=node_filter(parsed),
                                 dry_run=parsed.dry_run,
                                 all_nodes=parsed.all_nodes)
        self.failed = False
        if parsed.dry_run and doc.get('action') == 'deploy_nodes':
            self.app.stderr.write(graph_summary(
                doc['id'], client.get_deployment_history(doc['id'])))
        if parsed.wait and 'id' in doc:
            doc = wait(client, doc['id'], self.app.stderr,
                       interval=parsed.poll_interval,
                       max_wait=parsed.max_wait)
            self.failed = not succeeded(doc)
        return document_rows(doc, parsed.formatter)


def graph_summary(task_id, rows):
    """Lines naming, per node, the graph tasks a deployment would run."""
    by_node = {}
    for row in rows:
        if row['node_id'] != '-':
            by_node.setdefault(row['node_id'], []).append(row['task_name'])
    lines = ['Dry run of task %s: %d nodes, %d graph tasks; no node is '
             'touched.' % (task_id, len(by_node), sum(map(len,
                                                          by_node.values())))]
    for node in sorted(by_node, key=lambda n: (not n.isdigit(), len(n), n)):
        label = 'sync' if node == 'null' else node
        lines.append('  %s: %s' % (label, ', '.join(by_node[node])))
    return '\n'.join(lines) + '\n'


def add_wait_arguments(parser):
    parser.add_argument('--poll-interval', type=positive_float, default=1.0,
                        metavar='SECONDS',
                        help='seconds between polls while waiting '
                             '(default 1)')
    parser.add_argument('--max-wait', type=positive_float, default=None,
                        metavar='SECONDS',
                        help='give up waiting after SECONDS (exit 1; the '
                             'task goes on)')


def positive_float(text):
    value = float(text)
    if value <= 0:
        raise ValueError(text)
    return value


def succeeded(doc):
    """Exit status rule: only a ``success`` result is a success."""
    return doc['result']['status'] == 'success'


def wait(client, task_id, out, interval=1.0, max_wait=None, live=None):
    """Poll until the task ends, showing its progress on ``out``.

    A live progress bar when ``out`` is a terminal, one plain line per
    change otherwise (see ``progress``). Returns the final task document.

    :raises: CommandError after ``max_wait`` seconds (the task goes on).
    """
    from drydock_client.cli import progress
    deadline = None if max_wait is None else time.monotonic() + max_wait
    with progress.reporter(out, live) as shown:
        try:
            while True:
                doc = client.get_task(task_id)
                rows = client.get_deployment_history(doc['id'])
                shown.update(progress.snapshot(doc, rows, FINAL))
                if doc['status'] in FINAL:
                    return doc
                if deadline is not None and time.monotonic() >= deadline:
                    raise CommandError(
                        'Task %s is still %s after %gs (it goes on; '
                        '"drydock2 task wait %s" waits again)'
                        % (doc['id'], doc['status'], max_wait, doc['id']))
                time.sleep(interval)
        except KeyboardInterrupt:
            shown.note('Stopped waiting; task %s goes on ("drydock2 task '
                       'stop %s" stops it)' % (task_id, task_id))
            raise


class WaitTask(ExitOnFailure, show.ShowOne):
    """Wait for a task to end with live progress; exit 1 unless success.

    Failure, partial success and a terminated task all exit 1.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('id', help='task id or uuid')
        add_wait_arguments(parser)
        return parser

    def take_action(self, parsed):
        doc = wait(self.app.client_manager.drydock, parsed.id,
                   self.app.stderr, interval=parsed.poll_interval,
                   max_wait=parsed.max_wait)
        self.failed = not succeeded(doc)
        return document_rows(doc, parsed.formatter)


class ListTasks(lister.Lister):
    """List tasks, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--status', action=cli_args.ListAction,
                            valid=TASK_STATUSES, dest='statuses')
        parser.add_argument('--all', action='store_true',
                            help='include deleted tasks')
        parser.add_argument('--limit', type=cli_args.positive_int,
                            metavar='N', help='show at most N tasks')
        parser.add_argument('--marker', type=cli_args.positive_int,
                            metavar='ID',
                            help='start after task ID (the last id of the '
                                 'previous page): older tasks only')
        return parser

    def take_action(self, parsed):
        tasks = self.app.client_manager.drydock.list_tasks(
            statuses=parsed.statuses, include_deleted=parsed.all,
            limit=parsed.limit, marker=parsed.marker)
        return LIST_COLUMNS, [[t[c] for c in LIST_COLUMNS] for t in tasks]


class ShowTask(show.ShowOne):
    """Show a task document."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('id', help='task id or uuid')
        return parser

    def take_action(self, parsed):
        return document_rows(self.app.client_manager.drydock.get_task(
            parsed.id), parsed.formatter)


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
        return document_rows(doc, parsed.formatter)
