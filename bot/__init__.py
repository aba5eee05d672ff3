"""Telegram adapter of the digest bot."""
