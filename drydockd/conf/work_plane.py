"""[work_plane] options: the work plane's exchanges and queue type, who
declares them, TLS.

One exchange per kind of traffic, so that RabbitMQ's per-user write and
read permissions can say what each role sends (docs/security.md):
manager -> executors (commands), executors -> receiver (executor
reports), node agents -> receiver (agent reports), and the dead-letter
exchange. The service fanout (stop) is ``[executor] service_exchange``.
"""

from oslo_config import cfg

GROUP = 'work_plane'

opts = [
    cfg.StrOpt('command_exchange', default='drydock.commands',
               help='Direct exchange of work messages from the manager '
                    'to the executors\' queue ([executor] queue).'),
    cfg.StrOpt('executor_report_exchange', default='drydock.reports',
               help='Direct exchange of executors\' *_resp reports to the '
                    'receivers\' queue ([receiver] queue).'),
    cfg.StrOpt('agent_report_exchange', default='drydock.agent_reports',
               help='Direct exchange of node agents\' node_agent_resp '
                    'reports to the receivers\' queue.'),
    cfg.StrOpt('dead_letter_exchange', default='drydock.dead',
               help='Topic exchange of the <queue>.dead queues; the '
                    'routing key is the dead-letter queue\'s name.'),
    cfg.BoolOpt('declare_topology', default=True,
                help='Declare the exchanges and queues a process uses. '
                     'Set false when `drydock-manage broker setup` made '
                     'them and each role has least privilege (it may not '
                     'configure shared entities); executors still declare '
                     'their own service queue. Broker-less transports '
                     'always declare (their bindings live in memory).'),
    cfg.BoolOpt('quorum_queues', default=True,
                help='Declare the work queues and their dead-letter queues '
                     'as RabbitMQ quorum queues: replicated across a '
                     'cluster\'s nodes, always durable. A queue that '
                     'already exists as a classic queue must be moved '
                     '(docs/operations.md, "Quorum queues"). Ignored on '
                     'broker-less transports.'),
    cfg.IntOpt('delivery_limit', default=10, min=1,
               help='On quorum queues: deliveries of one message (a '
                    'consumer died holding it, or gave it back) before '
                    'the broker sets it aside in <queue>.dead.'),
    cfg.BoolOpt('ssl', default=False,
                help='Connect to the work-plane broker over TLS (use the '
                     'broker\'s TLS port in work_transport_url). The '
                     'server certificate is verified against ssl_ca_file '
                     'and the URL\'s host name.'),
    cfg.StrOpt('ssl_ca_file',
               help='CA certificates (PEM) that sign the broker\'s '
                    'certificate. Unset: the system\'s CAs.'),
    cfg.StrOpt('ssl_cert_file',
               help='Client certificate (PEM), when the broker asks '
                    'for one.'),
    cfg.StrOpt('ssl_key_file', help='Private key of ssl_cert_file.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
