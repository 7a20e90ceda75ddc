"""The API's documentation pages work on a machine with no internet: every script, style and font
they load comes from this server, and they still render the operations."""

from urllib.parse import urlsplit

import pytest

from tests.test_admin_browser import CHROMIUM, CHROMIUM_ARGS, _chromium_installed  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def offline_page():
    import os

    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    refused: list[str] = []

    def only_this_server(route):
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.route("**/*", only_this_server)
            yield page, refused
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        # Redoc draws each operation's summary as a heading once the schema is loaded.
        ("/api/v1/redoc", "h2:has-text('Health: database, broker and cache status')"),
        # Swagger UI lists each operation with its path.
        ("/api/v1/docs", ".opblock-summary-path:has-text('/api/v1/health')"),
    ],
)
def test_the_docs_render_without_the_internet(offline_page, live_server, path, rendered):
    page, refused = offline_page
    page.goto(f"{live_server.url}{path}")
    page.wait_for_selector(rendered, state="attached")
    assert refused == [], f"{path} asked the internet for {refused}"
    # The page's own policy is what keeps a browser from reaching out where nothing intercepts it.
    policy = page.request.get(f"{live_server.url}{path}").headers["content-security-policy"]
    assert "default-src 'self'" in policy
