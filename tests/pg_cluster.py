"""A PostgreSQL cluster of a test's own, on a free port (Debian's
``pg_createcluster``), for tests that stop, restart or start PostgreSQL:
the shared cluster on 5432 is never touched."""

import os
import subprocess
import uuid

import psycopg2

import rabbit_nodes

VERSION = sorted(os.listdir('/etc/postgresql'))[-1]


class PgCluster:

    def __init__(self):
        self.name = 'drydock_%s' % uuid.uuid4().hex[:8]
        self.port = rabbit_nodes.free_port()
        self.id = '%s/%s' % (VERSION, self.name)

    def create(self, start=True):
        """Create it (trust authentication, like the shared one)."""
        subprocess.run(['pg_createcluster', '-p', str(self.port), VERSION,
                        self.name, '--', '--auth=trust'],
                       check=True, capture_output=True, timeout=120)
        if start:
            self.ctl('start')
        return self

    def ctl(self, action):
        subprocess.run(['pg_ctlcluster', '--skip-systemctl-redirect',
                        VERSION, self.name, action], check=True,
                       capture_output=True, timeout=120)

    def create_database(self, name='drydock'):
        conn = psycopg2.connect(host='127.0.0.1', port=self.port,
                                user='postgres', dbname='postgres')
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute('CREATE DATABASE %s' % name)
        conn.close()
        return 'postgresql+psycopg2://postgres@127.0.0.1:%d/%s' % (
            self.port, name)

    def drop(self):
        subprocess.run(['pg_dropcluster', '--stop', VERSION, self.name],
                       capture_output=True, timeout=120)
