"""waihu: knowledge_base package."""
