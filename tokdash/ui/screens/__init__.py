"""The screens of the dashboard: each reads the catalog it is given and navigates by messages."""
