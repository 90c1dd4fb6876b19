"""``task create --wait`` / ``task wait``: live progress, exit statuses and
the CLI's one-line errors, against ``drydockd all-in-one``.

The live bar is checked in a real pseudo-terminal (pexpect), the plain
lines through pipes, as operators and scripts see them.
"""

import json
import os
import re
import subprocess
import sys
import time

import pexpect
import pytest
import yaml

import conftest
from drydock_client.cli import progress

ANSI = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]')
FRAME = re.compile(r'task (\d+) (\w+) .*?(\d+)% (\d+)/(\d+) nodes done '
                   r'(\d+) failed')
PLAIN = re.compile(r'^task \d+: \w+ \d+%(, nodes \d+/\d+ done, \d+ failed)?'
                   r'(, result \w+|, running: .+)?$')


@pytest.fixture
def aio(embedded_config, tmp_path, daemons):
    daemons('all-in-one', embedded_config, tmp_path / 'aio.log').wait_ready()
    return embedded_config


def _site(tmp_path, name, duration, **extra):
    """The demo site with every task taking ``duration`` seconds; extra
    maps a graph task id to parameters to add (e.g. fail_on)."""
    design = yaml.safe_load(open(conftest.DEMO_SITE))
    for task in design['deployment_tasks']:
        if 'parameters' in task:
            task['parameters']['duration'] = duration
            task['parameters'].update(extra.get(task['id'], {}))
    path = tmp_path / name
    path.write_text(yaml.safe_dump(design))
    return str(path)


def _env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('DRYDOCK_')}
    env.update(TERM='xterm-256color', COLUMNS='200')
    return env


def _frames(raw):
    """The distinct screens a live display drew, escape codes removed."""
    text = ANSI.sub('', raw)
    seen = []
    for part in re.split(r'[\r\n]+', text):
        part = part.strip()
        if part and part not in seen:
            seen.append(part)
    return seen


def test_create_wait_draws_a_live_bar_to_completion(aio, tmp_path):
    site = _site(tmp_path, 'slow.yaml', 0.3)
    child = pexpect.spawn(
        os.path.join(conftest.BIN, 'drydock2'),
        ['--config-file', aio, 'task', 'create', 'deploy_nodes',
         '--design-ref', site, '--wait', '--poll-interval', '0.1',
         '-f', 'json'],
        env=_env(), encoding='utf-8', timeout=60, dimensions=(40, 200))
    child.expect(pexpect.EOF)
    child.close()
    raw = child.before
    assert child.exitstatus == 0, raw[-2000:]
    assert '\x1b[' in raw and '\u2501' in raw  # cursor moves, bar drawn

    progress = [FRAME.search(f) for f in _frames(raw)]
    progress = [m.groups() for m in progress if m]
    percents = [int(p[2]) for p in progress]
    assert len(set(percents)) >= 3, percents          # it advanced ...
    assert percents == sorted(percents), percents     # ... never back
    assert progress[0][1] in ('requested', 'queued', 'running')
    task_id, status, percent, done, nodes, failed = progress[-1]
    assert (status, percent, done, nodes, failed) == (
        'complete', '100', '8', '8', '0')
    assert any(int(p[3]) < 8 for p in progress)
    document = json.loads(raw[raw.index('{'):].replace('\r\n', '\n'))
    assert document['id'] == int(task_id)
    assert document['result']['status'] == 'success'

    # The same task waited for again, through a pipe: plain lines only.
    again = conftest.drydock2(aio, 'task', 'wait', task_id, '-f', 'value',
                              '-c', 'status')
    assert again.returncode == 0, again.stderr
    assert again.stdout == 'complete\n'
    assert again.stderr == ('task %s: complete 100%%, nodes 8/8 done, '
                            '0 failed, result success\n' % task_id)


def test_failure_exit_status_plain_lines_and_errors(aio, tmp_path):
    site = _site(tmp_path, 'failing.yaml', 0.1,
                 netconfig={'fail_on': [5]})
    failed = conftest.drydock2(aio, 'task', 'create', 'deploy_nodes',
                               '--design-ref', site, '--wait',
                               '--poll-interval', '0.1', '-f', 'json')
    assert failed.returncode == 1, failed.stderr
    doc = json.loads(failed.stdout)
    assert doc['result']['status'] in ('failure', 'partial_success')
    lines = failed.stderr.splitlines()
    assert '\x1b' not in failed.stderr
    assert all(PLAIN.match(line) for line in lines), lines
    assert lines[-1].startswith('task %d: complete 100%%' % doc['id'])
    assert re.search(r'nodes 8/8 done, [1-9] failed, result '
                     r'(failure|partial_success)$', lines[-1]), lines[-1]
    waited = conftest.drydock2(aio, 'task', 'wait', str(doc['id']))
    assert waited.returncode == 1

    created = conftest.drydock2(
        aio, 'task', 'create', 'deploy_nodes', '--design-ref',
        _site(tmp_path, 'slow.yaml', 2.0), '--nodes', '1,5', '-f', 'json')
    assert created.returncode == 0, created.stderr
    slow = json.loads(created.stdout)
    started = time.monotonic()
    timeout = conftest.drydock2(aio, 'task', 'wait', str(slow['id']),
                                '--max-wait', '0.5', '--poll-interval',
                                '0.1')
    assert time.monotonic() - started < 20
    assert timeout.returncode == 1
    last = timeout.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r'Task %d is still (queued|running) after 0.5s .*'
                        % slow['id'], last), timeout.stderr
    assert 'Traceback' not in timeout.stderr
    assert conftest.drydock2(aio, 'task', 'stop', str(slow['id']),
                             '--wait').returncode in (0, 1)

    unknown = conftest.drydock2(aio, 'task', 'wait', '4242')
    assert (unknown.returncode, unknown.stderr) == (
        1, 'Task 4242 not found\n')
    debug = conftest.drydock2(aio, '--debug', 'task', 'show', '4242')
    assert debug.returncode == 1
    assert 'Traceback' in debug.stderr and 'TaskNotFound' in debug.stderr


