"""The stack launcher's pieces without a browser: the rendered Nginx configuration (checked by real
`nginx -t`) and its bad-input errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from servers.stack import NGINX_TEMPLATE, REPO_ROOT, StackError, render_nginx_conf


def render(run_dir: Path, template: str | None = None) -> str:
    return render_nginx_conf(
        NGINX_TEMPLATE.read_text() if template is None else template,
        listen="127.0.0.1:18080",
        api="127.0.0.1:15000",
        upload_limit_mb=17,
        run_dir=run_dir,
    )


def test_render_places_addresses_limit_and_run_folder(tmp_path: Path) -> None:
    text = render(tmp_path)
    assert "listen 127.0.0.1:18080;" in text
    assert "server 127.0.0.1:15000;" in text
    assert "client_max_body_size 17m;" in text
    assert "runs/stack" not in text
    assert f"pid {tmp_path.as_posix()}/nginx.pid;" in text
    assert "root clients/dist;" in text  # relative to the -p prefix, the repository root


def test_rendered_conf_passes_nginx_check(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed")
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(render(tmp_path))
    result = subprocess.run(
        [nginx, "-t", "-p", str(REPO_ROOT), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_template_without_a_placeholder_or_with_an_unknown_one_is_refused(tmp_path: Path) -> None:
    template = NGINX_TEMPLATE.read_text().replace("listen {{ listen }};", "")
    with pytest.raises(StackError, match=r"placeholders missing: \['listen'\], unknown: none"):
        render(tmp_path, template)
    with pytest.raises(StackError, match=r"unknown: \['port'\]"):
        render(tmp_path, NGINX_TEMPLATE.read_text() + "# {{ port }}\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "error: --port: 70000 is not a TCP port"),
        (["--config", "/no/such/server.toml"], "/no/such/server.toml"),
    ],
)
def test_bad_options_exit_2_with_a_clear_error(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "servers", "stack", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
