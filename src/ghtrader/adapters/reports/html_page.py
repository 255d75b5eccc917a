"""One self-contained HTML page: tables as HTML, figures embedded as base64 PNG data URIs."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape

from ghtrader.application.ports.reports import FigureSpec, ReportTable

__all__ = ["render_html"]

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto;
       max-width: 1100px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 4px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; white-space: nowrap; }
th { background: #f3f5f7; } td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) td { background: #fafbfc; }
.caption { color: #666; font-size: 12px; margin: 2px 0 12px; }
figure { margin: 12px 0 20px; } img { max-width: 100%; border: 1px solid #eee; }
.meta { color: #555; font-size: 12px; }
"""


def render_html(
    title: str,
    tables: Sequence[ReportTable],
    figures: Sequence[FigureSpec],
    pngs: Mapping[str, bytes],
    meta: Sequence[tuple[str, str]] = (),
) -> str:
    """The page: ``meta`` (label, value) lines, then the tables, then every figure in order."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if meta:
        parts.append('<p class="meta">' + "<br>".join(f"<b>{escape(k)}</b>: {escape(v)}" for k, v in meta) + "</p>")
    for table in tables:
        parts.append(f"<h2>{escape(table.title)}</h2>")
        parts.append(_table(table))
        if table.caption:
            parts.append(f'<p class="caption">{escape(table.caption)}</p>')
    if figures:
        parts.append("<h2>Figures</h2>")
    for spec in figures:
        data = pngs.get(spec.name)
        if data is None:
            continue
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        parts.append(f'<figure><img alt="{escape(spec.title)}" src="{uri}">')
        if spec.caption:
            parts.append(f'<figcaption class="caption">{escape(spec.caption)}</figcaption>')
        parts.append("</figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _table(table: ReportTable) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
