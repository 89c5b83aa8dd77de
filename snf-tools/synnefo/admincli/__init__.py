"""snf-admin: the operator's CLI over the admin HTTP API (/admin/api/, docs/admin.md)."""
