"""waihu: tts package."""
