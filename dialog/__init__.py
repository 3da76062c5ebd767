"""waihu: dialog package."""
