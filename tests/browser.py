"""Browser-test fixtures (headless Debian Chromium driven by Playwright). Filled in by the UI work."""
