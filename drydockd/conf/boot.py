"""[boot] options: the boot service (``drydockd boot``)."""

from oslo_config import cfg

GROUP = 'boot'

opts = [
    cfg.StrOpt('design_ref',
               help='Site design whose nodes the boot service answers: '
                    'its boot section gives the network, each node\'s '
                    'boot.mac its DHCP reservation. Unset: no DHCP, only '
                    'HTTP for nodes of running tasks.'),
    cfg.HostAddressOpt('http_host', default='0.0.0.0',
                       help='Address the HTTP service binds to.'),
    cfg.PortOpt('http_port', default=8080,
                help='Port of the HTTP service (iPXE scripts, boot files, '
                     'images, the agent endpoint).'),
    cfg.PortOpt('public_port',
                help='Port nodes are told to use, when nginx serves the '
                     'files in front of drydock (drydock-manage boot '
                     'nginx-config); default: http_port.'),
    cfg.IntOpt('http_threads', default=16, min=1,
               help='Requests served at once.'),
    cfg.StrOpt('files_dir', default='$state_path/ramdisk',
               help='The deploy kernel and initramfs (drydock-manage '
                    'ramdisk build writes them here).'),
    cfg.StrOpt('images_dir', default='$state_path/images',
               help='OS images, served as /images/NAME.'),
    cfg.StrOpt('kernel_append', default='console=ttyS0 quiet panic=-1',
               help='Kernel command line of the deploy ramdisk, before '
                    'drydock\'s own arguments.'),
    cfg.FloatOpt('refresh_interval', default=1.0, min=0.1,
                 help='Seconds between reads of which nodes have agent '
                      'work, and of the design.'),
    cfg.IntOpt('netboot_timeout', default=600, min=0,
               help='Seconds from a node\'s power cycle (for provision, '
                    'inspect or destroy) until it must have fetched its '
                    'iPXE script; past it the node fails at once, saying '
                    'whether its design MAC asked for an address and which '
                    'unknown MACs did, instead of waiting for [manager] '
                    'provision_timeout. Leave room for the slowest '
                    'firmware\'s power-on self test. 0: no such deadline.'),
    cfg.BoolOpt('dnsmasq', default=True,
                help='Run dnsmasq (DHCP, TFTP) as a supervised child.'),
    cfg.StrOpt('dnsmasq_path', default='dnsmasq',
               help='The dnsmasq program.'),
    cfg.StrOpt('interface',
               help='Interface dnsmasq answers on (default: all).'),
    cfg.StrOpt('tftp_root', default='/usr/lib/ipxe',
               help='Directory with undionly.kpxe and ipxe.efi (Debian '
                    'package ipxe), served over TFTP to chainload iPXE.'),
    cfg.StrOpt('run_dir', default='/run/drydock-boot',
               help='Where the generated dnsmasq files are written. '
                    'dnsmasq reads its hosts file after it drops root, '
                    'so this directory and its parents must be readable '
                    'by everyone (the files hold MACs and addresses, '
                    'no secret).'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
