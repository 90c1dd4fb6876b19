"""``drydock-manage``: database migrations and config checks.

    drydock-manage [--config-file F] db upgrade [REVISION]
    drydock-manage [--config-file F] db downgrade [REVISION]
    drydock-manage [--config-file F] db current
    drydock-manage [--config-file F] config check
    drydock-manage [--config-file F] dead-letters list|replay
                   [--queue receiver|executor] [--limit N]
    drydock-manage [--config-file F] ramdisk build [--dest DIR]
                   [--cache DIR] [--kernel-package NAME]
    drydock-manage [--config-file F] boot nginx-config --listen ADDR:PORT
                   [--whole]
    drydock-manage [--config-file F] broker setup [--work-vhost V]
                   [--api-vhost V] [--password-file ROLE=FILE] ...
    drydock-manage [--config-file F] broker check
"""

import argparse
import sys
import warnings

from drydockd.command import broker
from drydockd.conf import config

# oslo.messaging (the API plane, for `broker`; imported when used) imports
# eventlet, whose deprecation banner is no news to an operator.
warnings.filterwarnings('ignore', message=r'(?s).*Eventlet is deprecated')


def _parser():
    parser = argparse.ArgumentParser(prog='drydock-manage')
    parser.add_argument('--config-file', action='append', default=[])
    parser.add_argument('--debug', action='store_true')
    nouns = parser.add_subparsers(dest='noun', required=True)
    db = nouns.add_parser('db', help='database schema migrations')
    verbs = db.add_subparsers(dest='verb', required=True)
    up = verbs.add_parser('upgrade', help='upgrade to REVISION (head)')
    up.add_argument('revision', nargs='?', default='head')
    down = verbs.add_parser('downgrade', help='downgrade to REVISION (base)')
    down.add_argument('revision', nargs='?', default='base')
    verbs.add_parser('current', help='show current and head revisions')
    cfg = nouns.add_parser('config', help='configuration')
    cfg_verbs = cfg.add_subparsers(dest='verb', required=True)
    cfg_verbs.add_parser('check', help='parse the config and report')
    dead = nouns.add_parser('dead-letters',
                            help='messages set aside as unprocessable')
    dead_verbs = dead.add_subparsers(dest='verb', required=True)
    for verb, text in (('list', 'show them (nothing is removed)'),
                       ('replay', 'move them back to their work queue')):
        sub = dead_verbs.add_parser(verb, help=text)
        sub.add_argument('--queue', choices=('receiver', 'executor'),
                         default='receiver')
        sub.add_argument('--limit', type=int, default=100)
    ramdisk = nouns.add_parser('ramdisk', help='the deploy ramdisk')
    rd_verbs = ramdisk.add_subparsers(dest='verb', required=True)
    rd_build = rd_verbs.add_parser(
        'build', help='build kernel and initramfs from Debian packages')
    rd_build.add_argument('--dest', help='output directory '
                          '(default: STATE_PATH/ramdisk)')
    rd_build.add_argument('--cache', help='where downloaded packages are '
                          'kept (default: DEST/debs)')
    rd_build.add_argument('--kernel-package',
                          help='exact kernel package (default: the one '
                          'linux-image-cloud-amd64 depends on)')
    boot = nouns.add_parser('boot', help='the boot service')
    boot_verbs = boot.add_subparsers(dest='verb', required=True)
    nginx = boot_verbs.add_parser(
        'nginx-config', help='print an nginx server block that serves the '
        'boot files and images and passes the rest to drydock')
    nginx.add_argument('--listen', required=True, metavar='ADDR:PORT',
                       help='where nodes reach nginx (boot.server and '
                            '[boot] public_port)')
    nginx.add_argument('--whole', action='store_true',
                       help='a whole nginx.conf for an nginx of its own '
                            '(one worker per core), not a server block')
    broker.add_parser(nouns)
    return parser


def _conf(args):
    argv = []
    for path in args.config_file:
        argv += ['--config-file', path]
    return config.parse_args(argv)


def _db(args, conf):
    from drydockd.db import api as db_api
    from drydockd.db import migration
    url = conf.database.connection
    if args.verb == 'upgrade':
        migration.upgrade(url, args.revision)
    elif args.verb == 'downgrade':
        migration.downgrade(url, args.revision)
    current, head = migration.current(db_api.get_instance(conf).engine)
    print('current: %s\nhead: %s' % (current or 'base', head))
    return 0


def _config(args, conf):
    from drydockd.conf import opts
    for group, group_opts in opts.list_opts():
        node = conf if group == 'DEFAULT' else conf[group]
        for opt in group_opts:
            value = '****' if opt.secret else node[opt.dest]
            print('%s.%s = %s' % (group, opt.dest, value))
    return 0


def _dead_letters(args, conf):
    from drydockd.messaging import dead_letter
    queue = conf[args.queue].queue
    if args.verb == 'replay':
        count = dead_letter.replay(conf, queue, args.limit)
        print('replayed %d messages from %s.dead to %s' % (count, queue,
                                                          queue))
        return 0
    letters = dead_letter.browse(conf, queue, args.limit)
    for i, letter in enumerate(letters, 1):
        print('%d\t%s\t%d bytes\t%s\t%s' % (
            i, letter['reason'], letter['size'], letter['content_type'],
            letter['preview'].replace('\n', ' ')))
    print('%d dead letters in %s.dead' % (len(letters), queue))
    return 0


def _ramdisk(args, conf):
    from drydockd.boot import ramdisk
    dest = args.dest or ramdisk.default_dir(conf)
    manifest = ramdisk.build(dest, cache=args.cache,
                             kernel=args.kernel_package)
    for key in ('kernel', 'initrd', 'kernel_package', 'kernel_sha256',
                'initrd_sha256'):
        print('%s: %s' % (key, manifest[key]))
    return 0


def _boot(args, conf):
    from drydockd.boot import nginx
    host = conf.boot.http_host
    if host == '0.0.0.0':
        host = '127.0.0.1'
    write = nginx.whole_config_text if args.whole else nginx.config_text
    print(write(args.listen, '%s:%d' % (host, conf.boot.http_port),
                conf.boot.files_dir, conf.boot.images_dir), end='')
    return 0


def main(argv=None):
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        conf = _conf(args)
        return {'db': _db, 'config': _config,
                'dead-letters': _dead_letters,
                'ramdisk': _ramdisk, 'boot': _boot,
                'broker': broker.run}[args.noun](args, conf)
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        if args.debug:
            raise
        print('drydock-manage: %s: %s' % (type(exc).__name__,
                                          str(exc).splitlines()[0]),
              file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
