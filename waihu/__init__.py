"""waihu: waihu package."""
