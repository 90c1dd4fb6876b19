"""A site that mixes IPMI and Redfish BMCs, for functional tests.

drydock-fakebmc serves the IPMI nodes and plays their agents; sushy-tools'
emulator serves the Redfish systems over HTTPS with a certificate made
here, and :class:`redfish_fixtures.NotifiedAgent` plays theirs. drydockd
all-in-one drives both; tests talk to it through the CLI.
"""

import contextlib
import json

import pytest
import yaml

import conftest
import fakebmc_fixtures as fx
import redfish_fixtures as rf

IPMI_NODES = 2
REDFISH_NODES = 3
# A graph whose every task reaches a node or its BMC.
GRAPH = [
    {'id': 'prepare', 'type': 'shell', 'roles': ['*'],
     'parameters': {'command': 'prepare', 'duration': 0.1}},
    {'id': 'reboot_node', 'type': 'reboot', 'roles': ['*'],
     'requires': ['prepare']},
    {'id': 'power_down', 'type': 'power_off', 'roles': ['*'],
     'requires': ['reboot_node']},
    {'id': 'power_up', 'type': 'power_on', 'roles': ['*'],
     'requires': ['power_down']},
]


class MixedSite:
    """IPMI nodes 1..2 (node01, node02) and Redfish nodes 3.. (rf03..)
    in one design, and an all-in-one daemon over it."""

    def __init__(self, tmp_path, daemons, emulator_args=None, debug=False,
                 groups=None, silent=(), fleet_args=(), **redfish_opts):
        self.tmp = tmp_path
        redfish = {'command_timeout': 20, 'connect_timeout': 2,
                   'retries': 2, 'retry_backoff': 0.2,
                   'status_poll_interval': 0.2}
        redfish.update(redfish_opts)
        options = {
            'DEFAULT': {'state_path': tmp_path, 'debug': debug},
            'executor': {'report_interval': 0.05},
            'receiver': {'batch_window_ms': 20},
            'manager': {'provision_timeout': 150, 'lease_interval': 0.3},
            'ipmi': {'command_timeout': 3, 'retries': 2,
                     'retry_backoff': 0.2},
            'redfish': redfish, 'oob': {'sync_interval': 0}}
        for group, values in (groups or {}).items():
            options[group].update(values)
        self.config = conftest.write_config(tmp_path / 'drydock.conf',
                                            **options)
        # Whatever started is stopped again if a later part fails.
        self._started = contextlib.ExitStack()
        try:
            self._start(tmp_path, daemons, emulator_args, silent, fleet_args)
        except BaseException:
            self._started.close()
            raise

    def _start(self, tmp_path, daemons, emulator_args, silent, fleet_args):
        self.fleet = self._started.enter_context(fx.FleetProcess(
            tmp_path, IPMI_NODES, '--boot-seconds', '0.3', '--report-config',
            self.config, *fleet_args))
        self.tls = rf.make_tls(str(tmp_path))
        self.uids = {rf.UUID % i: i for i in range(
            IPMI_NODES + 1, IPMI_NODES + REDFISH_NODES + 1)}
        self.agent = rf.NotifiedAgent(self.config, self.uids, silent=silent)
        self._started.callback(self.agent.close)
        self.emulator = self._started.enter_context(rf.Emulator(
            tmp_path, REDFISH_NODES, tls=self.tls, notify_url=self.agent.url,
            first=IPMI_NODES + 1, **(emulator_args or {})))
        self.design = self.fleet.design
        for name, uuid in self.emulator.systems:
            self.add_node('rf' + name[4:], self.emulator.oob(uuid))
        self.design['deployment_tasks'] = GRAPH
        self.write_design()
        self.daemon = daemons('all-in-one', self.config,
                              tmp_path / 'aio.log')
        self.daemon.wait_ready()

    def add_node(self, name, oob):
        node_id = len(self.design['nodes']) + 1
        self.design['nodes'].append({'id': node_id, 'name': name,
                                     'roles': ['compute'], 'oob': oob})
        self.write_design()
        return node_id

    def write_design(self):
        self.design_path = self.tmp / 'site.yaml'
        self.design_path.write_text(yaml.safe_dump(self.design))

    def json(self, *args):
        result = conftest.drydock2(self.config, *args, '-f', 'json')
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def run_task(self, action, *filters, timeout=300):
        task = self.json('task', 'create', action, '--design-ref',
                         str(self.design_path), *filters)
        return conftest.wait_task(self.config, task['id'], timeout)

    def node_messages(self, task):
        return {m['context']: m for m in
                task['result']['details']['messageList']
                if m['context_type'] == 'node'}

    def close(self):
        self._started.close()


@pytest.fixture
def make_site(tmp_path, daemons):
    sites = []

    def make(**kwargs):
        sites.append(MixedSite(tmp_path, daemons, **kwargs))
        return sites[-1]

    yield make
    for site in sites:
        site.close()


