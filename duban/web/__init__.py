"""Server-rendered pages in Chinese: sign-in, inboxes per role, case pages with their actions, dashboard."""
