"""The web admin (/admin/) and the admin API (/admin/api/): front ends of
synnefo.logic.admin for users with the admin flag."""
