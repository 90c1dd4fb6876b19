"""Build the deploy ramdisk from Debian packages only.

Nothing may be downloaded from anywhere but the distribution's archive,
so the ramdisk is the distribution's cloud kernel plus an initramfs made
of ``busybox-static``, the few virtio modules the kernel builds as
modules, and drydock's init and POSIX-shell agent (``ramdisk_files/``).

The kernel package is fetched by its exact name (``apt-cache depends
linux-image-cloud-amd64`` gives it): a wildcard fetches every version.
Packages are downloaded once into ``<cache>/debs``; a build whose inputs
(package files, drydock's scripts) did not change is not redone, so the
tests build once per run and an operator's second ``ramdisk build`` is
instant.
"""

import gzip
import hashlib
import importlib.resources
import json
import os
import shutil
import subprocess
import tempfile

from drydockd.common import exception

META_PACKAGE = 'linux-image-cloud-amd64'
BUSYBOX_PACKAGE = 'busybox-static'
# Load order matters: each module needs the symbols of those before it
# (``modinfo -F depends``); virtio before virtio_ring fails.
MODULES = ('virtio_ring', 'virtio', 'virtio_pci_modern_dev',
           'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_blk', 'failover',
           'net_failover', 'virtio_net')
KERNEL = 'vmlinuz'
INITRD = 'initramfs.gz'
MANIFEST = 'manifest.json'


def _run(argv, cwd=None):
    """Run a tool; one-line error naming it if it fails."""
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                              timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise exception.DrydockException('%s: %s' % (argv[0], exc))
    if done.returncode:
        tail = (done.stderr.strip().splitlines() or ['exit %d'
                                                     % done.returncode])
        raise exception.DrydockException('%s failed: %s' % (
            ' '.join(argv[:3]), tail[-1]))
    return done.stdout


def kernel_package():
    """The exact kernel package the cloud meta-package depends on."""
    out = _run(['apt-cache', 'depends', META_PACKAGE])
    for line in out.splitlines():
        key, _, value = line.strip().partition(': ')
        if key == 'Depends' and value.startswith('linux-image-'):
            return value.strip()
    raise exception.DrydockException(
        'apt-cache names no kernel for %s (run apt-get update?)'
        % META_PACKAGE)


