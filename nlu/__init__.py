"""waihu: nlu package."""
