"""The Atom feed of public incidents, newest first: one entry per incident, its updates as the content."""

from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"


def _iso(unix: int | None) -> str:
    return datetime.fromtimestamp(unix or 0, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_atom(incidents: list[dict], status_url: str, generated_at: int) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def sub(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    sub(feed, "id", status_url)
    sub(feed, "title", "OpenMaaS incidents")
    sub(feed, "updated", _iso(max([i["updated_at"] for i in incidents], default=generated_at)))
    sub(feed, "link", href=status_url)
    sub(feed, "link", rel="self", href=f"{status_url}/feed.atom")
    author = sub(feed, "author")
    sub(author, "name", "OpenMaaS")
    for incident in incidents:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{status_url}#{incident['id']}")
        sub(entry, "title", f"[{incident['status']}] {incident['title']}")
        sub(entry, "published", _iso(incident["created_at"]))
        sub(entry, "updated", _iso(incident["updated_at"]))
        sub(entry, "link", href=f"{status_url}#{incident['id']}")
        lines = [f"{_iso(u['created_at'])} [{u['status']}] {u['message']}" for u in incident["updates"]]
        if incident["components"]:
            lines.insert(0, "Affects: " + ", ".join(c["name"] for c in incident["components"]))
        sub(entry, "content", "\n".join(lines), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
