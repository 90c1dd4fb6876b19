"""The ``--timeline`` chart of ``task history show``: a per-node Gantt chart.

One horizontal row per node (master and the sync node ``null`` first,
then the nodes in id order), one bar per history row that has a start
time, from ``time_start`` to ``time_end`` (a row still running ends at
the latest time in the history), coloured by status. Rows without times
(``pending`` ones, and Fuel's surrogate ``skipped`` rows on node ``-``)
have nothing to draw.

Drawn with matplotlib's SVG backend (no pyplot, no display). It is
imported only here, and this module only when ``--timeline`` is given.
Every bar carries an SVG id ``bar/NODE/TASK/STATUS`` and every row label
``node/NODE`` (URL-quoted parts), so the file can be checked or
post-processed by machine.
"""

import datetime
import urllib.parse

COLOURS = {
    'ready': '#2e7d32',
    'error': '#c62828',
    'skipped': '#9e9e9e',
    'running': '#1565c0',
    'pending': '#f9a825',
}
SURROGATE_NODE = '-'
MIN_BAR_FRACTION = 0.004
# Width of one label character as a fraction of the time axis (12 in
# figure, 7 pt font), to label only the bars the name fits in.
CHAR_FRACTION = 0.0062


def parse_time(value):
    return datetime.datetime.fromisoformat(value) if value else None


def node_order(node_id):
    """master first, the sync node next, then numeric ids, then others."""
    if node_id == 'master':
        return (0, 0, '')
    if node_id in ('null', None):
        return (1, 0, '')
    if str(node_id).isdigit():
        return (2, int(node_id), '')
    return (3, 0, str(node_id))


def node_label(node_id):
    if node_id in ('null', None):
        return 'sync (null)'
    return 'master' if node_id == 'master' else 'node %s' % node_id


def gid(*parts):
    return '/'.join(urllib.parse.quote(str(p), safe='') for p in parts)


def bars(rows):
    """(node_id, task_name, status, start, end) for every row with times.

    ``end`` is None for a row that has not ended.
    """
    out = []
    for row in rows:
        start = parse_time(row.get('time_start'))
        if start is None or row['node_id'] == SURROGATE_NODE:
            continue
        out.append((row['node_id'], row['task_name'], row['status'], start,
                    parse_time(row.get('time_end'))))
    return out


def draw(rows, path, title):
    """Write the chart of history ``rows`` (API dicts) to ``path`` (SVG).

    :returns: (number of node rows, number of bars).
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    nodes = sorted({r['node_id'] for r in rows
                    if r['node_id'] != SURROGATE_NODE}, key=node_order)
    drawn = bars(rows)
    times = [t for b in drawn for t in (b[3], b[4]) if t is not None]
    origin = min(times) if times else None
    span = max((t - origin).total_seconds() for t in times) if times else 1
    span = span or 1.0
    with matplotlib.rc_context({'svg.fonttype': 'none',
                                'svg.hashsalt': 'drydock-timeline'}):
        fig = Figure(figsize=(12, max(2.5, 1.2 + 0.32 * len(nodes))),
                     layout='constrained')
        ax = fig.add_subplot()
        index = {node: i for i, node in enumerate(nodes)}
        for node, name, status, start, end in drawn:
            _bar(ax, index[node], node, name, status, start, end, origin,
                 span)
        _axes(ax, nodes, origin, span, title)
        statuses = [s for s in COLOURS if s in {b[2] for b in drawn}]
        if statuses:
            ax.legend(handles=[Patch(color=COLOURS[s], label=s)
                               for s in statuses],
                      loc='upper left', bbox_to_anchor=(1.0, 1.0),
                      fontsize=8, title='status')
        fig.savefig(path, format='svg', metadata={'Date': None})
    return len(nodes), len(drawn)


def _bar(ax, y, node, name, status, start, end, origin, span):
    left = (start - origin).total_seconds()
    right = (end - origin).total_seconds() if end is not None else span
    width = max(right - left, span * MIN_BAR_FRACTION)
    colour = COLOURS.get(status, '#616161')
    patches = ax.barh(y, width, left=left, height=0.7, color=colour,
                      edgecolor='white', linewidth=0.5,
                      hatch='//' if end is None else None)
    patches[0].set_gid(gid('bar', node, name, status))
    if width >= span * CHAR_FRACTION * (len(name) + 2):
        ax.text(left + width / 2, y, name, ha='center', va='center',
                fontsize=7, color='white', clip_on=True)


def _axes(ax, nodes, origin, span, title):
    ax.set_yticks(range(len(nodes)))
    ax.set_yticklabels([node_label(n) for n in nodes])
    for label, node in zip(ax.get_yticklabels(), nodes):
        label.set_gid(gid('node', node))
    ax.set_ylim(len(nodes) - 0.5, -0.5)
    ax.set_xlim(0, span * 1.02)
    ax.grid(axis='x', linestyle=':', linewidth=0.5)
    ax.set_axisbelow(True)
    if origin is not None:
        ax.set_xlabel('seconds since %s UTC'
                      % origin.strftime('%Y-%m-%d %H:%M:%S'))
    else:
        ax.set_xlabel('no history row has a start time yet')
    ax.set_title(title)
