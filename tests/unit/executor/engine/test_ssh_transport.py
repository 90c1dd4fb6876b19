"""The ssh node transport, against a fake ``ssh`` first on PATH.

The fake client parses options the way OpenSSH's getopt does, records
its argv and whether node facts leaked into its own environment, and runs
the remote command line with ``sh -c`` locally, as sshd hands it to the
user's shell. Host ``unreachable`` answers like a refused connection
(exit 255). No sshd is needed.
"""

import json
import os
import queue
import sys
import textwrap
import time

import pytest

from drydockd.executor.transports import ssh

FAKE_SSH = textwrap.dedent('''\
    #!{python}
    import json, os, sys
    args = sys.argv[1:]
    with_value = set('BbcDEeFIiJLlmOopQRSWw')
    options, i = [], 0
    while i < len(args):
        arg = args[i]
        if arg == '--':
            i += 1
            break
        if not arg.startswith('-'):
            break
        if arg[1] in with_value and len(arg) == 2:
            options.append([arg, args[i + 1]])
            i += 2
        else:
            options.append([arg, None])
            i += 1
    host, remote = args[i], ' '.join(args[i + 1:])
    with open(os.environ['FAKE_SSH_LOG'], 'a') as log:
        log.write(json.dumps({{'argv': sys.argv[1:], 'options': options,
                              'host': host, 'remote': remote,
                              'leaked': sorted(k for k in os.environ
                                               if k.startswith('DRYDOCK_'))
                              }}) + '\\n')
    if host == 'unreachable':
        sys.stderr.write('ssh: connect to host unreachable port 22: '
                         'Connection refused\\n')
        sys.exit(255)
    os.execv('/bin/sh', ['/bin/sh', '-c', remote])
''')


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    script = bindir / 'ssh'
    script.write_text(FAKE_SSH.format(python=sys.executable))
    script.chmod(0o755)
    log = tmp_path / 'ssh.log'
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))
    monkeypatch.setenv('FAKE_SSH_LOG', str(log))

    def calls():
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]
    return calls


def _task(command, name='node05', kind='shell', **node):
    return {'id': 'netconfig', 'type': kind,
            'parameters': {'command': command},
            'node': dict({'name': name, 'roles': ['compute', 'ceph'],
                          'rack': 'rack2'}, **node)}


def _run(transport, uid, task, timeout=10):
    answers = queue.Queue()
    transport.start(uid, task, timeout, lambda *a: answers.put(a))
    return answers.get(timeout=timeout + 10)


def test_command_runs_over_ssh_in_batch_mode_with_facts(fake_ssh):
    transport = ssh.SSHTransport(connect_timeout=7)
    ok, message, summary = _run(transport, '5', _task(
        'echo "$DRYDOCK_NODE_NAME $DRYDOCK_NODE_UID $DRYDOCK_NODE_ROLES '
        '$DRYDOCK_NODE_RACK $DRYDOCK_TASK $DRYDOCK_ATTEMPT"'))
    assert ok and message is None
    assert summary['stdout_tail'] == 'node05 5 compute,ceph rack2 ' \
        'netconfig 1\n'
    assert summary['exit_code'] == 0 and summary['stderr_tail'] == ''
    (call,) = fake_ssh()
    options = [o for o, _ in call['options']]
    values = dict((o, v) for o, v in call['options'] if o != '-o')
    settings = [v for o, v in call['options'] if o == '-o']
    assert 'BatchMode=yes' in settings
    assert 'StrictHostKeyChecking=yes' in settings
    assert 'ConnectTimeout=7' in settings
    assert '-T' in options and '-l' not in values and '-p' not in values
    assert call['argv'][-3] == '--' and call['host'] == 'node05'
    # Facts travel in the remote command line, not the client's env (the
    # test runner's own DRYDOCK_* settings may pass through).
    assert [k for k in call['leaked'] if k not in os.environ] == []


