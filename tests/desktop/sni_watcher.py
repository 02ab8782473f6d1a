#!/usr/bin/python3
# A StatusNotifierWatcher standing in for a desktop's tray (the D-Bus service GNOME's and KDE's
# trays provide): it records the tray icons that register, and answers commands on stdin with
# JSON lines on stdout:
#   state          -> {"items": n, "label": ..., "title": ..., "menu": [labels]} of the first item
#   click LABEL    -> {"clicked": LABEL} after sending the menu entry's "clicked" event
from gi.repository import GLib

from standin import bus, serve

WATCHER = """<node><interface name="org.kde.StatusNotifierWatcher">
<method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
<method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
<property name="RegisteredStatusNotifierItems" type="as" access="read"/>
<property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
<property name="ProtocolVersion" type="i" access="read"/>
<signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
<signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
<signal name="StatusNotifierHostRegistered"/>
</interface></node>"""

items = []  # (bus name, object path)


def on_call(_conn, sender, _path, _iface, method, params, invocation):
    if method == "RegisterStatusNotifierItem":
        service = params.unpack()[0]
        if service.startswith("/"):
            items.append((sender, service))
        else:
            items.append((service, "/StatusNotifierItem"))
    invocation.return_value(None)


def on_get(_conn, _sender, _path, _iface, prop):
    if prop == "RegisteredStatusNotifierItems":
        return GLib.Variant("as", [name + path for name, path in items])
    if prop == "IsStatusNotifierHostRegistered":
        return GLib.Variant("b", True)
    return GLib.Variant("i", 0)


def call(name, path, iface, method, args, reply):
    return bus.call_sync(name, path, iface, method, args, GLib.VariantType(reply), 0, 5000, None).unpack()


def layout():
    name, path = items[0]
    props = call(name, path, "org.freedesktop.DBus.Properties", "GetAll",
                 GLib.Variant("(s)", ("org.kde.StatusNotifierItem",)), "(a{sv})")[0]
    menu = call(name, props["Menu"], "com.canonical.dbusmenu", "GetLayout",
                GLib.Variant("(iias)", (0, -1, [])), "(u(ia{sv}av))")[1]
    entries = []

    def walk(node):
        ident, p, children = node
        if "label" in p:
            entries.append((ident, p["label"].replace("_", "")))
        for child in children:
            walk(child)

    walk(menu)
    return name, props, entries


def answer(command):
    if not items:
        return {"items": 0}
    if command == "state":
        _name, props, entries = layout()
        return {
            "items": len(items),
            "label": props.get("XAyatanaLabel", ""),
            "title": props.get("Title", ""),
            "menu": [label for _ident, label in entries],
        }
    if command.startswith("click "):
        wanted = command[len("click "):]
        name, props, entries = layout()
        ident = next(i for i, label in entries if label == wanted)
        call(name, props["Menu"], "com.canonical.dbusmenu", "Event",
             GLib.Variant("(isvu)", (ident, "clicked", GLib.Variant("s", ""), 0)), "()")
        return {"clicked": wanted}
    return {"error": f"unknown command {command}"}


serve(WATCHER, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher", on_call, on_get, answer)
