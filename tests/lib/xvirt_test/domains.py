"""Guests for the daemon tests: the example domain XML, the files it boots from, DomainTestCase
(one daemon per class on its own simulated host), and parsers of virsh output.
"""
import os
import re

from .daemon import XvirtdTestCase, environment
from .wait import wait_for

# A PV guest with a disk and a console; {name}, {uuid}, {kernel}, {disk} filled in.
DOMAIN_XML = """<domain type='xen'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='xenpv'>linux</type>
    <kernel>{kernel}</kernel>
    <cmdline>console=hvc0 root=/dev/xvda1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{disk}'/>
      <target dev='xvda' bus='xen'/>
    </disk>
    <console type='pty'>
      <target type='xen' port='0'/>
    </console>
  </devices>
</domain>
"""

# The smallest such guest (64 MiB, one vCPU), for the tests that run many at once.
SMALL_DOMAIN_XML = """<domain type='xen'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='xenpv'>linux</type><kernel>{kernel}</kernel></os>
  <devices>
    <disk type='file' device='disk'><source file='{disk}'/><target dev='xvda' bus='xen'/></disk>
    <console type='pty'><target type='xen' port='0'/></console>
  </devices>
</domain>
"""

# An HVM guest with an emulated disk; {name}, {uuid}, {kernel}, {disk} filled in.
HVM_DOMAIN_XML = """<domain type='xen'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='xenfv'>hvm</type>
    <kernel>{kernel}</kernel>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='{disk}'/>
      <target dev='hda' bus='ide'/>
    </disk>
  </devices>
</domain>
"""


def write_file(path, data=b"", size=None):
    """Writes `data` to `path` (then truncates it to `size` when given); returns the path."""
    with open(path, "wb") as f:
        f.write(data)
        if size is not None:
            f.truncate(size)
    return path


def write_kernel(directory, name="vmlinuz"):
    """A kernel the simulated host boots (any ELF-looking bytes), in `directory`."""
    return write_file(os.path.join(directory, name), b"\x7fELF-xvirt-test-kernel" + bytes(range(256)) * 64)


def guest_files(directory, disk_size=1 << 20):
    """A kernel the simulated host boots and two empty disks of `disk_size`, in `directory`."""
    disks = [write_file(os.path.join(directory, n), size=disk_size) for n in ("disk.img", "disk2.img")]
    return write_kernel(directory), disks[0], disks[1]


class DomainTestCase(XvirtdTestCase):
    """A daemon per class with a kernel and a 16 MiB disk for its guests, and the questions tests
    ask about a guest (its state, its domid on the simulated host, its helper)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kernel, cls.disk, _ = guest_files(cls.d.dir, disk_size=16 << 20)
        cls.sim_dir = cls.d.sim_dir

    def xml_file(self, name, uuid, template=DOMAIN_XML):
        path = os.path.join(self.d.dir, name + ".xml")
        with open(path, "w") as f:
            f.write(template.format(name=name, uuid=uuid, kernel=self.kernel, disk=self.disk))
        return path

    def state(self, name):
        return self.virsh("domstate", "--reason", name).stdout.strip()

    def wait_state(self, name, expected, timeout=20):
        wait_for(lambda: self.state(name) == expected, timeout=timeout, what=f"{name} to be {expected!r}")

    def domid(self, name):
        return int(self.virsh("domid", name).stdout.strip())

    def sim_domids(self):
        ids = set()
        for line in self.d.xl("list").stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                ids.add(int(fields[1]))
        return ids

    def helper_pid(self, name):
        status = os.path.join(self.d.run, "xvirt", "domains", name + ".xml")
        with open(status) as f:
            return int(re.search(r"pid='(\d+)'", f.read()).group(1))

    def cleanup_domain(self, name):
        self.virsh("destroy", name, check=False)
        self.virsh("undefine", name, check=False)

    def start_domain(self, name, uuid, xml_edit=None, *start_flags, template=DOMAIN_XML):
        """Defines and starts a guest (removed again at the end of the test); returns its domid."""
        path = self.xml_file(name, uuid, template)
        if xml_edit:
            with open(path) as f:
                text = xml_edit(f.read())
            with open(path, "w") as f:
                f.write(text)
        self.addCleanup(self.cleanup_domain, name)
        self.virsh("define", path)
        self.virsh("start", name, *start_flags)
        return self.domid(name)


class FourCpuTestCase(DomainTestCase):
    """A simulated host with 4 CPUs, whatever the machine has, so pinning has room to move."""

    @classmethod
    def setUpClass(cls):
        with environment("XVIRT_SIM_CPUS", "4"):
            super().setUpClass()


def vcpuinfo(text):
    """virsh vcpuinfo output -> {vcpu: {"CPU": ..., "State": ..., "CPU Affinity": ...}}."""
    out, cur = {}, None
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        if key == "VCPU":
            cur = out.setdefault(int(value), {})
        elif cur is not None:
            cur[key] = value
    return out


def key_values(text):
    """virsh domstats / dommemstat output -> {key: value}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
        elif line and len(line.split()) == 2 and not line.startswith("Domain"):
            k, v = line.split()
            out[k] = v
    return out
