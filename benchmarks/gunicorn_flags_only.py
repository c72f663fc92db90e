"""gunicorn's configuration file for the benchmark's servers: deliberately empty.

gunicorn reads ./gunicorn.conf.py by itself when no -c is given; the project's production one (access log on
stdout, its own worker count) would then differ between the app and the bare page. The benchmark passes every
setting as a command-line flag instead (warm_site.gunicorn_flags), the same for every server it measures.
"""