@pytest.mark.parametrize('args, code, message', [
    (('task', 'wait'), 2, 'drydock2 task wait: error: the following '
     'arguments are required: id'),
    (('task', 'wait', '1', '--max-wait', '-3'), 2, 'argument --max-wait'),
    (('task', 'list', '--status', 'bogus'), 2, 'invalid --status bogus'),
    (('task', 'history', 'show', 'x'), 2,
         "argument id: 'x' is not a positive integer"),
    (('--timeout', 'soon', 'task', 'list'), 2, 'drydock2: error: argument '
     '--timeout'),
    (('task', 'explode'), 2, "'task explode' is not a drydock2 command"),
])
def test_bad_arguments_are_one_line(tmp_path, args, code, message):
    config = conftest.write_config(tmp_path / 'c.conf',
                                   DEFAULT={'state_path': tmp_path})
    result = conftest.drydock2(config, *args)
    assert result.returncode == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ''


def test_no_broker_is_one_line_quickly(tmp_path):
    config = conftest.write_config(tmp_path / 'c.conf',
                                   DEFAULT={'state_path': tmp_path})
    started = time.monotonic()
    result = conftest.drydock2(
        config, '--os-transport-url', 'rabbit://guest:guest@127.0.0.1:1//',
        'task', 'list', timeout=30)
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    assert result.stderr == ('Cannot reach the message broker at '
                             '127.0.0.1:1 ([Errno 111] Connection refused)\n')
    debug = conftest.drydock2(
        config, '--debug', '--os-transport-url',
        'rabbit://guest:guest@127.0.0.1:1//', 'task', 'list', timeout=30)
    assert debug.returncode == 1
    assert 'Traceback' in debug.stderr
    assert 'ConnectionRefusedError' in debug.stderr or \
        'OperationalError' in debug.stderr
    for url, message in (
            ('bogus', 'Bad transport URL bogus: No scheme specified\n'),
            ('amqp://u:pw@127.0.0.1:1/', 'Bad transport URL amqp://u:****@'
             '127.0.0.1:1/: Failed to load transport driver "amqp"')):
        bad = conftest.drydock2(config, '--os-transport-url', url, 'task',
                                'list', timeout=30)
        assert bad.returncode == 1
        assert bad.stderr.startswith(message) and 'pw' not in bad.stderr
        assert len(bad.stderr.splitlines()) == 1


def test_no_manager_times_out_in_one_line(tmp_path, rabbit_vhost):
    config = conftest.write_config(tmp_path / 'c.conf',
                                   DEFAULT={'state_path': tmp_path})
    url = conftest.RABBIT_URL % rabbit_vhost
    denied = conftest.drydock2(
        config, '--os-transport-url', url.replace('guest:guest',
                                                  'guest:wrong'),
        'task', 'list', timeout=30)
    assert denied.returncode == 1
    assert denied.stderr.startswith('Cannot reach the message broker at '
                                    '127.0.0.1:5672 (')
    assert 'ACCESS_REFUSED' in denied.stderr
    assert len(denied.stderr.splitlines()) == 1

    result = conftest.drydock2(config, '--os-transport-url', url,
                               '--timeout', '1', 'task', 'show', '1',
                               timeout=30)
    assert result.returncode == 1
    assert result.stderr == ('No answer from the drydock manager within 1s '
                             '(is it running, and is the transport URL '
                             'right?)\n')


def test_help_imports_no_rpc_stack():
    """``--help`` and ``help CMD`` stay fast: no oslo.messaging, drydockd,
    rich or matplotlib import (each costs 0.1-0.4 s)."""
    code = ('import sys\n'
            'from drydock_client.cli import shell\n'
            'for argv in (["--help"], ["help", "task", "history", "show"]):\n'
            '    try:\n'
            '        shell.main(argv)\n'
            '    except SystemExit:\n'
            '        pass\n'
            'heavy = sorted(m for m in sys.modules if m.split(".")[0] in (\n'
            '    "oslo_messaging", "drydockd", "rich", "matplotlib"))\n'
            'print(heavy)\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == '[]'
    assert 'task wait' in result.stdout and '--timeline' in result.stdout


def test_snapshot_counts_target_nodes_only():
    def row(node, name, status):
        return {'node_id': node, 'task_name': name, 'status': status}
    doc = {'id': 3, 'status': 'running', 'progress': 40,
           'result': {'status': 'incomplete'}}
    snap = progress.snapshot(doc, [
        row('1', 'hiera', 'ready'), row('1', 'netconfig', 'ready'),
        row('2', 'hiera', 'error'), row('2', 'netconfig', 'skipped'),
        row('3', 'hiera', 'ready'), row('3', 'netconfig', 'running'),
        row('4', 'hiera', 'error'), row('4', 'netconfig', 'pending'),
        row('5', 'hiera', 'running'),
        row('master', 'upload_repos', 'running'),
        row('null', 'stage', 'pending'), row('-', 'never', 'skipped')])
    assert (snap.nodes, snap.done, snap.failed) == (5, 2, 2)
    assert snap.current == ('hiera', 'netconfig', 'upload_repos')
    assert progress.plain_line(snap) == (
        'task 3: running 40%, nodes 2/5 done, 2 failed, running: hiera, '
        'netconfig, upload_repos')
    final = progress.snapshot(dict(doc, status='complete', progress=100,
                                   result={'status': 'success'}), [])
    assert progress.plain_line(final) == 'task 3: complete 100%, result ' \
        'success'
