"""[redfish] options: the sushy out-of-band driver.

The bounds mirror [ipmi]'s, one set per protocol, so a design that mixes
the two can give each its own limits.
"""

from oslo_config import cfg

from drydockd.conf import ipmi

GROUP = 'redfish'

opts = [
    cfg.FloatOpt('command_timeout', default=60.0, min=0.1,
                 help='Hard limit in seconds on one BMC operation, the '
                      'wait for a power change included (Redfish power '
                      'actions are asynchronous and often take seconds).'),
    cfg.FloatOpt('connect_timeout', default=5.0, min=0.1,
                 help='Seconds to wait for the TCP connection to a BMC; '
                      'a BMC that does not accept it within this did not '
                      'answer.'),
    *ipmi.bounds_opts('Most Redfish BMCs talked to at once by one '
                      'process.'),
    cfg.StrOpt('auth_type', default='auto',
               choices=[('basic', 'HTTP basic authentication on every '
                                  'request'),
                        ('session', 'a Redfish session, renewed when the '
                                    'BMC drops it'),
                        ('auto', 'a session where the BMC offers one, '
                                 'basic authentication otherwise')],
               help='How drydock authenticates to Redfish BMCs.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
