"""``task history show ID --timeline FILE.svg``: the per-node Gantt chart.

The SVG is parsed back: one row (a labelled band) per node, and one bar
per history row that has times, in its node's band, in its status colour.
"""

import json
import re
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

import conftest
from drydock_client.cli import timeline

NUMBER = re.compile(r'-?\d+(?:\.\d+)?')


def parse_svg(path):
    """({node: label y}, [(node, task, status, ymin, ymax, fill)])."""
    labels, bars = {}, []
    tree = ET.parse(path)
    # A hatched bar (a running row) is filled with a pattern: its colour
    # is the pattern's background.
    patterns = {e.get('id'): next(r.get('fill') for r in e
                                  if r.tag.endswith('rect'))
                for e in tree.iter() if e.tag.endswith('pattern')}
    for element in tree.iter():
        ident = element.get('id') or ''
        kind, _, rest = ident.partition('/')
        if kind == 'node':
            text = next(e for e in element.iter() if e.tag.endswith('text'))
            labels[urllib.parse.unquote(rest)] = float(text.get('y'))
        elif kind == 'bar':
            node, task, status = (urllib.parse.unquote(p)
                                  for p in rest.split('/'))
            path = next(e for e in element.iter() if e.tag.endswith('path'))
            ys = [float(v) for v in NUMBER.findall(path.get('d'))[1::2]]
            fill = re.search(r'fill: (#[0-9a-f]{6}|url\(#(\w+)\))',
                             path.get('style'))
            colour = patterns[fill.group(2)] if fill.group(2) else \
                fill.group(1)
            bars.append((node, task, status, min(ys), max(ys), colour))
    return labels, bars


def check_chart(path, rows):
    labels, bars = parse_svg(path)
    nodes = {r['node_id'] for r in rows if r['node_id'] != '-'}
    assert set(labels) == nodes                      # one row per node
    assert len(set(labels.values())) == len(labels)  # at distinct heights
    timed = sorted((r['node_id'], r['task_name'], r['status'])
                   for r in rows if r['time_start'])
    assert sorted(b[:3] for b in bars) == timed      # a bar per timed row
    for node, _task, status, ymin, ymax, fill in bars:
        inside = [n for n, y in labels.items() if ymin <= y <= ymax]
        assert inside == [node]                      # in its node's row
        assert fill == timeline.COLOURS[status]
    return labels, bars


@pytest.fixture
def aio(embedded_config, tmp_path, daemons):
    daemons('all-in-one', embedded_config, tmp_path / 'aio.log').wait_ready()
    return embedded_config


def test_timeline_of_a_demo_deployment(aio, tmp_path):
    created = conftest.drydock2(aio, 'task', 'create', 'deploy_nodes',
                                '--design-ref', conftest.DEMO_SITE, '--wait',
                                '--poll-interval', '0.2', '-f', 'json')
    assert created.returncode == 0, created.stderr
    task_id = str(json.loads(created.stdout)['id'])

    svg = tmp_path / 'timeline.svg'
    shown = conftest.drydock2(aio, 'task', 'history', 'show', task_id,
                              '--timeline', str(svg), '-f', 'json')
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    labels, bars = check_chart(svg, rows)
    assert set(labels) == {str(n) for n in range(1, 9)} | {'master', 'null'}
    assert len(bars) == len(rows) > 40
    assert shown.stderr == 'Timeline written to %s: 10 nodes, %d bars\n' % (
        svg, len(bars))

    two = tmp_path / 'two.svg'
    filtered = conftest.drydock2(aio, 'task', 'history', 'show', task_id,
                                 '--nodes', '5,6', '--timeline', str(two),
                                 '-f', 'json')
    labels, _ = check_chart(two, json.loads(filtered.stdout))
    assert set(labels) == {'5', '6'}

    bad = conftest.drydock2(aio, 'task', 'history', 'show', task_id,
                            '--timeline', str(tmp_path / 'no' / 'x.svg'))
    assert bad.returncode == 1
    assert bad.stderr == 'Cannot write %s: No such file or directory\n' % (
        tmp_path / 'no' / 'x.svg')
    assert len(bad.stderr.splitlines()) == 1


def test_rows_without_times_are_not_bars(tmp_path):
    t = '2026-11-22T10:00:%02d.000000Z'
    rows = [
        {'task_name': 'hiera', 'node_id': '5', 'status': 'ready',
         'time_start': t % 1, 'time_end': t % 3},
        {'task_name': 'netconfig', 'node_id': '5', 'status': 'running',
         'time_start': t % 3, 'time_end': None},
        {'task_name': 'hiera', 'node_id': '12', 'status': 'error',
         'time_start': t % 1, 'time_end': t % 2},
        {'task_name': 'netconfig', 'node_id': '12', 'status': 'skipped',
         'time_start': t % 2, 'time_end': t % 2},
        {'task_name': 'puppet', 'node_id': '12', 'status': 'pending',
         'time_start': None, 'time_end': None},
        {'task_name': 'stage', 'node_id': 'null', 'status': 'pending',
         'time_start': None, 'time_end': None},
        {'task_name': 'never', 'node_id': '-', 'status': 'skipped',
         'time_start': None, 'time_end': None},
    ]
    path = tmp_path / 'synthetic.svg'
    assert timeline.draw(rows, str(path), 'synthetic') == (3, 4)
    labels, bars = check_chart(path, rows)
    ordered = sorted(labels, key=labels.get)
    assert ordered == ['null', '5', '12']     # sync first, then by id
    text = path.read_text()
    assert '<pattern' in text                 # the running row is hatched
    assert 'sync (null)' in text and 'node 12' in text