def _download(package, debs):
    """The .deb of ``package`` in ``debs``, fetched once."""
    os.makedirs(debs, exist_ok=True)
    found = [f for f in os.listdir(debs)
             if f.startswith(package + '_') and f.endswith('.deb')]
    if not found:
        # As root apt sandboxes to _apt, which cannot write here.
        _run(['apt-get', '-q', '-o', 'APT::Sandbox::User=root',
              'download', package], cwd=debs)
        found = [f for f in os.listdir(debs)
                 if f.startswith(package + '_') and f.endswith('.deb')]
    if not found:
        raise exception.DrydockException('apt-get download %s gave no '
                                         'file' % package)
    return os.path.join(debs, sorted(found)[-1])


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as src:
        for block in iter(lambda: src.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _script(name):
    return importlib.resources.files('drydockd.boot').joinpath(
        'ramdisk_files', name).read_bytes()


def _inputs_digest(debs, scripts):
    digest = hashlib.sha256()
    for deb in debs:
        digest.update(os.path.basename(deb).encode() + b'\0')
    for name, body in sorted(scripts.items()):
        digest.update(name.encode() + b'\0' + body + b'\0')
    return digest.hexdigest()


def _find_module(root, name):
    for base, _dirs, files in os.walk(os.path.join(root, 'lib', 'modules')):
        if name + '.ko' in files:
            return os.path.join(base, name + '.ko')
    raise exception.DrydockException('module %s is not in the kernel '
                                      'package' % name)


def _lay_out(tree, kernel_root, busybox, scripts):
    """The initramfs tree: busybox, modules (flat), /init, the agent."""
    for sub in ('bin', 'sbin', 'etc/drydock', 'lib/modules', 'proc', 'sys',
                'dev', 'tmp', 'run', 'usr/bin', 'usr/sbin'):
        os.makedirs(os.path.join(tree, sub), exist_ok=True)
    shutil.copy(busybox, os.path.join(tree, 'bin', 'busybox'))
    os.symlink('busybox', os.path.join(tree, 'bin', 'sh'))
    for name in MODULES:
        shutil.copy(_find_module(kernel_root, name),
                    os.path.join(tree, 'lib', 'modules', name + '.ko'))
    with open(os.path.join(tree, 'etc', 'drydock', 'modules'), 'w') as out:
        out.write('\n'.join(MODULES) + '\n')
    for path, body in scripts.items():
        target = os.path.join(tree, path)
        with open(target, 'wb') as out:
            out.write(body)
        os.chmod(target, 0o755)


def _pack(tree, busybox, dest):
    """``tree`` as a gzipped newc cpio (busybox's cpio: the system's may
    be missing)."""
    names = []
    for base, dirs, files in os.walk(tree):
        for entry in sorted(dirs) + sorted(files):
            names.append(os.path.relpath(os.path.join(base, entry), tree))
    listing = ('\n'.join(sorted(names)) + '\n').encode()
    done = subprocess.run([busybox, 'cpio', '-o', '-H', 'newc'], cwd=tree,
                          input=listing, capture_output=True, timeout=300,
                          check=False)
    if done.returncode:
        raise exception.DrydockException('cpio failed: %s' % done.stderr
                                         .decode(errors='replace')
                                         .strip()[-200:])
    with gzip.open(dest, 'wb', compresslevel=6) as out:
        out.write(done.stdout)


def build(dest, cache=None, scripts=None, kernel=None):
    """Build (or reuse) the kernel and initramfs in ``dest``.

    :param cache: where downloaded packages are kept (``dest``/debs).
    :param scripts: ``{path in the initramfs: bytes}`` to add; drydock's
        deploy agent by default. Another init makes another image from
        the same packages (the end-to-end test's deployed OS).
    :param kernel: the kernel package; by default the one the cloud
        meta-package names.
    :returns: the manifest dict (paths, versions, sha256 of each file).
    """
    scripts = scripts if scripts is not None else agent_scripts()
    os.makedirs(dest, exist_ok=True)
    debs_dir = cache or os.path.join(dest, 'debs')
    kernel = kernel or kernel_package()
    debs = [_download(kernel, debs_dir), _download(BUSYBOX_PACKAGE,
                                                   debs_dir)]
    inputs = _inputs_digest(debs, scripts)
    manifest_path = os.path.join(dest, MANIFEST)
    old = _read_manifest(manifest_path)
    if old and old.get('inputs') == inputs and all(
            os.path.exists(old[k]) for k in ('kernel', 'initrd')):
        return old
    with tempfile.TemporaryDirectory(prefix='ramdisk-', dir=dest) as work:
        kroot = os.path.join(work, 'kernel')
        broot = os.path.join(work, 'busybox')
        _run(['dpkg-deb', '-x', debs[0], kroot])
        _run(['dpkg-deb', '-x', debs[1], broot])
        vmlinuz = [f for f in os.listdir(os.path.join(kroot, 'boot'))
                   if f.startswith('vmlinuz-')]
        if not vmlinuz:
            raise exception.DrydockException('%s has no vmlinuz' % kernel)
        busybox = os.path.join(broot, 'bin', 'busybox')
        tree = os.path.join(work, 'tree')
        _lay_out(tree, kroot, busybox, scripts)
        kernel_out = os.path.join(dest, KERNEL)
        initrd_out = os.path.join(dest, INITRD)
        shutil.copy(os.path.join(kroot, 'boot', vmlinuz[0]),
                    kernel_out + '.new')
        _pack(tree, busybox, initrd_out + '.new')
        os.replace(kernel_out + '.new', kernel_out)
        os.replace(initrd_out + '.new', initrd_out)
    manifest = {'kernel': kernel_out, 'initrd': initrd_out,
                'kernel_package': kernel,
                'kernel_version': vmlinuz[0].removeprefix('vmlinuz-'),
                'packages': [os.path.basename(d) for d in debs],
                'kernel_sha256': _file_sha256(kernel_out),
                'initrd_sha256': _file_sha256(initrd_out),
                'inputs': inputs}
    with open(manifest_path + '.new', 'w') as out:
        json.dump(manifest, out, indent=1)
    os.replace(manifest_path + '.new', manifest_path)
    return manifest


def agent_scripts():
    """The deploy agent's files, by their path in the initramfs."""
    return {'init': _script('init'),
            'bin/drydock-agent': _script('drydock-agent'),
            'etc/drydock/udhcpc.script': _script('udhcpc.script')}


def _read_manifest(path):
    try:
        with open(path) as src:
            return json.load(src)
    except (OSError, ValueError):
        return None


def default_dir(conf):
    """Where ``ramdisk build`` puts the ramdisk: under the state path."""
    return os.path.join(conf.state_path, 'ramdisk')
