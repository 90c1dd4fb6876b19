"""``drydock2 task history show``."""

from cliff import lister

from drydock_client.cli import args as cli_args
from drydock_client.cli.errors import CommandError

HISTORY_STATUSES = ('pending', 'running', 'ready', 'error', 'skipped')
COLUMNS = ('task_name', 'node_id', 'status', 'time_start', 'time_end')


class ShowHistory(lister.Lister):
    """Per-node, per-graph-task execution history of a task."""

    def get_parser(self, prog_name):
        parser = self.parser = super().get_parser(prog_name)
        parser.add_argument('id', type=cli_args.positive_int, nargs='?',
                            help='task id (before or after the options)')
        parser.add_argument('--nodes', action=cli_args.ListAction,
                            help='node ids (comma or space separated); '
                                 'master, null for the sync node')
        parser.add_argument('--statuses', action=cli_args.ListAction,
                            valid=HISTORY_STATUSES)
        parser.add_argument('--tasks-names', action=cli_args.ListAction,
                            help='graph task names')
        parser.add_argument('--include-summary', action='store_true')
        parser.add_argument(
            '--timeline', metavar='FILE.svg',
            help='also draw the rows shown as a per-node Gantt chart in '
                 'FILE.svg: one row per node, one bar per history row '
                 'that has times, coloured by status. Rows without times '
                 '(pending ones, and the surrogate skipped rows of node '
                 '"-") are not bars. Needs matplotlib (pip install '
                 '"drydock[timeline]")')
        return parser

    def take_action(self, parsed):
        if parsed.id is None:
            parsed.id = cli_args.trailing_id(parsed)
        if parsed.id is None:
            self.parser.error('the following arguments are required: id')
        rows = self.app.client_manager.drydock.get_deployment_history(
            parsed.id, nodes=parsed.nodes, statuses=parsed.statuses,
            tasks_names=parsed.tasks_names,
            include_summary=parsed.include_summary)
        if parsed.timeline:
            write_timeline(rows, parsed.timeline, parsed.id, self.app.stderr)
        columns = COLUMNS + (('summary',) if parsed.include_summary else ())
        return columns, [[r[c] for c in columns] for r in rows]


def write_timeline(rows, path, task_id, out):
    """Draw ``rows`` into ``path``; one line on ``out`` says what."""
    try:
        from drydock_client.cli import timeline
        nodes, bars = timeline.draw(
            rows, path, 'drydock task %s: deployment timeline' % task_id)
    except ImportError as exc:
        raise CommandError('--timeline needs matplotlib (pip install '
                           '"drydock[timeline]"): %s' % exc) from exc
    except OSError as exc:
        raise CommandError('Cannot write %s: %s' % (path, exc.strerror or
                                                     exc)) from exc
    out.write('Timeline written to %s: %d nodes, %d bars\n'
              % (path, nodes, bars))
