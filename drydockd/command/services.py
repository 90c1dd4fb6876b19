"""Which services each ``drydockd`` process runs, and startup checks."""

from drydockd.api import rpc
from drydockd.common import launcher as launcher_mod
from drydockd.db import api as db_api
from drydockd.db import migration
from drydockd.messaging import entities


def _manager(conf, launcher):
    from drydockd.api import service as api_service
    launcher.add('api', api_service.APIService(conf, rpc.api_url(conf)))
    _leader(conf, launcher)


def _leader(conf, launcher):
    from drydockd.manager import leader
    from drydockd.messaging import publisher
    launcher.add('leader', leader.LeaderService(
        conf, publisher=publisher.Publisher(conf)))


def _executor(conf, launcher):
    from drydockd.executor import service as executor_service
    from drydockd.oob import pyghmi_compat
    pyghmi_compat.check_internals()     # before the first BMC is touched
    launcher.add('executor', executor_service.ExecutorService(conf))


def _receiver(conf, launcher):
    from drydockd.receiver import service as receiver_service
    launcher.add('receiver', receiver_service.ReceiverService(conf))


def _boot(conf, launcher):
    from drydockd.boot import service as boot_service
    launcher.add('boot', boot_service.BootService(conf))


def _build(parts, embedded=False):
    def build(conf):
        migration.ensure_current(conf.database.connection,
                                 db_api.get_instance(conf).engine,
                                 upgrade_sqlite=embedded)
        entities.check_work_queues(conf)
        launcher = launcher_mod.Launcher(
            max(conf.executor.drain_timeout, conf.receiver.drain_timeout))
        for part in parts:
            part(conf, launcher)
        return launcher
    return build


def _all_in_one(conf):
    # With an in-process API plane the CLI hosts the endpoints itself and
    # the all-in-one keeps the manager's background duties; with a real
    # transport_url it serves the API too.
    manager = _leader if rpc.is_embedded(rpc.api_url(conf)) else _manager
    parts = [manager, _executor, _receiver]
    return _build(parts, embedded=True)(conf)


BUILDERS = {
    'manager': _build([_manager]),
    'executor': _build([_executor]),
    'receiver': _build([_receiver]),
    'boot': _build([_boot]),
    'all-in-one': _all_in_one,
}
