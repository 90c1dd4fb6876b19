"""What a master_shell task prints comes back over the API cut and marked.

The embedded default with the real ``ssh`` node transport: an allowed
master command prints 200,000 characters, the executor keeps a 100,000
character tail in the report, and the API returns at most
``[manager] max_output_chars`` of it, marked truncated.
"""

import json

import yaml

import conftest

COMMAND = "head -c 200000 /dev/zero | tr '\\0' x; echo done >&2; exit 3"


def test_a_long_output_is_cut_and_marked(tmp_path, daemons):
    design = yaml.safe_load(open(conftest.DEMO_SITE))
    design['deployment_tasks'] = [
        {'id': 'chatty', 'type': 'master_shell', 'roles': ['master'],
         'parameters': {'command': COMMAND}}]
    path = tmp_path / 'site.yaml'
    path.write_text(yaml.safe_dump(design))
    config = conftest.write_config(
        tmp_path / 'drydock.conf',
        DEFAULT={'state_path': tmp_path},
        executor={'report_interval': 0.05, 'node_transport': 'ssh'},
        receiver={'batch_window_ms': 20},
        ssh={'output_tail_bytes': 100000},
        manager={'max_output_chars': 1000},
        site={'allow_master_shell': 'true',
              'master_shell_commands': COMMAND})
    daemons('all-in-one', config, tmp_path / 'aio.log').wait_ready()
    created = conftest.drydock2(config, 'task', 'create', 'deploy_nodes',
                                '--design-ref', str(path), '--nodes',
                                'node05', '--wait', '-f', 'json')
    assert created.returncode == 1, created.stderr
    shown = conftest.drydock2(config, 'task', 'history', 'show', '1',
                              '--include-summary', '-f', 'json')
    assert shown.returncode == 0, shown.stderr
    (row,) = json.loads(shown.stdout)
    summary = row['summary']
    assert row['task_name'] == 'chatty' and row['status'] == 'error'
    assert summary['truncated'] is True
    assert summary['exit_code'] == 3
    assert summary['stdout_tail'].startswith('xxxx')
    assert summary['stdout_tail'].endswith(' [truncated]')
    assert len(json.dumps(summary)) < 1200
