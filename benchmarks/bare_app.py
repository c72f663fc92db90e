"""The yardsticks: bare Flask pages as large as the app's signed-in index.

`gunicorn benchmarks.bare_app:app` with BARE_PAGE_BYTES set to the size of the page they stand beside.

- `/` renders a precompiled Jinja template per request (what a small Flask page costs);
- `/string` returns a static string (no template): the same bytes, built once at import, so what is left is
  Flask, Werkzeug and gunicorn alone.

No session, no sign-in, no security headers: what a signed-in page view costs beyond these is the app's doing.
"""

import os

from flask import Flask

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1>
<table>{% for row in rows %}<tr><th>{{ row[0] }}</th><td>{{ row[1] }}</td></tr>{% endfor %}</table>
</body></html>
"""
ROW_BYTES, FRAME_BYTES = 47, 165  # what one row of the table adds to the page; the page without rows

app = Flask(__name__)
_template = app.jinja_env.from_string(PAGE)  # compiled once, as render_template caches a file's template
_size = int(os.environ.get("BARE_PAGE_BYTES", "4000"))
_rows = [(f"claim{i:03d}", "x" * 12) for i in range(max(1, (_size - FRAME_BYTES) // ROW_BYTES))]
STATIC_PAGE = _template.render(title="A bare page", rows=_rows)  # the template's output, once


@app.get("/")
def index():
    return _template.render(title="A bare page", rows=_rows)


@app.get("/string")
def static_string():
    return STATIC_PAGE
