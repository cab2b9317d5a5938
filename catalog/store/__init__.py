"""The store: tables, engine and sessions, migrations, read queries, merged rows, leases and claims."""
