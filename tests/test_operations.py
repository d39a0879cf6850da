import logging

import pytest

from tests.factories import PASSWORD, make_api_key, make_user, sign_in


def test_it_reports_database_and_redis_health(client, app):
    body = client.get("/healthz").get_json()
    assert body == {"status": "ok", "database": "ok", "redis": "ok"}


def test_it_reports_an_unreachable_redis(app_config, _schema):
    from app import create_app

    app = create_app({**app_config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["redis"].startswith("error")


def test_it_logs_one_line_per_request_without_secrets(client, app, caplog):
    user = make_user()
    headers = make_api_key(user)
    with caplog.at_level(logging.INFO, logger="qbo.requests"):
        sign_in(client, user)
        client.get("/api/v1/accounts?token=should-not-appear", headers=headers)
    lines = [r.getMessage() for r in caplog.records if r.name == "qbo.requests"]
    assert any(f"firm={user.firm_id} user={user.id} method=GET path=/api/v1/accounts status=200" in l for l in lines), lines
    text = "\n".join(lines)
    assert PASSWORD not in text and headers["Authorization"][7:] not in text and "should-not-appear" not in text


def test_it_refuses_to_start_in_production_without_real_secrets(monkeypatch):
    from app import create_app

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"REDIS_URL": "redis://127.0.0.1:1/0"})


def test_it_keeps_a_generated_secret_across_restarts(app_config, tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {**app_config, "SECRET_KEY": "", "INSTANCE_PATH": str(tmp_path)}
    first = create_app(config).config["SECRET_KEY"]
    assert len(first) >= 32 and create_app(config).config["SECRET_KEY"] == first


def test_it_finds_a_running_make_run_from_a_second_terminal(app_config, tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("QBO_BASE_URL", raising=False)
    (tmp_path / "dev-env.json").write_text(
        '{"REDIS_URL": "redis://127.0.0.1:6401/0", "QBO_BASE_URL": "http://127.0.0.1:6402"}')
    config = {k: v for k, v in app_config.items() if k not in ("REDIS_URL", "QBO_BASE_URL")}
    app = create_app({**config, "INSTANCE_PATH": str(tmp_path)})
    assert (app.config["REDIS_URL"], app.config["QBO_BASE_URL"]) == ("redis://127.0.0.1:6401/0", "http://127.0.0.1:6402")
    given = create_app({**config, "INSTANCE_PATH": str(tmp_path), "REDIS_URL": app_config["REDIS_URL"]})
    assert given.config["REDIS_URL"] == app_config["REDIS_URL"]  # what is configured wins