def test_ssh_host_port_user_from_facts_and_config(fake_ssh, tmp_path):
    transport = ssh.SSHTransport(user='ops', identity_file='/k/id',
                                 known_hosts_file='/k/known_hosts')
    task = _task('true', ssh={'host': '127.0.0.1', 'port': 2222})
    assert _run(transport, '5', task)[0]
    call = fake_ssh()[0]
    values = [tuple(option) for option in call['options']]
    assert ('-p', '2222') in values and ('-l', 'ops') in values
    assert ('-i', '/k/id') in values
    assert ('-o', 'UserKnownHostsFile=/k/known_hosts') in values
    assert call['host'] == '127.0.0.1'
    task = _task('true', ssh={'host': '127.0.0.1', 'user': 'root'})
    assert _run(transport, '5', task)[0]
    assert ['-l', 'root'] in fake_ssh()[1]['options']


def test_hostile_facts_stay_literal(fake_ssh, tmp_path):
    marker = tmp_path / 'pwned'
    evil = "x'; touch %s; echo '$(touch %s)`touch %s`\"" % (
        marker, marker, marker)
    task = _task('printf %s "$DRYDOCK_NODE_NAME"; printf %s "$EXTRA"',
                 name='node05', rack=evil)
    task['parameters']['command'] = 'printf %s "$DRYDOCK_NODE_RACK|$EXTRA"'
    task['parameters']['environment'] = {'EXTRA': '$(touch %s)' % marker}
    ok, _, summary = _run(ssh.SSHTransport(), '5', task)
    assert ok, summary
    assert summary['stdout_tail'] == '%s|$(touch %s)' % (evil, marker)
    assert not marker.exists()


@pytest.mark.parametrize('node,reason', [
    ({'ssh': {'host': '-oProxyCommand=touch x'}}, 'bad ssh host'),
    ({'ssh': {'host': 'h', 'user': '-x'}}, 'bad ssh user'),
    ({'ssh': {'host': 'h', 'port': 70000}}, 'bad ssh port')])
def test_option_like_host_user_port_refused(fake_ssh, node, reason):
    ok, message, _ = _run(ssh.SSHTransport(), '5', _task('true', **node))
    assert not ok and reason in message
    assert fake_ssh() == []


def test_bad_environment_name_refused(fake_ssh):
    task = _task('true')
    task['parameters']['environment'] = {'BAD NAME': 'x'}
    ok, message, _ = _run(ssh.SSHTransport(), '5', task)
    assert not ok and "bad environment variable name 'BAD NAME'" in message


def test_failure_reports_status_and_stderr_tail(fake_ssh):
    ok, message, summary = _run(ssh.SSHTransport(), '5', _task(
        'echo partial; echo "disk full" >&2; exit 3'))
    assert not ok
    assert message == 'command exited with status 3: disk full'
    assert summary['exit_code'] == 3
    assert summary['stdout_tail'] == 'partial\n'
    assert summary['stderr_tail'] == 'disk full\n'


def test_unreachable_host_is_an_ssh_failure(fake_ssh):
    ok, message, summary = _run(ssh.SSHTransport(), '5',
                                _task('true', name='unreachable'))
    assert not ok and summary['exit_code'] == 255
    assert message.startswith('ssh failed (exit 255): ssh: connect to host')


def test_timeout_kills_the_process_group(fake_ssh, tmp_path):
    pid_file = tmp_path / 'pid'
    started = time.monotonic()
    ok, message, summary = _run(ssh.SSHTransport(), '5', _task(
        'echo $$ > %s; sleep 30' % pid_file), timeout=0.3)
    assert not ok and message == 'timed out after 0.3s'
    assert summary['timed_out'] is True
    assert time.monotonic() - started < 2.5
    # The remote shell, a grandchild in the same process group, is gone.
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid):
        assert time.monotonic() < deadline, 'process %d survived' % pid
        time.sleep(0.02)


def _alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(') ')[1][0] != 'Z'   # a zombie is dead
    except FileNotFoundError:
        return False


