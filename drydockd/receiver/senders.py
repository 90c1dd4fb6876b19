"""Who may send which report: the receiver's check of the sender.

RabbitMQ refuses a publish whose AMQP ``user_id`` property is not the
connection's user, so on a broker ``user_id`` names the broker user that
sent a report, and no one can forge it. Executor reports (every
``*_resp`` but the agent's) are accepted only from
``[receiver] executor_identities``, ``node_agent_resp`` only from
``[receiver] agent_identities``; unset, either means the receiver's own
user (a one-user broker setup, and the embedded default, where every
in-process publisher is :data:`entities.LOCAL_IDENTITY`). A message with
any item its sender may not send is refused whole; the receiver
dead-letters it with the reason, and nothing of it is applied.
"""

from drydockd.common import exception
from drydockd.messaging import entities
from drydockd.messaging import schemas


class Senders:

    def __init__(self, conf):
        own = entities.identity(conf)
        self.executors = frozenset(conf.receiver.executor_identities
                                   or [own])
        self.agents = frozenset(conf.receiver.agent_identities or [own])

    def check(self, user_id, reports):
        """Refuse ``reports`` unless ``user_id`` may send each of them.

        :param user_id: the message's AMQP ``user_id`` (None if unset).
        :raises: MessageInvalid naming the sender and the method.
        """
        for report in reports:
            method = report['method']
            if method == schemas.NODE_AGENT_REPORT:
                allowed, role = self.agents, 'an agent identity'
            else:
                allowed, role = self.executors, 'an executor identity'
            if user_id not in allowed:
                raise exception.MessageInvalid(reason=(
                    '%s refused: sent by %s, not %s'
                    % (method, "broker user '%s'" % user_id[:100]
                       if user_id else 'no validated user (no user_id)',
                       role)))
