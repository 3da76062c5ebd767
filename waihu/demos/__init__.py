"""The demos ``waihu demo`` runs."""
