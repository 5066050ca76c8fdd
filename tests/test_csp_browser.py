"""The Content Security Policy in Chromium: it is enforced (an injected inline script is refused and
reported, which is what makes every other browser test's "no violation" check mean something), and
search, the one feature with its own worker and no other browser test over http, runs under it."""

from __future__ import annotations

import pytest

from tests.conftest import first_search_result

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("csp-browser")]


def test_injected_inline_script_is_refused_and_reported(page, base_url):
    page.goto(base_url)
    page.wait_for_load_state("load")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.__injected = true'; document.head.append(s); }""")
    page.wait_for_timeout(200)  # the violation event is dispatched as a task
    assert page.evaluate("window.__injected === undefined")
    assert [v for v in page.csp_violations if v.startswith("script-src")], page.csp_violations
    page.csp_violations.clear()  # expected here; the fixture fails on any other
    page.expect_console_errors = True  # Chromium logs the refusal


def test_search_runs_under_the_policy(page, base_url):
    page.goto(base_url)
    result = first_search_result(page, "autoscaler")
    target = result.evaluate("(a) => a.href.split('#')[0]")
    result.click()
    page.wait_for_function("(t) => location.href.split('#')[0] === t", arg=target)
    assert page.locator("article.md-content__inner h1").count() == 1
