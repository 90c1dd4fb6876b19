"""An OOB method's own loop costs the same per node at any fleet size.

The run waits for thousands of BMC calls; what it spends per finished
call must not grow with the calls still pending (``futures.wait()`` over
the pending set did: verify_nodes of 5,000 BMCs cost the executor most
of its 47 s of CPU). Measured as the CPU time of the thread running the
method, which other load on the machine does not change much.
"""

import gc
import threading
import time

import yaml
from oslo_config import cfg

from drydockd.conf import opts
from drydockd.executor import node_methods
from drydockd.executor import reporting
from drydockd.oob import fake

LATENCY = 0.001     # seconds per BMC call: completions trickle in


class _SlowBmcs(fake.FakeDriver):
    max_concurrency = 4

    def get_power_state(self, node):
        time.sleep(LATENCY)
        return super().get_power_state(node)


def _verify(tmp_path, count):
    design = tmp_path / ('site-%d.yaml' % count)
    design.write_text(yaml.safe_dump({'nodes': [
        {'id': i, 'name': 'n%d' % i, 'oob': {
            'type': 'ipmi', 'address': '127.0.0.1', 'port': 623,
            'account': 'admin', 'credential': 'pw'}}
        for i in range(1, count + 1)]}))
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    conf.set_override('design_file_roots', [str(tmp_path)], 'site')
    methods = node_methods.NodeMethods(conf)
    methods._driver = _SlowBmcs()
    entries = []
    reporter = reporting.Reporter(
        lambda body: entries.extend(body['args'].get('nodes', ())),
        'u' * 36, 'verify_resp', interval=0.05)
    reporter.running()
    item = {'method': 'verify_nodes', 'args': {
        'design_ref': 'file://%s' % design, 'nodes': [
            {'uid': str(i), 'name': 'n%d' % i, 'subtask_uuid': 's%d' % i}
            for i in range(1, count + 1)]}}
    # The collector's walks of whatever other tests left on the heap are
    # not the method's cost.
    gc.collect()
    gc.disable()
    try:
        cpu = time.thread_time()
        methods.run(item, reporter)
        cpu = time.thread_time() - cpu
    finally:
        gc.enable()
    assert sum(1 for e in entries if e.get('result') == 'success') == count
    return cpu


def test_cpu_per_node_does_not_grow_with_the_fleet(tmp_path):
    assert threading.current_thread() is threading.main_thread()
    small = _verify(tmp_path, 500)
    large = _verify(tmp_path, 6000)
    # 12x the nodes: linear is 12x the CPU (about 7x measured); the
    # wait over the pending set cost about 32x.
    assert large < 20 * max(small, 0.01), (small, large)
