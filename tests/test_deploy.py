"""Deployed as docs/deploy.md says: `check --deploy` clean, real gunicorn serves every asset.

The environment is docs/production.env itself (site-specific values made
local), so these tests fail when the documented settings stop being enough.
Behind the documented reverse proxy every request carries
X-Forwarded-Proto: https; here the client sends it, as the proxy would.
"""

from __future__ import annotations

import gzip
import http.client
import re
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from tests.helpers import CHROMIUM, manage, production_environment

pytestmark = pytest.mark.slow

PROXY = {"X-Forwarded-Proto": "https"}
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}


def issue_ids(result) -> list[str]:
    return sorted(re.findall(r"\(([a-z_]+\.[CEWI]\d+)\)", result.stdout + result.stderr))


def test_check_deploy_with_the_documented_environment_warns_only_about_preload(
    tmp_path, tiny_model
):
    checkpoint, hf_dir = tiny_model
    env = production_environment(tmp_path, DETOXIFY_CHECKPOINT=str(checkpoint),
                                 DETOXIFY_HF_CONFIG=str(hf_dir))
    result = manage(env, "check", "--deploy")
    assert result.returncode == 0, result.stderr
    # HSTS preload is the operator's commitment to make (docs/deploy.md, "HSTS").
    assert issue_ids(result) == ["security.W021"], result.stderr


def test_check_deploy_is_clean_once_preload_is_chosen(tmp_path, tiny_model):
    checkpoint, hf_dir = tiny_model
    env = production_environment(tmp_path, DETOXIFY_CHECKPOINT=str(checkpoint),
                                 DETOXIFY_HF_CONFIG=str(hf_dir), SECURE_HSTS_PRELOAD="1")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert issue_ids(result) == []
    assert "no issues" in result.stdout


# --- real gunicorn ------------------------------------------------------------------


class Client:
    """http.client with a cookie jar, saying https the way the proxy does."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, body: dict | None = None,
                headers: dict | None = None, proxy: bool = True) -> tuple:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        headers = {**(PROXY if proxy else {}), **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        connection.close()
        return response, content

    def log_in(self, username: str, password: str) -> None:
        response, page = self.request("GET", "/accounts/login/")
        assert response.status == 200
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        origin = f"https://{self.host}:{self.port}"
        response, _ = self.request(
            "POST", "/accounts/login/",
            body={"username": username, "password": password,
                  "csrfmiddlewaretoken": token.decode()},
            headers={"Origin": origin, "Referer": f"{origin}/accounts/login/"},
        )
        assert response.status == 302, response.status
        assert "sessionid" in self.cookies


class AssetLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.scripts.append(attributes["src"])
        if tag == "link" and "stylesheet" in (attributes.get("rel") or "").split():
            self.stylesheets.append(attributes["href"])


def test_gunicorn_serves_every_script_and_stylesheet_of_the_queue(production_server):
    client = Client(production_server.url)
    # Plain http is sent to https; https gets HSTS.
    response, _ = client.request("GET", "/accounts/login/", proxy=False)
    assert response.status == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{client.port}/accounts/login/"
    response, _ = client.request("GET", "/accounts/login/")
    assert response.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains")

    client.log_in(production_server.username, production_server.password)
    response, page = client.request("GET", "/queue/review/")
    assert response.status == 200
    links = AssetLinks()
    links.feed(page.decode())
    names = [Path(urlsplit(src).path).name for src in links.scripts + links.stylesheets]
    assert "keyboard.js" in names and "dashboard.css" in names
    assert any(name.startswith("htmx") for name in names), names

    for src in links.scripts + links.stylesheets:
        path = urlsplit(src).path
        response, content = client.request("GET", path)
        assert response.status == 200, path
        expected = CONTENT_TYPES[Path(path).suffix]
        assert response.headers["Content-Type"].startswith(expected), (path, response.headers)
        assert content, path
        # collectstatic compressed it; the gzip copy is what a browser gets.
        response, compressed = client.request("GET", path, headers={"Accept-Encoding": "gzip"})
        assert response.headers["Content-Encoding"] == "gzip", path
        assert gzip.decompress(compressed) == content


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")
def test_htmx_runs_in_chromium_on_the_gunicorn_served_queue(production_server, browser):
    client = Client(production_server.url)
    client.log_in(production_server.username, production_server.password)
    context = browser.new_context(extra_http_headers=PROXY)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"],
                          "url": production_server.url}])
    page = context.new_page()
    failures: list[str] = []
    page.on("response", lambda r: r.status >= 400 and failures.append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: failures.append(f"failed {r.url}"))
    page.goto(f"{production_server.url}/queue/review/", wait_until="load")
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("typeof window.htmx.ajax") == "function"
    assert failures == []
    context.close()