def test_output_tail_is_bounded(fake_ssh):
    transport = ssh.SSHTransport(output_tail_bytes=100)
    ok, _, summary = _run(transport, '5', _task(
        'head -c 200000 /dev/zero | tr "\\0" a; echo END'))
    assert ok
    assert len(summary['stdout_tail']) == 100
    assert summary['stdout_tail'].endswith('aEND\n')


def test_master_tasks_run_locally_with_facts_in_env(fake_ssh):
    task = _task('echo "$DRYDOCK_NODE_UID:$DRYDOCK_TASK"', kind='master_shell')
    ok, _, summary = _run(ssh.SSHTransport(), 'master', task)
    assert ok and summary['stdout_tail'] == 'master:netconfig\n'
    assert fake_ssh() == []


def test_missing_command_and_power_types(fake_ssh):
    task = _task(None)
    ok, message, _ = _run(ssh.SSHTransport(), '5', task)
    assert not ok and message == 'task netconfig has no parameters.command'
    task['type'] = 'power_on'
    ok, message, _ = _run(ssh.SSHTransport(), '5', task)
    assert not ok and 'needs the OOB (IPMI) layer' in message


def test_missing_ssh_binary(tmp_path):
    transport = ssh.SSHTransport(ssh_binary=str(tmp_path / 'nossh'))
    ok, message, _ = _run(transport, '5', _task('true'))
    assert not ok and message.startswith('could not run ')


def test_reboot_waits_for_a_new_boot_id(fake_ssh, tmp_path):
    boot_id = tmp_path / 'boot_id'
    boot_id.write_text('old\n')
    transport = ssh.SSHTransport(reboot_poll_interval=0.05)
    transport.boot_id_command = 'cat %s' % boot_id
    task = _task('(sleep 0.2; echo new > %s) &' % boot_id, kind='reboot')
    ok, message, summary = _run(transport, '5', task, timeout=5)
    assert ok, message
    assert summary == {'boot_id': 'new'}
    # Probe, reboot command, then probes until the id changed.
    assert len(fake_ssh()) >= 3


def test_reboot_that_never_comes_back_times_out(fake_ssh, tmp_path):
    boot_id = tmp_path / 'boot_id'
    boot_id.write_text('same\n')
    transport = ssh.SSHTransport(reboot_poll_interval=0.05)
    transport.boot_id_command = 'cat %s' % boot_id
    ok, message, _ = _run(transport, '5', _task('true', kind='reboot'),
                          timeout=0.4)
    assert not ok
    assert message == 'node 5 did not come back from reboot within 0.4s'


def test_remote_command_quotes_every_word():
    assert ssh.remote_command("echo 'hi'", {'B': 'x y', 'A': "it's"}) == (
        "env 'A=it'\"'\"'s' 'B=x y' /bin/sh -c 'echo '\"'\"'hi'\"'\"''")


def test_options_from_the_ssh_config_group():
    class Group:
        user = 'deployer'
        connect_timeout = 3
        port = None

    class Conf:
        ssh = Group()

    transport = ssh.SSHTransport(Conf())
    assert transport.settings['user'] == 'deployer'
    assert transport.settings['connect_timeout'] == 3
    assert transport.settings['ssh_binary'] == 'ssh'
    assert ssh.SSHTransport(object()).settings == ssh.DEFAULTS


def test_engine_runs_a_graph_over_ssh(fake_ssh):
    import graph_history
    command = 'echo hello from $DRYDOCK_NODE_NAME'
    graph = {'5': [{'id': 'hello', 'type': 'shell', 'fail_on_error': True,
                    'parameters': {'command': command}, 'requires': []}]}
    metadata = {'node_facts': {'5': {'name': 'node05', 'roles': ['x']}}}
    transport = ssh.SSHTransport()
    result = graph_history.Run(graph, metadata, transport=transport).run()
    assert result.status == 'ready'
    row = result.row(5, 'hello')
    assert row['status'] == 'ready'
    assert row['summary']['stdout_tail'] == 'hello from node05\n'
