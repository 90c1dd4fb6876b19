"""Out-of-band (BMC) drivers behind one small interface (``base``).

The executor drives BMCs through them; ``drydock-fakebmc`` simulates BMCs
with the same pyghmi fixes (``pyghmi_compat``), so both live here, below
the services.
"""

from drydockd.common import plugins

NAMESPACE = 'drydock.oob_drivers'


def load_driver(conf):
    """The driver named in ``[executor] oob_driver``."""
    return plugins.load(NAMESPACE, conf.executor.oob_driver, conf)
