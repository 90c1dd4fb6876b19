"""``drydock2 task history show``."""

from cliff import lister

from drydock_client.cli import args as cli_args

HISTORY_STATUSES = ('pending', 'running', 'ready', 'error', 'skipped')
COLUMNS = ('task_name', 'node_id', 'status', 'time_start', 'time_end')


def positive_int(text):
    if not text.isdigit():
        raise ValueError(text)
    return int(text)


class ShowHistory(lister.Lister):
    """Per-node, per-graph-task execution history of a task."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('id', type=positive_int, help='task id')
        parser.add_argument('--nodes', action=cli_args.ListAction,
                            help='node ids (comma or space separated); '
                                 'master, null for the sync node')
        parser.add_argument('--statuses', action=cli_args.ListAction,
                            valid=HISTORY_STATUSES)
        parser.add_argument('--tasks-names', action=cli_args.ListAction,
                            help='graph task names')
        parser.add_argument('--include-summary', action='store_true')
        return parser

    def take_action(self, parsed):
        rows = self.app.client_manager.drydock.get_deployment_history(
            parsed.id, nodes=parsed.nodes, statuses=parsed.statuses,
            tasks_names=parsed.tasks_names,
            include_summary=parsed.include_summary)
        columns = COLUMNS + (('summary',) if parsed.include_summary else ())
        return columns, [[r[c] for c in columns] for r in rows]
