"""Sources of posts: Telegram Desktop exports, the t.me/s web preview and channel updates."""
