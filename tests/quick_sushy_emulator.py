"""``sushy-emulator`` whose fake systems finish a power change sooner.

sushy-tools' fake driver applies each reset 1-11 s after the request, at
random, as slow hardware may. drydock's waiting for the change is tested
as well by 1 to MOST seconds, and the Redfish tests spend a fraction of
the time waiting.

Usage: ``python quick_sushy_emulator.py MOST ARGS...``, where ARGS are
``sushy-emulator``'s own.
"""

import random
import sys

from sushy_tools.emulator import main
from sushy_tools.emulator.resources.systems import fakedriver


class _Sooner(random.Random):
    """``random`` for the fake driver: delays of at most ``most`` s."""

    def __init__(self, most):
        super().__init__()
        self.most = most

    def randint(self, a, b):
        return super().randint(a, max(a, min(b, self.most)))


if __name__ == '__main__':
    fakedriver.random = _Sooner(int(sys.argv[1]))
    sys.argv[0:2] = ['sushy-emulator']
    sys.exit(main.main())
