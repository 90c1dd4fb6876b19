"""iPXE scripts: the first one every node chains, and each node's own.

``boot.ipxe`` only chains ``/boot/<mac>.ipxe``. A node's script boots
the deploy ramdisk while the node has an agent action under way (with a
fresh one-time token on the kernel command line), and its local disk
otherwise, including a MAC the design does not know.
"""

FIRST = '''#!ipxe
chain {base}/boot/${{net0/mac}}.ipxe || goto local
:local
sanboot --no-describe --drive 0x80 || exit
'''

DEPLOY = '''#!ipxe
echo drydock: node {name} boots the deploy ramdisk
kernel {base}/files/vmlinuz initrd=initramfs.gz {append} \
drydock.url={base} drydock.node={node} drydock.token={token} \
drydock.mac=${{net0/mac}}
initrd {base}/files/initramfs.gz
boot
'''

LOCAL = '''#!ipxe
echo drydock: {who} boots from its local disk
sanboot --no-describe --drive 0x80 || exit
'''


def first(base):
    return FIRST.format(base=base)


def deploy(base, prov, token, append):
    return DEPLOY.format(base=base, name=prov.name, node=prov.node,
                         token=token, append=append)


def local(who):
    return LOCAL.format(who=who)
