"""A small bootable OS image, for the end-to-end test and the demo.

A FAT file system over the whole image (no partition table; SeaBIOS and
most firmware boot its boot sector), with syslinux, the deploy ramdisk's
kernel and an initramfs whose init prints a banner and reports the
node's first boot (``ramdisk_files/firstboot-init``). Everything comes
from Debian packages: the kernel and busybox as for the ramdisk, and
``syslinux``, ``mtools`` and ``dosfstools``.
"""

import os
import tempfile

from drydockd.boot import ramdisk

SYSLINUX_CFG = '''DEFAULT os
PROMPT 0
TIMEOUT 0
LABEL os
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND console=ttyS0 quiet panic=-1
'''
SIZE_MB = 24


def firstboot_scripts():
    return {'init': ramdisk._script('firstboot-init'),
            'etc/drydock/udhcpc.script': ramdisk._script('udhcpc.script')}


def build(dest, cache=None):
    """Build ``dest``/testos.img (once); returns ``(path, sha256)``."""
    os.makedirs(dest, exist_ok=True)
    image = os.path.join(dest, 'testos.img')
    parts = ramdisk.build(os.path.join(dest, 'parts'), cache=cache,
                          scripts=firstboot_scripts())
    stamp = os.path.join(dest, 'testos.inputs')
    inputs = parts['initrd_sha256'] + parts['kernel_sha256'] + SYSLINUX_CFG
    if os.path.exists(image) and _read(stamp) == inputs:
        return image, ramdisk._file_sha256(image)
    with tempfile.TemporaryDirectory(dir=dest) as work:
        new = os.path.join(work, 'testos.img')
        with open(new, 'wb') as out:
            out.truncate(SIZE_MB * 1024 * 1024)
        cfg = os.path.join(work, 'syslinux.cfg')
        with open(cfg, 'w') as out:
            out.write(SYSLINUX_CFG)
        ramdisk._run(['mkfs.vfat', '-n', 'DRYDOCKOS', new])
        env_img = '%s' % new
        for src, name in ((parts['kernel'], 'vmlinuz'),
                          (parts['initrd'], 'initrd.gz'),
                          (cfg, 'syslinux.cfg')):
            ramdisk._run(['mcopy', '-i', env_img, src, '::' + name])
        ramdisk._run(['syslinux', '--install', new])
        os.replace(new, image)
    with open(stamp, 'w') as out:
        out.write(inputs)
    return image, ramdisk._file_sha256(image)


def _read(path):
    try:
        with open(path) as src:
            return src.read()
    except OSError:
        return None

