"""The desktop's part in the tests of the real app: what a window manager does with Outpost's
window, through Xlib itself (ctypes, no window manager under Xvfb). Commands on the command line:

  state <title>   {"found": bool, "viewable": bool} for the top-level window named <title>
  red <title> x y w h
                  {"red": n}: how many pixels of that part of the window, as the X server has
                  them on screen, are red (a misspelling's underline)
  close <title>   asks the window to close as a window manager does when its close button is
                  pressed (the WM_DELETE_WINDOW client message, ICCCM 4.2.8.1), {"sent": bool}
"""

import ctypes
import json
import os
import sys

X = ctypes.cdll.LoadLibrary("libX11.so.6")
Window = ctypes.c_ulong
Atom = ctypes.c_ulong
X.XOpenDisplay.restype = ctypes.c_void_p
X.XOpenDisplay.argtypes = [ctypes.c_char_p]
X.XDefaultRootWindow.restype = Window
X.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
X.XQueryTree.argtypes = [ctypes.c_void_p, Window, ctypes.POINTER(Window), ctypes.POINTER(Window), ctypes.POINTER(ctypes.POINTER(Window)), ctypes.POINTER(ctypes.c_uint)]
X.XFetchName.argtypes = [ctypes.c_void_p, Window, ctypes.POINTER(ctypes.c_char_p)]
X.XInternAtom.restype = Atom
X.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
X.XFree.argtypes = [ctypes.c_void_p]


class Attributes(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
        ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
        ("root", Window), ("class_", ctypes.c_int), ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int),
        ("backing_planes", ctypes.c_ulong), ("backing_pixel", ctypes.c_ulong),
        ("save_under", ctypes.c_int), ("colormap", ctypes.c_ulong), ("map_installed", ctypes.c_int),
        ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p),
    ]


class ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p), ("window", Window), ("message_type", Atom),
        ("format", ctypes.c_int), ("l", ctypes.c_long * 5),
    ]


class Event(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]


X.XGetWindowAttributes.argtypes = [ctypes.c_void_p, Window, ctypes.POINTER(Attributes)]
X.XSendEvent.argtypes = [ctypes.c_void_p, Window, ctypes.c_int, ctypes.c_long, ctypes.POINTER(Event)]


class Image(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_ubyte)),
        ("byte_order", ctypes.c_int), ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int), ("bitmap_pad", ctypes.c_int), ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int), ("bits_per_pixel", ctypes.c_int),
    ]


X.XGetImage.restype = ctypes.POINTER(Image)
X.XGetImage.argtypes = [ctypes.c_void_p, Window, ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
Z_PIXMAP = 2
ALL_PLANES = 0xFFFFFFFF
IS_VIEWABLE = 2
CLIENT_MESSAGE = 33


def windows(display, window):
    root, parent = Window(), Window()
    children = ctypes.POINTER(Window)()
    count = ctypes.c_uint()
    if not X.XQueryTree(display, window, ctypes.byref(root), ctypes.byref(parent), ctypes.byref(children), ctypes.byref(count)):
        return
    found = [children[i] for i in range(count.value)]
    if children:
        X.XFree(children)
    for child in found:
        yield child
        yield from windows(display, child)


def named(display, title):
    """The app's top-level window: of the windows named `title`, the largest (GTK and WebKit
    name a few small helper windows after the app too)."""
    found = []
    for window in windows(display, X.XDefaultRootWindow(display)):
        name = ctypes.c_char_p()
        if X.XFetchName(display, window, ctypes.byref(name)) and name.value is not None:
            if name.value.decode("utf-8", "replace") == title:
                attributes = Attributes()
                X.XGetWindowAttributes(display, window, ctypes.byref(attributes))
                found.append((attributes.width * attributes.height, window))
    return max(found)[1] if found else None


def main():
    command, title = sys.argv[1], sys.argv[2]
    display = X.XOpenDisplay(None)
    if not display:
        print(json.dumps({"error": "no display"}))
        return
    window = named(display, title)
    if command == "state":
        viewable = False
        if window is not None:
            attributes = Attributes()
            X.XGetWindowAttributes(display, window, ctypes.byref(attributes))
            viewable = attributes.map_state == IS_VIEWABLE
        print(json.dumps({"found": window is not None, "viewable": viewable}))
    elif command == "red":
        x, y, w, h = (int(v) for v in sys.argv[3:7])
        image = X.XGetImage(display, window, x, y, w, h, ALL_PLANES, Z_PIXMAP) if window is not None else None
        if not image or image.contents.bits_per_pixel != 32:
            print(json.dumps({"error": "no image of the window"}))
            return
        i = image.contents
        red = 0
        for row in range(i.height):
            for col in range(i.width):
                at = row * i.bytes_per_line + col * 4
                b, g, r = i.data[at], i.data[at + 1], i.data[at + 2]
                if r > 150 and r - g > 60 and r - b > 60:
                    red += 1
        if os.environ.get("OUTPOST_DUMP"):
            with open(os.environ["OUTPOST_DUMP"], "wb") as out:
                out.write(b"P6 %d %d 255\n" % (i.width, i.height))
                for row in range(i.height):
                    for col in range(i.width):
                        at = row * i.bytes_per_line + col * 4
                        out.write(bytes([i.data[at + 2], i.data[at + 1], i.data[at]]))
        print(json.dumps({"red": red}))
    elif command == "close":
        if window is None:
            print(json.dumps({"sent": False}))
            return
        event = Event()
        event.xclient.type = CLIENT_MESSAGE
        event.xclient.window = window
        event.xclient.message_type = X.XInternAtom(display, b"WM_PROTOCOLS", 0)
        event.xclient.format = 32
        event.xclient.l[0] = X.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
        event.xclient.l[1] = 0  # CurrentTime
        X.XSendEvent(display, window, 0, 0, ctypes.byref(event))
        X.XFlush(display)
        print(json.dumps({"sent": True}))


main()
