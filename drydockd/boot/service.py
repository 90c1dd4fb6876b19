"""``drydockd boot``: DHCP/TFTP through dnsmasq, HTTP, the agent endpoint.

One loop, every ``[boot] refresh_interval``: read which nodes have agent
work (the database, read only), turn each into a Provisioning with its
MAC and image from the task's design, and rewrite dnsmasq's files from
``[boot] design_ref`` when that design changed. A node that has not
fetched its iPXE script ``[boot] netboot_timeout`` seconds after its
power cycle fails then, with what dnsmasq saw. The HTTP service runs on
waitress beside it. Agent calls become reports on the receiver's queue.
"""

import datetime
import logging
import os
import threading

import waitress.server

from drydockd.boot import agent_api
from drydockd.boot import app as app_mod
from drydockd.boot import dhcplog
from drydockd.boot import dnsmasq
from drydockd.boot import files
from drydockd.boot import provisions
from drydockd.boot import tokens
from drydockd.common import actions
from drydockd.common import exception
from drydockd.common import timeutils
from drydockd.db import api as db_api
from drydockd.messaging import publisher as publisher_mod
from drydockd.site import design as design_mod
from drydockd.site import policy as policy_mod

LOG = logging.getLogger(__name__)


def image_size(path, fmt):
    """Bytes the image takes on disk: the file's size, or for gzip the
    size its trailer gives (modulo 4 GiB, as gzip keeps it)."""
    if fmt != 'gzip':
        return os.path.getsize(path)
    with open(path, 'rb') as src:
        src.seek(-4, os.SEEK_END)
        return int.from_bytes(src.read(4), 'little')


def resolve_image(spec, images, base):
    """The agent's view of a design image: ``(image, problem)``."""
    if not spec:
        return None, 'no image in the design (boot.image)'
    path = images.path(spec['name'])
    if path is None:
        return None, 'image %s is not in the images directory' % spec['name']
    fmt = spec.get('format', 'raw')
    with open(path, 'rb') as src:
        if fmt == 'gzip' and src.read(2) != b'\x1f\x8b':
            return None, 'image %s is not gzip' % spec['name']
    return {'name': spec['name'], 'url': '%s/images/%s' % (base,
                                                             spec['name']),
            'sha256': spec['sha256'].lower(), 'format': fmt,
            'size': image_size(path, fmt)}, None


def provisioning_of(item, design, images, base):
    """A Provisioning for one ``list_agent_work`` item (None for a node
    the action leaves to the executor alone)."""
    node = next(n for n in design['nodes'] if n['id'] == item['node_id'])
    if not actions.NODE_ACTIONS[item['action']].uses_agent(node):
        return None
    boot = node.get('boot') or {}
    prov = provisions.Provisioning(
        node=str(item['node_id']), name=item['node_name'],
        mac=(boot.get('mac') or '').lower(), task=item['task'],
        action=provisions.AGENT_WORK[item['action']], since=item['since'])
    if prov.action == 'deploy':
        spec = boot.get('image') or (design.get('boot') or {}).get('image')
        prov.image, prov.problem = resolve_image(spec, images, base)
    return prov


def silence_message(prov, limit, sightings):
    """Why ``prov``'s node is failed for never fetching its script: what
    dnsmasq saw of its MAC, and of MACs the design does not have."""
    text = 'no network boot request within %d s of its power cycle' % limit
    if sightings is None:
        return text
    if sightings.asked_since(prov.mac, prov.since):
        return text + ': its MAC %s got an address but never fetched ' \
            'its iPXE script' % prov.mac
    text += ': its design MAC %s never asked for an address' % (
        prov.mac or '(none)')
    strangers = sightings.ignored_since(prov.since)
    if strangers:
        shown = ', '.join(strangers[:5])
        if len(strangers) > 5:
            shown += ' and %d more' % (len(strangers) - 5)
        text += '; MACs not in the design did, and got no answer: %s' \
            % shown
    return text


