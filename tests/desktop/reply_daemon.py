#!/usr/bin/python3
# A notification daemon with inline replies, standing in for KDE Plasma's (dunst has none): it
# implements org.freedesktop.Notifications, says it can "inline-reply", keeps what it was asked
# to show, and answers commands on stdin with JSON lines on stdout:
#   last         -> {"id", "summary", "body", "actions"} of the newest notification (or {})
#   reply TEXT   -> emits NotificationReplied(newest id, TEXT), as the desktop does when the agent
#                   types in the notification; answers {"replied": id}
from gi.repository import GLib

from standin import bus, serve

DAEMON = """<node><interface name="org.freedesktop.Notifications">
<method name="GetCapabilities"><arg type="as" direction="out"/></method>
<method name="GetServerInformation">
  <arg type="s" direction="out"/><arg type="s" direction="out"/>
  <arg type="s" direction="out"/><arg type="s" direction="out"/>
</method>
<method name="Notify">
  <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
  <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
  <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/><arg type="u" direction="out"/>
</method>
<method name="CloseNotification"><arg type="u" direction="in"/></method>
<signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
<signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
<signal name="NotificationReplied"><arg type="u"/><arg type="s"/></signal>
</interface></node>"""

shown = []


def on_call(_conn, _sender, _path, _iface, method, params, invocation):
    if method == "GetCapabilities":
        invocation.return_value(GLib.Variant("(as)", (["actions", "body", "inline-reply"],)))
    elif method == "GetServerInformation":
        invocation.return_value(GLib.Variant("(ssss)", ("reply-daemon", "outpost tests", "1", "1.2")))
    elif method == "Notify":
        _app, replaces, _icon, summary, body, actions, _hints, _timeout = params.unpack()
        ident = replaces or len(shown) + 1
        shown.append({"id": ident, "summary": summary, "body": body, "actions": actions[0::2]})
        invocation.return_value(GLib.Variant("(u)", (ident,)))
    else:
        invocation.return_value(None)


def answer(command):
    if command == "last":
        return shown[-1] if shown else {}
    if command.startswith("reply ") and shown:
        ident = shown[-1]["id"]
        bus.emit_signal(None, "/org/freedesktop/Notifications", "org.freedesktop.Notifications",
                        "NotificationReplied", GLib.Variant("(us)", (ident, command[len("reply "):])))
        return {"replied": ident}
    return {"error": f"cannot {command}"}


serve(DAEMON, "/org/freedesktop/Notifications", "org.freedesktop.Notifications", on_call, None, answer)
