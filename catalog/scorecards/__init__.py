"""Scorecards: rules over the catalog, levels, history, the weekly digest, degradation alerts and the deployment gate."""