class BootService:
    """The boot service, run by the launcher (``run``, ``stop``,
    ``ready``)."""

    def __init__(self, conf, db=None, publisher=None):
        self.conf = conf
        self.policy = policy_mod.Policy.from_conf(conf)
        self.ready = threading.Event()
        self._stop = threading.Event()
        self.db = db or db_api.get_instance(conf)
        self.publisher = publisher or publisher_mod.Publisher(conf)
        self.tokens = tokens.TokenBook()
        self.registry = provisions.Registry(self.tokens)
        self.images = files.FileStore(conf.boot.images_dir)
        self.site = None
        self.base = None
        self.dnsmasq = None
        self.sightings = None
        if conf.boot.dnsmasq and conf.boot.design_ref:
            self.sightings = dhcplog.Sightings()
            self.dnsmasq = dnsmasq.Supervisor(conf.boot.dnsmasq_path,
                                              conf.boot.run_dir,
                                              self.sightings)
        self.agent = agent_api.AgentAPI(self.registry, self._send)
        self.started = timeutils.utcnow()
        self.server = None

    def _send(self, report):
        self.publisher.to_receiver(report)

    def _load_site(self):
        """The design of ``[boot] design_ref`` (None if unset)."""
        ref = self.conf.boot.design_ref
        return design_mod.load(ref, policy=self.policy) if ref else None

    def _base_url(self, site):
        server = ((site or {}).get('boot') or {}).get('server') \
            or self.conf.boot.http_host
        return 'http://%s:%d' % (server, self.conf.boot.public_port
                                 or self.conf.boot.http_port)

    def refresh(self):
        """One pass: the design, dnsmasq's files, the provisionings."""
        site = self._load_site()
        if site is not None:
            self.registry.set_macs({
                n['boot']['mac']: (str(n['id']), n['name'])
                for n in site['nodes'] if (n.get('boot') or {}).get('mac')})
            if self.dnsmasq is not None:
                self.dnsmasq.apply(
                    dnsmasq.conf_text(site, self.base,
                                      self.dnsmasq.hosts_path,
                                      self.conf.boot.tftp_root,
                                      self.conf.boot.interface),
                    dnsmasq.hosts_text(site))
                self.dnsmasq.watch()
        current = []
        for item in self.db.list_agent_work():
            try:
                design = design_mod.load(item['design_ref'],
                                         policy=self.policy)
                prov = provisioning_of(item, design, self.images, self.base)
            except (exception.DrydockException, StopIteration) as exc:
                LOG.warning('Node %s: no boot data: %s', item['node_name'],
                            getattr(exc, 'message', type(exc).__name__))
                continue
            if prov is not None:
                current.append(prov)
        self.registry.sync(current)
        self.fail_silent_nodes()

    def fail_silent_nodes(self):
        """End the nodes that never asked for their iPXE script within
        ``[boot] netboot_timeout`` of their power cycle."""
        limit = self.conf.boot.netboot_timeout
        now = timeutils.utcnow()
        # A boot service started just now has not watched any node for
        # that long: its clocks start no earlier than itself.
        if not limit or (now - self.started).total_seconds() < limit:
            return
        for prov in self.registry.not_booted(
                now - datetime.timedelta(seconds=limit)):
            message = silence_message(prov, limit, self.sightings)
            LOG.warning('Node %s: %s', prov.name, message)
            self.agent.fail(prov, message)

    def run(self):
        try:
            site = self._load_site()
        except exception.DrydockException as exc:
            # Its boot server address is unknown: a design that cannot be
            # read is the operator's to fix; say so once and stop.
            raise exception.DrydockException(
                'boot service: %s' % exc.message)
        self.base = self._base_url(site)
        app = app_mod.BootApp(
            self.base, self.registry, self.agent,
            files.FileStore(self.conf.boot.files_dir), self.images,
            self.conf.boot.kernel_append)
        self.server = waitress.server.create_server(
            app, host=self.conf.boot.http_host,
            port=self.conf.boot.http_port,
            threads=self.conf.boot.http_threads, ident='drydock-boot')
        thread = threading.Thread(target=self.server.run, daemon=True,
                                  name='boot-http')
        thread.start()
        LOG.info('Boot service at %s', self.base)
        try:
            while not self._stop.is_set():
                try:
                    self.refresh()
                    self.ready.set()
                except exception.DrydockException as exc:
                    LOG.error('Boot service refresh failed: %s', exc.message)
                self._stop.wait(self.conf.boot.refresh_interval)
        finally:
            self.server.close()
            if self.dnsmasq is not None:
                self.dnsmasq.stop()

    def stop(self):
        self._stop.set()

