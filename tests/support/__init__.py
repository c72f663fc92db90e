"""Helpers shared by the tests and the benchmarks: plain functions and classes, imported by name.

Fixtures stay in the conftest.py files (tests ask for them by argument); everything a test *imports* is here:

- apps:    the test client id and secret, settings for an app on the mock authority, an app served on a free port
- browser: the scripted HTTP browser, and the one answer to "is this browser signed in?"
- html:    reading links, forms and text from a fetched page
- people:  many signed-in users at once
- person:  a person at a real (Playwright) browser
- servers: redis-server and gunicorn as child processes
- store:   what the app's session store holds, read from outside the app
"""
