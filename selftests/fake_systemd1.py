#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""fake_systemd1.py BUS CGROUP_PARENT CALLS: a stand-in for systemd's
manager on a private bus, for selftests/test_keeper_scope.sh on machines
without systemd as PID 1.  It answers StartTransientUnit as systemd does
for a scope: it makes the scope's cgroup under CGROUP_PARENT and moves
every pid of PIDs= into it, then returns a job path.  Each call is
appended to CALLS ("UNIT MODE Key=value ...").  While CALLS.refuse
exists it refuses with an error instead, as a manager that will not.
Run with Debian's python3 (python3-dbus, python3-gi)."""
import os
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

addr, parent, calls = sys.argv[1:4]
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(addr)
name = dbus.service.BusName("org.freedesktop.systemd1", bus)


def text(v):
    if isinstance(v, dbus.Array):
        return ",".join(str(x) for x in v)
    return str(v)


class Manager(dbus.service.Object):
    jobs = 0

    @dbus.service.method("org.freedesktop.systemd1.Manager",
                         in_signature="ssa(sv)a(sa(sv))", out_signature="o")
    def StartTransientUnit(self, unit, mode, props, aux):
        p = {str(k): v for k, v in props}
        with open(calls, "a") as f:
            f.write("%s %s %s\n" % (unit, mode, " ".join(
                "%s=%s" % (k, text(v)) for k, v in sorted(p.items()))))
        if os.path.exists(calls + ".refuse"):
            raise dbus.exceptions.DBusException(
                "refused by the test", name="org.freedesktop.DBus.Error.AccessDenied")
        d = os.path.join(parent, unit)
        os.mkdir(d)
        for pid in p.get("PIDs", []):
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write("%d\n" % pid)
        Manager.jobs += 1
        return dbus.ObjectPath("/org/freedesktop/systemd1/job/%d" % Manager.jobs)


Manager(bus, "/org/freedesktop/systemd1")
print("ready", flush=True)
GLib.MainLoop().run()
