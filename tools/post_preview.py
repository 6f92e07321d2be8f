"""Preview posts as Discord shows them: an HTML page of embed mocks (dark theme) to open or screenshot.

    python -m tools.post_preview OUT.html [--samples DIR] [--kind round|match|session] [--limit N] [--notes]

Imports the sample files (default: ../shared/samples/real) into a temporary database through the real
pipeline, closes the sessions, and renders the queued posts with the real embed builders and charts.
Screenshot it at desktop and phone width, e.g.:
    chromium --headless --no-sandbox --screenshot=out.png --window-size=390,4000 OUT.html
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python tools/post_preview.py`: find the project by itself
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.chat.embeds import CHART_FILE, post_chart, post_embed
from bot.chat.sinks import Post
from bot.config import Settings
from bot.db import outbox
from bot.db.connection import Database
from bot.factory import import_settings
from bot.ingest.importer import import_file
from bot.ingest.session_posts import close_idle_sessions
from bot.log import configure_logging

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "real"
CSS = """
body { background:#313338; color:#dbdee1; font-family:'gg sans','Noto Sans',Helvetica,Arial,sans-serif;
       font-size:16px; margin:0; padding:16px; }
.msg { margin:0 0 24px 0; display:flex; gap:12px; }
.avatar { width:40px; height:40px; border-radius:50%; background:#5865f2; flex:none; }
.who { font-weight:600; color:#f2f3f5; } .who small { color:#949ba4; font-weight:400; margin-left:6px; }
.embed { max-width:520px; background:#2b2d31; border-left:4px solid var(--c); border-radius:4px;
         padding:8px 16px 16px 12px; margin-top:4px; }
.author { font-size:14px; font-weight:600; margin-top:8px; }
.title { font-weight:600; color:#f2f3f5; margin-top:8px; }
.desc, .fv { font-size:14px; line-height:1.375; white-space:pre-wrap; margin-top:8px; }
.fn { font-size:14px; font-weight:600; margin-top:8px; color:#f2f3f5; }
pre { background:#1e1f22; border:1px solid #1e1f22; border-radius:4px; padding:7px; margin:4px 0;
      font-family:Consolas,'Liberation Mono',Menlo,monospace; font-size:12.5px; line-height:1.2;
      white-space:pre-wrap; overflow-wrap:anywhere; }
code { background:#1e1f22; border-radius:3px; padding:0 3px; font-size:85%; }
img.chart { max-width:100%; border-radius:4px; margin-top:16px; display:block; }
.footer { font-size:12px; color:#b5bac1; margin-top:8px; }
@media (max-width: 480px) { body { padding:8px; } .avatar { display:none; } .embed { max-width:100%; } }
"""


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"<i>\1</i>", text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def markdown(text: str) -> str:
    """The little Discord markdown our posts use: code blocks, **bold**, *italic*, `code`."""
    parts = text.split("```")
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<pre>{html.escape(part.strip(chr(10)))}</pre>")
        else:
            out.append(_inline(part.strip("\n")))
    return "".join(out)


def embed_html(embed: dict[str, Any], colour: int, png: bytes | None) -> str:
    parts = [f'<div class="embed" style="--c:#{colour:06x}">']
    if embed.get("author"):
        parts.append(f'<div class="author">{html.escape(embed["author"]["name"])}</div>')
    if embed.get("title"):
        parts.append(f'<div class="title">{html.escape(embed["title"])}</div>')
    if embed.get("description"):
        parts.append(f'<div class="desc">{markdown(embed["description"])}</div>')
    for f in embed.get("fields") or []:
        parts.append(
            f'<div class="fn">{_inline(f["name"])}</div><div class="fv">{markdown(f["value"])}</div>'
        )
    if png:
        parts.append(f'<img class="chart" src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    footer = "".join(c for c in (embed.get("footer") or {}).get("text", "") if c.isprintable())
    parts.append(f'<div class="footer">{html.escape(footer)}</div></div>')
    return "".join(parts)


async def collect(
    samples: Path, kinds: set[str], limit: int, *, notes_only: bool = False
) -> list[tuple[Post, bytes | None]]:
    settings = import_settings(Settings.from_values())
    files = [(p.name, p.read_bytes()) for p in sorted(samples.glob("*-round-[12].txt"))]  # noqa: ASYNC240
    with tempfile.TemporaryDirectory() as tmp:
        async with await Database.open(Path(tmp) / "preview.db") as db:
            for name, data in files:
                sha = hashlib.sha256(data).hexdigest()
                await import_file(
                    db, server="main", filename=name, size=len(data), mtime=0, data=data, sha256=sha,
                    settings=settings, now=time.time(),
                )  # fmt: skip
            await close_idle_sessions(db, idle_seconds=0, now=time.time() + 10)
            rows = await outbox.due(db, now=time.time() + 100, limit=100_000)
    posts = [Post.from_row(r) for r in rows if r.kind in kinds]
    if notes_only:
        posts = [p for p in posts if p.payload.get("notes")]
    posts = posts[-limit:]
    return [(p, await post_chart(p)) for p in posts]


def page(items: list[tuple[Post, bytes | None]]) -> str:
    body = []
    for post, png in items:
        embed = post_embed(post, image=CHART_FILE if png else None).to_dict()
        who = '<div class="who">statsbot<small>BOT · today</small></div>'
        card = embed_html(dict(embed), int(embed.get("color") or 0x5865F2), png)
        body.append(f'<div class="msg"><div class="avatar"></div><div>{who}{card}</div></div>')
    return f"<!doctype html><meta charset=utf-8><style>{CSS}</style>{''.join(body)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--kind", action="append", choices=("round", "match", "session"))
    parser.add_argument("--limit", type=int, default=6, help="the last N posts of those kinds")
    parser.add_argument("--notes", action="store_true", help="only posts with record / personal-best notes")
    args = parser.parse_args(argv)
    configure_logging("WARNING", json=False)
    kinds = set(args.kind or ["round", "match", "session"])
    items = asyncio.run(collect(args.samples, kinds, args.limit, notes_only=args.notes))
    args.out.write_text(page(items), encoding="utf-8")
    print(f"{len(items)} post(s) → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
