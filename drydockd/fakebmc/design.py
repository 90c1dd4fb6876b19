"""Write the site design that describes a simulated fleet.

The manager reads this file, so the format is fixed (one node shown; the
``oob`` mapping is written on one line)::

    nodes:
      - id: 1
        name: node01
        roles: [compute]
        rack: rack1
        labels: {}
        tags: []
        oob: {type: ipmi, address: 127.0.0.1, port: 7001, account: admin,
              credential: <password>}
    deployment_tasks: []

Values are written as plain YAML scalars; generated passwords are ``pw``
plus hex digits, so they always read back as strings. The file holds
credentials and is created readable by its owner only.
"""

import os

from drydockd.fakebmc import fleet


def design_text(specs):
    """The design YAML for ``specs`` (ids: ``fleet.node_ids``)."""
    lines = ['nodes:']
    for node_id, spec in fleet.node_ids(specs):
        lines += [
            f'  - id: {node_id}',
            f'    name: {spec.name}',
            '    roles: [compute]',
            '    rack: rack1',
            '    labels: {}',
            '    tags: []',
            (f'    oob: {{type: ipmi, address: {spec.address}, '
             f'port: {spec.port}, account: {spec.username}, '
             f'credential: {spec.password}}}'),
        ]
    lines.append('deployment_tasks: []')
    return '\n'.join(lines) + '\n'


def write_design(path, specs):
    """Write :func:`design_text` to ``path`` with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as out:
        out.write(design_text(specs))
