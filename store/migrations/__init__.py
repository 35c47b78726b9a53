"""Alembic's environment of the records store (env.py, script.py.mako, versions/); run it
through `store.migrate`, never with an alembic.ini."""
