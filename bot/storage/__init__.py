"""Tables, engine, repositories and migrations: the only package that talks SQL."""
