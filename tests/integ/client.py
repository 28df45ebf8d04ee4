"""
client.py: a small HTTP client and HTML reader for the integration tests.

Every request goes over a real TCP connection to the server under test
(http.client, no redirects followed). HTML is parsed into a light tree
(html.parser) so tests can ask about elements, attributes, ids and text.
Standard library only.
"""

import http.client
import re
import socket
import urllib.parse
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.header_list = headers              # [(name, value)]
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body                        # bytes
        self._doc = None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def doc(self):
        if self._doc is None:
            self._doc = parse_html(self.text)
        return self._doc

    def __repr__(self):
        m = re.search(r"<title>(.*?)</title>", self.text, re.S)
        what = ("title %r" % m.group(1).strip()) if m else \
            ("body %r" % self.text[:120])
        return "<HTTP %s, location %r, content-type %r, %d bytes, %s>" % (
            self.status, self.header("location"), self.header("content-type"),
            len(self.body), what)


def request(base, method, path, body=None, headers=None, timeout=30):
    """One request on its own connection; returns a Response."""
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        c.request(method, path, body=body, headers=dict(headers or {}))
        r = c.getresponse()
        data = r.read()
        return Response(r.status, r.getheaders(), data)
    finally:
        c.close()


def urlencode(pairs):
    """pairs: dict or list of (name, value); values str or bytes."""
    if isinstance(pairs, dict):
        pairs = list(pairs.items())
    return urllib.parse.urlencode(pairs, encoding="utf-8")


FORM_CT = {"Content-Type": "application/x-www-form-urlencoded"}


def post_form(base, slug, fields, headers=None, **kw):
    h = dict(FORM_CT)
    h.update(headers or {})
    body = fields if isinstance(fields, (bytes, str)) else urlencode(fields)
    return request(base, "POST", "/f/%s" % slug, body, h, **kw)


class Form:
    """A form as served: its hidden tokens and the page."""

    def __init__(self, resp):
        self.resp = resp
        doc = resp.doc
        self.key = doc.input_value("_key")
        self.csrf = doc.input_value("_csrf")

    def tokens(self):
        return {"_key": self.key, "_csrf": self.csrf}


def get_form(base, slug):
    r = request(base, "GET", "/f/%s" % slug)
    if r.status != 200:
        raise AssertionError("GET /f/%s: %s" % (slug, r))
    return Form(r)


def location_path(resp):
    loc = resp.header("location")
    if loc is None:
        return None
    return urllib.parse.urlsplit(loc).path


# ---- HTML -------------------------------------------------------------

class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children = []

    def get(self, name, default=None):
        return self.attrs.get(name, default)

    @property
    def text(self):
        out = []
        for ch in self.children:
            out.append(ch if isinstance(ch, str) else ch.text)
        return "".join(out)

    def iter(self):
        for ch in self.children:
            if isinstance(ch, Node):
                yield ch
                yield from ch.iter()

    def find_all(self, tag=None, **attrs):
        res = []
        for n in self.iter():
            if tag is not None and n.tag != tag:
                continue
            if all(n.attrs.get(k.rstrip("_").replace("_", "-")) == v
                   for k, v in attrs.items()):
                res.append(n)
        return res

    def find(self, tag=None, **attrs):
        r = self.find_all(tag, **attrs)
        return r[0] if r else None

    def by_id(self, ident):
        for n in self.iter():
            if n.attrs.get("id") == ident:
                return n
        return None

    def ids(self):
        return [n.attrs["id"] for n in self.iter() if "id" in n.attrs]

    def input_value(self, name):
        n = self.find("input", name=name)
        return n.get("value") if n is not None else None

    def controls(self):
        """Form controls a visitor fills in (not hidden, not buttons)."""
        res = []
        for n in self.iter():
            if n.tag in ("select", "textarea"):
                res.append(n)
            elif n.tag == "input" and n.get("type", "text") not in (
                    "hidden", "submit", "button", "reset", "image"):
                res.append(n)
        return res

    def links(self):
        return [n.get("href") for n in self.find_all("a") if n.get("href")]

    def __repr__(self):
        return "<%s %r>" % (self.tag, self.attrs)


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, {k: (v if v is not None else "") for k, v in attrs},
                 self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        n = Node(tag, {k: (v if v is not None else "") for k, v in attrs},
                 self.cur)
        self.cur.children.append(n)

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        # A newline right after <textarea> or <pre> is not content.
        if self.cur.tag in ("textarea", "pre") and not self.cur.children:
            if data.startswith("\r\n"):
                data = data[2:]
            elif data.startswith("\n"):
                data = data[1:]
        self.cur.children.append(data)


def parse_html(text):
    b = _TreeBuilder()
    b.feed(text)
    b.close()
    return b.root


def looks_like_page(text):
    """A real HTML page: the layout, some words, and a link on."""
    t = text.lower()
    return (t.lstrip().startswith("<!doctype html") and "<main" in t and
            "</html>" in t and re.search(r"<a\s[^>]*href=", t) is not None)


def raw_send(base, data, timeout=30, read_max=1 << 20):
    """Sends raw bytes; returns (status or None, raw response bytes)."""
    u = urllib.parse.urlsplit(base)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while len(out) < read_max:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
            m = re.match(rb"HTTP/1\.[01] \d{3}.*?\r\n\r\n", out, re.S)
            if m:
                cl = re.search(rb"(?im)^content-length:\s*(\d+)", m.group(0))
                if cl and len(out) >= m.end() + int(cl.group(1)):
                    break
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", out)
    return (int(m.group(1)) if m else None), out
