"""A run report as one self-contained HTML page: a pure function from the report's plain data to HTML.

Everything is inline (CSS and SVG, no script, no font, no image file), so the page opens from disk with no network
and shows the same in any browser. The data is what `pipelines.run_report` gathers, for a local or a cluster run:

    {"name", "pipeline", "where": "local"|"cluster", "state", "started", "duration", "arguments": {},
     "tasks": [{"id", "task", "label", "group", "state", "duration", "depends": [ids]}],
     "candidates": [{"label", "score", "spread", "chosen"}], "why": str, "metrics": {}, "confusion": {"labels",
     "matrix"}, "failure": {"task", "error", "log_tail": [lines]}, "artifacts": [{"label", "href"}],
     "links": [{"label", "href"}], "notes": [str]}

Every key but `name` and `state` may be missing (a run that failed early has no candidates, a cluster run's API
data holds no artifact metadata).
"""
from __future__ import annotations

import math
from html import escape

STATE_COLOURS = {   # fill, stroke
    "SUCCEEDED": ("#e6f4ea", "#1e8e3e"), "FAILED": ("#fce8e6", "#d93025"), "RUNNING": ("#e8f0fe", "#1a73e8"),
    "INTERRUPTED": ("#fef7e0", "#e37400"), "CANCELED": ("#fef7e0", "#e37400"), "SKIPPED": ("#f1f3f4", "#9aa0a6"),
    "NOT RUN": ("#f8f9fa", "#bdc1c6"), "PENDING": ("#f8f9fa", "#bdc1c6"),
}
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 150, 42, 30, 12, 18

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#202124;margin:0;background:#fafafa}
main{max-width:1240px;margin:0 auto;padding:20px 28px 40px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:16px;margin:28px 0 10px;border-bottom:1px solid #dadce0;padding-bottom:4px}
.meta{color:#5f6368}.meta span{margin-right:18px}
.badge{display:inline-block;padding:1px 10px;border-radius:10px;font-weight:600;font-size:13px;vertical-align:3px}
table{border-collapse:collapse;background:#fff}td,th{padding:4px 12px;border:1px solid #e0e0e0;text-align:left}
th{background:#f1f3f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.chosen td{background:#e6f4ea;font-weight:600}
.scroll{overflow-x:auto;background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:8px}
.why{margin:10px 0 0;padding:8px 12px;background:#e8f0fe;border-left:4px solid #1a73e8}
.row{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}
.failure{background:#fce8e6;border-left:4px solid #d93025;padding:8px 12px}
pre{background:#202124;color:#e8eaed;padding:10px 12px;border-radius:6px;overflow-x:auto;font-size:12px;margin:8px 0 0}
ul{margin:0;padding-left:20px}a{color:#1a73e8}
svg.fit{max-width:100%;height:auto}svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
"""


def _colours(state: str) -> tuple[str, str]:
    return STATE_COLOURS.get(state, STATE_COLOURS["PENDING"])


def _seconds(value) -> str:
    if value is None:
        return ""
    value = float(value)
    return f"{value:.1f} s" if value < 60 else f"{int(value // 60)} min {value % 60:.0f} s"


def _badge(state: str) -> str:
    fill, stroke = _colours(state)
    style = f"background:{fill};color:{stroke};border:1px solid {stroke}"
    return f'<span class="badge" style="{style}">{escape(state)}</span>'


def _layers(tasks: list[dict]) -> dict[str, int]:
    """Each task's column: one more than the furthest of the tasks it depends on."""
    ids = {t["id"] for t in tasks}
    depends = {t["id"]: [d for d in t.get("depends", []) if d in ids and d != t["id"]] for t in tasks}
    layer: dict[str, int] = {}

    def place(task_id: str, seen: frozenset) -> int:
        if task_id not in layer:
            ups = [d for d in depends[task_id] if d not in seen]
            layer[task_id] = 1 + max((place(d, seen | {task_id}) for d in ups), default=-1)
        return layer[task_id]

    for task in tasks:
        place(task["id"], frozenset())
    return layer


def dag_svg(tasks: list[dict]) -> str:
    """The tasks left to right by dependency, each a box coloured by its state with its duration; tasks of a loop
    iteration carry the iteration's value, and each loop is framed."""
    if not tasks:
        return "<p>No task started.</p>"
    layer = _layers(tasks)
    columns: dict[int, list[dict]] = {}
    for task in tasks:
        columns.setdefault(layer[task["id"]], []).append(task)
    height = max(len(c) for c in columns.values()) * (NODE_H + GAP_Y) - GAP_Y + 2 * PAD + 16
    width = len(columns) * (NODE_W + GAP_X) - GAP_X + 2 * PAD
    where: dict[str, tuple[float, float]] = {}
    for column, members in columns.items():
        top = (height - (len(members) * (NODE_H + GAP_Y) - GAP_Y)) / 2 + 8
        for row, task in enumerate(members):
            where[task["id"]] = (PAD + column * (NODE_W + GAP_X), top + row * (NODE_H + GAP_Y))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="fit" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="the run\'s DAG">',
             '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" '
             'orient="auto"><path d="M0,0L8,4L0,8z" fill="#9aa0a6"/></marker></defs>']
    groups: dict[str, list[tuple[float, float]]] = {}
    for task in tasks:
        if task.get("group"):
            groups.setdefault(task["group"], []).append(where[task["id"]])
    for group, spots in groups.items():
        x0, y0 = min(x for x, _ in spots) - 10, min(y for _, y in spots) - 20
        x1, y1 = max(x for x, _ in spots) + NODE_W + 10, max(y for _, y in spots) + NODE_H + 8
        parts.append(f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="8" fill="#f8f9fa" '
                     f'stroke="#9aa0a6" stroke-dasharray="4 3"/>'
                     f'<text x="{x0 + 8}" y="{y0 + 14}" font-size="11" fill="#5f6368">{escape(group)}</text>')
    for task in tasks:
        x, y = where[task["id"]]
        for up in task.get("depends", []):
            if up in where and up != task["id"]:
                ux, uy = where[up]
                sx, sy, ex, ey = ux + NODE_W, uy + NODE_H / 2, x - 2, y + NODE_H / 2
                mid = (sx + ex) / 2
                parts.append(f'<path d="M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}" fill="none" stroke="#bdc1c6" '
                             f'stroke-width="1.3" marker-end="url(#arrow)"/>')
    for task in tasks:
        x, y = where[task["id"]]
        state = task.get("state") or "PENDING"
        fill, stroke = _colours(state)
        dashed = ' stroke-dasharray="4 3"' if state in ("NOT RUN", "PENDING", "SKIPPED") else ""
        mark = {"FAILED": "✕ ", "SUCCEEDED": "✓ ", "RUNNING": "… ", "INTERRUPTED": "■ "}.get(state, "")
        detail = " · ".join(p for p in (task.get("label"), _seconds(task.get("duration")) or state.lower()) if p)
        title = f"{task['task']}{'[' + task['label'] + ']' if task.get('label') else ''}: {state}"
        parts.append(f'<g><title>{escape(title)} {escape(_seconds(task.get("duration")))}</title>'
                     f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" '
                     f'stroke="{stroke}" stroke-width="{2 if state == "FAILED" else 1.3}"{dashed}/>'
                     f'<text x="{x + 9}" y="{y + 17}" font-size="12.5" font-weight="600" fill="#202124">'
                     f'<tspan fill="{stroke}">{mark}</tspan>{escape(task["task"])}</text>'
                     f'<text x="{x + 9}" y="{y + 33}" font-size="11" fill="#5f6368">{escape(detail)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def candidates_svg(candidates: list[dict]) -> str:
    """Each candidate's score as a bar with its spread as a whisker (mean ± std); the chosen one stands out."""
    row, label_w, bar_w = 26, 130, 420
    low = min(c["score"] - (c.get("spread") or 0) for c in candidates)
    high = max(c["score"] + (c.get("spread") or 0) for c in candidates)
    lo = max(0.0, math.floor(low * 20) / 20)            # the axis runs between multiples of 0.05
    hi = max(min(1.0, math.ceil(high * 20) / 20) if high <= 1 else high, lo + 0.05)
    ticks = [lo + i * 0.05 for i in range(round((hi - lo) / 0.05) + 1)] if (hi - lo) <= 0.5 else \
        [lo + (hi - lo) * i / 4 for i in range(5)]

    def x(value: float) -> float:
        return label_w + (min(max(value, lo), hi) - lo) / (hi - lo) * bar_w

    height = len(candidates) * row + 34
    width = label_w + bar_w + 110
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="cross-validated score per candidate">']
    for value in ticks:
        parts.append(f'<line x1="{x(value)}" y1="4" x2="{x(value)}" y2="{height - 24}" stroke="#e0e0e0"/>'
                     f'<text x="{x(value)}" y="{height - 8}" font-size="11" fill="#5f6368" '
                     f'text-anchor="middle">{value:.2f}</text>')
    for i, candidate in enumerate(candidates):
        y = 6 + i * row
        score, spread = candidate["score"], candidate.get("spread") or 0
        colour = "#1e8e3e" if candidate.get("chosen") else "#8ab4f8"
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end" '
                     f'font-weight="{600 if candidate.get("chosen") else 400}">{escape(candidate["label"])}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{x(score) - label_w:.1f}" height="{row - 8}" rx="3" '
                     f'fill="{colour}"/>'
                     f'<path d="M{x(score - spread):.1f},{y + 8}v10M{x(score - spread):.1f},{y + 13}'
                     f'H{x(score + spread):.1f}M{x(score + spread):.1f},{y + 8}v10" stroke="#3c4043" '
                     f'stroke-width="1.4" fill="none"/>'
                     f'<text x="{label_w + bar_w + 8}" y="{y + 15}" font-size="12" fill="#202124">{score:.3f} ± '
                     f'{spread:.3f}{" ★" if candidate.get("chosen") else ""}</text>')
    parts.append("</svg>")
    return "".join(parts)


def confusion_svg(labels: list[str], matrix: list[list[int]]) -> str:
    """The confusion matrix as a heat map (rows: true class, columns: predicted), each cell with its count."""
    cell, left, top = 58, 84, 40
    size = len(labels)
    width, height = left + size * cell + 8, top + size * cell + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="confusion matrix">',
             f'<text x="{left + size * cell / 2}" y="12" font-size="11" fill="#5f6368" '
             f'text-anchor="middle">predicted</text>',
             f'<text x="12" y="{top + size * cell / 2}" font-size="11" fill="#5f6368" text-anchor="middle" '
             f'transform="rotate(-90 12 {top + size * cell / 2})">true</text>']
    for j, label in enumerate(labels):
        parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 8}" font-size="11" '
                     f'text-anchor="middle">{escape(label)}</text>'
                     f'<text x="{left - 8}" y="{top + j * cell + cell / 2 + 4}" font-size="11" '
                     f'text-anchor="end">{escape(label)}</text>')
    for i, values in enumerate(matrix):
        total = sum(values) or 1
        for j, count in enumerate(values):
            share = count / total
            fill = f"rgba(26,115,232,{0.08 + 0.85 * share:.2f})"
            ink = "#fff" if share > 0.5 else "#202124"
            parts.append(f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 2}" '
                         f'height="{cell - 2}" rx="3" fill="{fill}"/>'
                         f'<text x="{left + j * cell + cell / 2 - 1}" y="{top + i * cell + cell / 2 + 5}" '
                         f'font-size="15" font-weight="600" text-anchor="middle" fill="{ink}">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[tuple], header: tuple) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="num">{escape(_plain(v))}</td>' if isinstance(v, (int, float))
                                    and not isinstance(v, bool) else f"<td>{escape(_plain(v))}</td>" for v in row)
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _plain(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if not value.is_integer() else str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def _candidates(report: dict) -> str:
    candidates = report.get("candidates") or []
    if not candidates:
        return ""
    rows = "".join(f'<tr{" class=chosen" if c.get("chosen") else ""}><td>{escape(c["label"])}</td>'
                   f'<td class="num">{c["score"]:.4f}</td><td class="num">{(c.get("spread") or 0):.4f}</td>'
                   f'<td>{"chosen" if c.get("chosen") else ""}</td></tr>' for c in candidates)
    table = ("<table><tr><th>candidate</th><th>cross-validated score</th><th>spread (std)</th><th></th></tr>"
             f"{rows}</table>")
    why = f'<p class="why">{escape(report["why"])}</p>' if report.get("why") else ""
    return _section("Candidates", f'<div class="row"><div>{table}</div><div class="scroll">'
                                  f'{candidates_svg(candidates)}</div></div>{why}')


def _result(report: dict) -> str:
    metrics, confusion = report.get("metrics") or {}, report.get("confusion") or {}
    if not metrics and not confusion:
        return ""
    body = _table(sorted(metrics.items()), ("metric", "value")) if metrics else ""
    if confusion.get("matrix"):
        body += f'<div class="scroll">{confusion_svg(confusion["labels"], confusion["matrix"])}</div>'
    return _section("Result on the held-out split", f'<div class="row">{body}</div>')


def _failure(report: dict) -> str:
    failure = report.get("failure")
    if not failure:
        return ""
    tail = failure.get("log_tail") or []
    task, error = escape(failure.get("task") or "a task"), escape(failure.get("error") or "")
    body = f'<p class="failure"><b>{task}</b>: {error}</p>'
    if tail:
        body += f"<p>The log's last {len(tail)} lines up to the failure:</p><pre>{escape(chr(10).join(tail))}</pre>"
    return _section("What went wrong" if report.get("state") == "FAILED" else "Why it stopped", body)


def _links(items: list[dict], title: str) -> str:
    if not items:
        return ""
    return _section(title, "<ul>" + "".join(f'<li><a href="{escape(i["href"], quote=True)}">{escape(i["label"])}</a>'
                                            "</li>" for i in items) + "</ul>")


def render(report: dict) -> str:
    """The whole page for one run's report data (see the module docstring)."""
    state = report.get("state") or "PENDING"
    meta = [f"<span>{escape(label)}: {escape(str(value))}</span>" for label, value in (
        ("pipeline", report.get("pipeline")), ("ran", report.get("where")), ("started", report.get("started")),
        ("took", _seconds(report.get("duration")))) if value]
    notes = "".join(f'<p class="meta">{escape(n)}</p>' for n in report.get("notes") or [])
    arguments = report.get("arguments") or {}
    tasks = report.get("tasks") or []
    body = "".join([
        f'<h1>{escape(report["name"])} {_badge(state)}</h1><p class="meta">{"".join(meta)}</p>{notes}',
        _failure(report),
        _section("Tasks", f'<div class="scroll">{dag_svg(tasks)}</div>'),
        _candidates(report),
        _result(report),
        _section("Arguments", _table(sorted(arguments.items()), ("argument", "value"))) if arguments else "",
        _links(report.get("links") or [], "Links"),
        _links(report.get("artifacts") or [], "Artifacts"),
    ])
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(report["name"])}: '
            f'{escape(state)}</title><meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<style>{CSS}</style></head><body><main>{body}</main></body></html>\n")
