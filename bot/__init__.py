"""The adapters, one subpackage per transport: `slack`, `http` and `cli`.

`compose` holds what every transport gets (`Services`); `settings` reads the environment.
They call the core only through `catalog.core.Catalog`.
"""
