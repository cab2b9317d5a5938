"""Adoption: what every surface records (events), what it adds up to (metrics, pulse, report) and
the names people use that the catalog learns (aliases). Adapters reach it through `Adoption`
(`catalog.adoption.service`), built from the `Catalog` like the other capability services.
"""
