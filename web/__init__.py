"""The staff console: server-rendered pages (FastAPI, Jinja2, htmx from ``web/static``) on
the application layer (`app/`), which it calls as the signed-in person, like the CLI.
docs/cross-cutting.md "The staff console"."""
