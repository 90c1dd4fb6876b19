"""Out-of-band (BMC) drivers behind one small interface (``base``).

The executor drives BMCs through them; ``drydock-fakebmc`` simulates BMCs
with the same pyghmi fixes (``pyghmi_compat``), so both live here, below
the services.
"""

from drydockd.oob import router

NAMESPACE = router.NAMESPACE


def load_driver(conf):
    """A :class:`router.Router`: each node to the driver its design names
    (or every node to the one ``[executor] oob_driver`` names)."""
    return router.Router(conf)
