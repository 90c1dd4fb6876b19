"""Progress of a running task, for ``task wait`` and ``task create --wait``.

Everything shown is derived from two API calls per poll: the task
document (status, progress, result) and its deployment history rows:

- a node is *done* when every one of its rows is terminal (ready, error,
  skipped), and *failed* when one of its rows is ``error``;
- the *current* graph tasks are the names of the ``running`` rows.

Only deployment targets count as nodes: the master node (``master``), the
sync pseudo-node (``null``) and Fuel's surrogate rows (``-``) do not,
though tasks running on the first two are listed as current.

On a terminal the display is a live rich progress bar; otherwise (a pipe,
a file, ``TERM=dumb``) it is one plain line each time something changes,
so logs stay readable. Both are written to the stream given (the CLI uses
stderr, keeping stdout for the task document).
"""

import collections
import os

TERMINAL_ROWS = ('ready', 'error', 'skipped')
NOT_TARGETS = ('-', 'null', 'master')
MAX_CURRENT = 4

Snapshot = collections.namedtuple('Snapshot', (
    'task_id', 'status', 'progress', 'result', 'nodes', 'done', 'failed',
    'current', 'final'))


def snapshot(doc, rows, final_statuses=('complete', 'terminated')):
    """Summarise a task document and its history rows."""
    by_node = collections.defaultdict(list)
    running = collections.Counter()
    for row in rows:
        if row['status'] == 'running':
            running[row['task_name']] += 1
        if row['node_id'] not in NOT_TARGETS:
            by_node[row['node_id']].append(row['status'])
    done = sum(1 for statuses in by_node.values()
               if all(s in TERMINAL_ROWS for s in statuses))
    failed = sum(1 for statuses in by_node.values() if 'error' in statuses)
    current = tuple('%s (%d)' % (name, count) if count > 1 else name
                    for name, count in sorted(running.items()))
    return Snapshot(doc['id'], doc['status'], doc['progress'],
                    doc['result']['status'], len(by_node), done, failed,
                    current, doc['status'] in final_statuses)


def describe_current(current):
    if not current:
        return '-'
    shown = ', '.join(current[:MAX_CURRENT])
    if len(current) > MAX_CURRENT:
        shown += ', +%d more' % (len(current) - MAX_CURRENT)
    return shown


def plain_line(snap):
    """One line describing a snapshot (also the live display's summary)."""
    line = 'task %s: %s %s%%' % (snap.task_id, snap.status, snap.progress)
    if snap.nodes:
        line += ', nodes %d/%d done, %d failed' % (snap.done, snap.nodes,
                                                   snap.failed)
    if snap.final:
        line += ', result %s' % snap.result
    elif snap.current:
        line += ', running: %s' % describe_current(snap.current)
    return line


class PlainReporter:
    """A line per change, for pipes, files and dumb terminals."""

    def __init__(self, out):
        self.out = out
        self._last = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, snap):
        line = plain_line(snap)
        if line != self._last:
            self.out.write(line + '\n')
            self.out.flush()
            self._last = line

    def note(self, text):
        self.out.write(text + '\n')
        self.out.flush()


class LiveReporter:
    """A rich progress bar of the task's progress (0-100 %), then nodes
    done of all, nodes failed, elapsed time and the current graph tasks."""

    def __init__(self, console):
        from rich import progress

        self.console = console
        self.progress = progress.Progress(
            progress.TextColumn('task {task.fields[ident]} '
                                '[bold]{task.fields[status]}'),
            progress.BarColumn(),
            progress.TaskProgressColumn(),
            progress.TextColumn('{task.fields[nodes]}'),
            progress.TextColumn('{task.fields[failed]}'),
            progress.TimeElapsedColumn(),
            progress.TextColumn('{task.fields[current]}'),
            console=console, refresh_per_second=8)
        self._bar = None

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def update(self, snap):
        nodes = ('%d/%d nodes done' % (snap.done, snap.nodes)
                 if snap.nodes else '')
        failed = ('[red]%d failed' % snap.failed if snap.failed
                  else '0 failed') if snap.nodes else ''
        current = ('result: %s' % snap.result if snap.final
                   else describe_current(snap.current))
        fields = dict(ident=snap.task_id, status=snap.status, nodes=nodes,
                      failed=failed, current=current)
        if self._bar is None:
            self._bar = self.progress.add_task('', total=100,
                                               completed=snap.progress,
                                               **fields)
        else:
            self.progress.update(self._bar, completed=snap.progress,
                                 **fields)
        self.progress.refresh()

    def note(self, text):
        self.progress.console.print(text, markup=False, highlight=False)


def reporter(out, live=None):
    """The live reporter when ``out`` is a terminal, else plain lines.

    :param live: force one or the other (None: decide from ``out``).
    """
    if live is None:
        live = _is_terminal(out) and os.environ.get('TERM') != 'dumb'
    if not live:
        return PlainReporter(out)
    from rich.console import Console

    return LiveReporter(Console(file=out, force_terminal=True))


def _is_terminal(out):
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # no fileno, or closed
        return False
