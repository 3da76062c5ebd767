"""waihu: asr package."""
