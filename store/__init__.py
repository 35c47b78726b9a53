"""The records store: SQLAlchemy schema, engine and the queries staff listings use."""
