"""[site] options: what a design may make the master node read and run.

Designs come from callers (``design_ref``), so these options bound what a
caller can reach through one: which files and servers a reference may
name, and whether a design's graph may run commands on the master node.
docs/security.md explains the defaults.
"""

from oslo_config import cfg

from drydockd.common import paths

GROUP = 'site'

opts = [
    cfg.BoolOpt('allow_master_shell', default=False,
                help='Let deployment graphs run commands on the master '
                     'node (master_shell tasks, or shell tasks with role '
                     'master), as the daemon\'s user. Off: a design with '
                     'such a task is refused at validation, naming it, '
                     'and an executor refuses to run one. On: only the '
                     'commands listed in master_shell_commands run.'),
    cfg.MultiStrOpt('master_shell_commands', default=[],
                    help='A command a master-node task may run, exactly as '
                         'its parameters.command is written (one option '
                         'line per command). Used only with '
                         'allow_master_shell.'),
    cfg.ListOpt('design_file_roots', default=paths.default_design_roots(),
                sample_default=','.join(paths.SAMPLE_DESIGN_ROOTS),
                help='Directories a file:// design_ref may name a file '
                     'in (the file\'s real path, symbolic links '
                     'resolved, must be inside one). Default: '
                     '/etc/drydock, /srv/drydock, $state_path, and the '
                     'etc/drydock examples of a source checkout. Empty: '
                     'no file:// references.'),
    cfg.ListOpt('design_http_hosts', default=[],
                help='Servers an http(s):// design_ref may name: "host" '
                     '(the scheme\'s default port), "host:port", or '
                     '"[v6addr]:port". Empty (the default): no http(s) '
                     'references.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
