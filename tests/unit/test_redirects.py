"""safe_next keeps post-sign-in redirects on this site."""

import pytest

from webapp.redirects import safe_next


@pytest.mark.parametrize("target", ["/", "/call_api", "/call_api?x=1#top", "/a/b"])
def test_same_site_paths_are_kept(target):
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "call_api",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/\x00x",
        "/ok\r\nSet-Cookie: a=b",
        "/" + "a" * 3000,
        ["/"],
    ],
)
def test_anything_else_falls_back_to_home(target):
    assert safe_next(target) == "/"
