"""The staff console: the district's office on the web, on the application layer (`app/`)."""
