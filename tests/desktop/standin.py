# What the stand-in D-Bus services of the desktop tests share: an object exported on the session
# bus under a well-known name, {"ready": true} once the name is ours, and commands read from
# stdin, each answered with one JSON line on stdout.
import json
import sys

from gi.repository import Gio, GLib

bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)


def serve(xml, path, name, on_call, on_get, answer):
    """Exports `xml`'s interface at `path` as `name`; `answer(command)` returns a dict for each
    command line (an exception's text becomes {"error": ...})."""
    node = Gio.DBusNodeInfo.new_for_xml(xml)
    bus.register_object(path, node.interfaces[0], on_call, on_get, None)
    loop = GLib.MainLoop()

    def on_line(source, _condition):
        line = source.readline()
        if not line:
            loop.quit()
            return False
        try:
            out = answer(line.strip())
        except Exception as e:  # the test reads the reason
            out = {"error": str(e)}
        print(json.dumps(out), flush=True)
        return True

    Gio.bus_own_name_on_connection(
        bus, name, Gio.BusNameOwnerFlags.NONE,
        lambda *_: print(json.dumps({"ready": True}), flush=True), None)
    GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, on_line)
    loop.run()
