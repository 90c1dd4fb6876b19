"""``drydock-fakebmc``: serve N simulated BMCs on 127.0.0.1.

Example::

    drydock-fakebmc --count 50 --base-port 17001 --boot-seconds 2 \\
        --fault node03:wrongpass --fault node07:slow:1.5 \\
        --write-design /tmp/site.yaml --ready-file /tmp/fakebmc.ready

``--qemu FILE`` puts a QEMU machine behind each BMC instead of a
simulated node (``drydockd.fakebmc.qemu``): FILE lists the nodes, their
ports and machines, and replaces ``--count`` and ``--base-port``.

``--first-id N`` numbers the nodes from N (default 1) in the design, the
names and the agents' reports, so that several processes serve one site
(``--first-id 1001 --count 1000`` is node1001..node2000).

``--fault NODE:KIND[:ARG]`` (repeatable): NODE is a name (``node03``) or
a node id (``3``); KIND is one of ``wrongpass``, ``noanswer``, ``unbound``,
``slow`` (ARG: seconds every answer is late) or ``neverboots``.
``--answer-delay SECONDS`` delays every BMC's answers (default 0), to
stand in for a network and a real BMC. ``--power on`` starts every node
powered on (default off). ``--call-log FILE`` appends every packet each
BMC handles to FILE, one JSON object per line (``calllog``).

The ready file is written (atomically, as JSON) once every port is bound.
SIGTERM or SIGINT stops the fleet and exits 0. Nodes that finish a
network boot are logged as "Node NAME reported provisioned".
"""

import argparse
import json
import logging
import os
import signal
import sys
import time

from drydockd.fakebmc import agent
from drydockd.fakebmc import calllog
from drydockd.fakebmc import design
from drydockd.fakebmc import fleet
from drydockd.fakebmc import qemu

LOG = logging.getLogger(__name__)

# pyghmi waits with select(), which cannot watch descriptors >= 1024.
MAX_COUNT = 1000


def _parse_fault(text, last_id):
    parts = text.split(':')
    if len(parts) not in (2, 3):
        raise ValueError(f'{text!r}: expected NODE:KIND[:ARG]')
    node, kind = parts[0], parts[1]
    if node.isdigit():
        node = fleet.node_name(int(node), last_id)
    arg = float(parts[2]) if len(parts) == 3 else None
    if kind not in fleet.FAULTS:
        raise ValueError(f'{text!r}: unknown kind; known: '
                         f'{", ".join(fleet.FAULTS)}')
    return node, (kind, arg)


def _parser():
    parser = argparse.ArgumentParser(
        prog='drydock-fakebmc',
        description='Serve simulated IPMI BMCs on 127.0.0.1.')
    parser.add_argument('--count', type=int)
    parser.add_argument('--base-port', type=int)
    parser.add_argument('--first-id', type=int, default=1,
                        help='design id of the first node (default 1)')
    parser.add_argument('--qemu', metavar='FILE',
                        help='JSON list of QEMU machines, one per BMC '
                             '(replaces --count and --base-port)')
    parser.add_argument('--boot-seconds', type=float, default=5.0,
                        help='time from a network boot to "provisioned"')
    parser.add_argument('--fault', action='append', default=[],
                        metavar='NODE:KIND[:ARG]')
    parser.add_argument('--answer-delay', type=float, default=0.0,
                        metavar='SECONDS',
                        help='delay every answer of every BMC, as a '
                             'network and a real BMC would')
    parser.add_argument('--power', choices=('on', 'off'), default='off',
                        help='power state every node starts in')
    parser.add_argument('--call-log', metavar='FILE',
                        help='append every packet each BMC handles to '
                             'FILE as JSON lines')
    parser.add_argument('--username', default='admin')
    parser.add_argument('--password',
                        help='one password for every BMC (default: random)')
    parser.add_argument('--write-design', metavar='FILE')
    parser.add_argument('--ready-file', metavar='FILE')
    parser.add_argument('--log-level', default='INFO')
    parser.add_argument('--report-config', metavar='FILE',
                        help='drydock config whose work plane receives '
                             'the simulated agents\' "provisioned" reports '
                             '(default: only log them)')
    return parser


def _parse_args(argv):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.qemu:
        try:
            specs = qemu.load_specs(args.qemu)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            parser.error('--qemu %s: %s' % (args.qemu, exc))
        args.count, args.base_port = len(specs), specs[0].port
        return args, specs
    if args.count is None or args.base_port is None:
        parser.error('--count and --base-port are required without --qemu')
    if not 0 < args.count <= MAX_COUNT:
        parser.error(f'--count must be 1-{MAX_COUNT}')
    if not 0 < args.base_port <= 65536 - args.count:
        parser.error('--base-port: ports must fit below 65536')
    if args.first_id < 1:
        parser.error('--first-id must be 1 or more')
    last_id = args.first_id + args.count - 1
    try:
        args.faults = dict(_parse_fault(f, last_id) for f in args.fault)
        specs = fleet.make_specs(args.count, args.base_port,
                                 args.boot_seconds, args.faults,
                                 args.username, args.password,
                                 args.answer_delay, args.first_id)
    except ValueError as exc:
        parser.error(str(exc))
    for spec in specs:
        spec.power = args.power
    unknown = set(args.faults) - {spec.name for spec in specs}
    if unknown:
        parser.error(f'--fault: no such node: {", ".join(sorted(unknown))}')
    return args, specs


def _write_ready(path, args):
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as out:
        json.dump({'pid': os.getpid(), 'count': args.count,
                   'first_id': args.first_id,
                   'base_port': args.base_port}, out)
    os.replace(tmp, path)


def main(argv=None):
    args, specs = _parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format='%(asctime)s %(levelname)s %(name)s '
                               '%(message)s')
    if args.write_design:
        design.write_design(args.write_design, specs)
    # The handler only appends to a list: an Event.set() there can
    # deadlock with the main thread's own Event.wait() on the same lock.
    stop = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: stop.append(signum))
    reporter = None
    if args.report_config:
        reporter = agent.Agent(args.report_config, specs)
    calls = calllog.CallLog(args.call_log)
    with fleet.Fleet(specs, on_provisioned=reporter, calls=calls):
        if args.ready_file:
            _write_ready(args.ready_file, args)
        while not stop:
            time.sleep(0.2)
    calls.close()
    LOG.info('Stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
