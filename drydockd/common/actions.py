"""Every task action, in one table.

A node action creates one subtask per selected node and casts one work
message to an executor ``method``, which answers with ``reply`` reports.
Adding a node action is one entry in ``NODE_ACTIONS`` plus its executor
handler (``drydockd.executor.node_methods.HANDLERS``); the manager, the
work-plane protocol, the state rules and the receiver read this table.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class NodeAction:
    """:param name: the task action callers ask for.
    :param method: the executor method of the work message.
    :param reply: the report method the executor answers with.
    :param node_status: the status the nodes take when the task starts
        (None: left as they are).
    :param args: fixed arguments of the work message.
    :param awaits_agent: a node's part ends with its node agent's report,
        not the executor's.
    :param effect: what it does to one node, as a dry run reports it
        (``%(node)s`` and ``%(bmc)s`` are filled in).
    :param whole_site_asked: run over every node of the design only when
        the caller says so (``all_nodes``), never for a missing filter.
    :param steps: the node agent's steps, one history row per node each
        (``drydockd.boot.agent_api.STEPS``).
    :param agent_needs_boot_mac: only nodes with a ``boot.mac`` in the
        design are left to their agent (they can boot the deploy
        ramdisk); the others have the executor's part alone, described
        by ``effect_without_agent``.
    """

    name: str
    method: str
    reply: str
    node_status: str | None = None
    args: dict = dataclasses.field(default_factory=dict)
    awaits_agent: bool = False
    effect: str = ''
    whole_site_asked: bool = False
    steps: tuple = ()
    agent_needs_boot_mac: bool = False
    effect_without_agent: str = ''

    def uses_agent(self, node):
        """True if design ``node``'s part ends with its agent."""
        if not self.awaits_agent:
            return False
        return not self.agent_needs_boot_mac or bool(
            (node.get('boot') or {}).get('mac'))

    def effect_for(self, node):
        """The dry-run wording for design ``node``."""
        return self.effect if self.uses_agent(node) or \
            not self.effect_without_agent else self.effect_without_agent


_VIA = ' through its BMC at %(bmc)s'
NODE_ACTIONS = {a.name: a for a in (
    NodeAction('verify_nodes', 'verify_nodes', 'verify_nodes_resp',
               effect='read the power state of %(node)s' + _VIA),
    # Ready for provisioning: a known power state, off.
    NodeAction('prepare_nodes', 'power', 'power_resp', args={'power': 'off'},
               effect='power off %(node)s' + _VIA, whole_site_asked=True),
    NodeAction('provision_nodes', 'image_provision', 'provision_resp',
               node_status='provisioning', awaits_agent=True,
               effect='set PXE boot on %(node)s and power-cycle it' + _VIA
               + ', then wait for its agent to report provisioned',
               whole_site_asked=True,
               steps=('boot', 'inspect', 'write_image', 'reboot',
                      'first_boot')),
    NodeAction('inspect_nodes', 'inspect_nodes', 'inspect_resp',
               awaits_agent=True,
               effect='set PXE boot on %(node)s and power-cycle it' + _VIA
               + ', then wait for its agent\'s inventory',
               whole_site_asked=True, steps=('boot', 'inspect')),
    # A node that can boot the deploy ramdisk (a boot.mac) has its disks
    # wiped by the agent, which then powers it off; any other is powered
    # off through its BMC.
    NodeAction('destroy_nodes', 'remove_nodes', 'remove_nodes_resp',
               node_status='removing', awaits_agent=True,
               agent_needs_boot_mac=True,
               effect='set PXE boot on %(node)s and power-cycle it' + _VIA
               + ', then wait for its agent to wipe its disks and power it '
               'off',
               effect_without_agent='power off %(node)s' + _VIA
               + ' and return it to discover', whole_site_asked=True,
               steps=('boot', 'inspect', 'wipe')),
    NodeAction('power_nodes', 'power', 'power_resp',
               effect='%(power)s %(node)s' + _VIA),
)}

DEPLOY = 'deploy_nodes'
# Ended by the manager at once; no executor is involved.
DESIGN_ACTIONS = ('validate_design', 'prepare_site')
# Site-wide names for node actions over every node of the design.
SITE_ALIASES = {'verify_site': 'verify_nodes'}
# Actions that power nodes off or reboot them: the whole site only when
# asked for by name (create_task all_nodes=True), never by a filter left
# out.
WHOLE_SITE_ASKED = tuple(a.name for a in NODE_ACTIONS.values()
                         if a.whole_site_asked)
# What create_task accepts (power_nodes is reached through set_node_power).
SUPPORTED = (DESIGN_ACTIONS + tuple(SITE_ALIASES)
             + tuple(a for a in NODE_ACTIONS if a != 'power_nodes')
             + (DEPLOY,))
POWER_CHOICES = ('on', 'off', 'cycle', 'status')
# How a dry run of power_nodes words each choice (``%(power)s``).
POWER_EFFECTS = {'on': 'power on', 'off': 'power off',
                 'cycle': 'power-cycle', 'status': 'read the power state of'}

# Executor methods of node actions and the report each answers with.
NODE_METHODS = {a.method: a.reply for a in NODE_ACTIONS.values()}
# Actions whose nodes finish when their node agents report.
AGENT_ACTIONS = tuple(a.name for a in NODE_ACTIONS.values()
                      if a.awaits_agent)


def awaits_agent(method):
    """True if the executor ``method`` leaves nodes to their agents."""
    return any(a.awaits_agent for a in NODE_ACTIONS.values()
               if a.method == method)


def of_method(method):
    """The node action whose work messages call executor ``method``
    (the first, for ``power``, which no agent action shares)."""
    return next(a for a in NODE_ACTIONS.values() if a.method == method)
