"""waihu: telephony package."""
