"""/api/v1/ keys, scopes, the error envelope and the rate limit."""

import pytest
from django.core.cache import caches
from django.core.management import CommandError, call_command

from moderation.api.keys import api_key_revoke, key_hash
from moderation.models import ApiKey
from tests.helpers import ApiClient, api_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    caches["api"].clear()


def test_key_is_stored_hashed_and_works_as_bearer(client, api_key):
    secret = api_key("read", "ingest", name="coral")
    key = ApiKey.objects.get(name="coral")
    assert secret.startswith(key.prefix + "_") and key.key_hash == key_hash(secret)
    assert secret not in str(ApiKey.objects.values().get())
    response = ApiClient(client, secret).get("key")
    assert response.status_code == 200
    assert response.json()["scopes"] == ["ingest", "read"]
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_missing_unknown_and_revoked_keys_are_401_json(client, api_key):
    secret = api_key("read")
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer tk_nope"},
                    {"HTTP_AUTHORIZATION": f"Basic {secret}"}):
        response = client.get("/api/v1/key", **headers)
        assert response.status_code == 401
        assert api_error(response)["code"] == "unauthenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")
    api_key_revoke(key=ApiKey.objects.get())
    response = ApiClient(client, secret).get("key")
    assert response.status_code == 401 and "revoked" in api_error(response)["message"]


def test_query_key_is_not_accepted_by_v1(client, api_key):
    secret = api_key("read")
    assert client.get(f"/api/v1/key?key={secret}").status_code == 401


def test_unknown_path_and_wrong_method_are_json(api):
    missing = api.get("no-such-thing/")
    assert missing.status_code == 404 and api_error(missing)["code"] == "not_found"
    wrong = api.delete("key")
    assert wrong.status_code == 405
    assert api_error(wrong)["code"] == "method_not_allowed" and "GET" in wrong["Allow"]


def test_body_too_large_is_413_and_not_json_is_415(client, api, settings):
    settings.API_MAX_REQUEST_BYTES = 2048
    big = client.post("/api/v1/comments", "x" * 4096, content_type="application/json",
                      HTTP_AUTHORIZATION=f"Bearer {api.secret}")
    assert big.status_code == 413 and api_error(big)["code"] == "too_large"
    form = client.post("/api/v1/comments", {"a": "b"}, HTTP_AUTHORIZATION=f"Bearer {api.secret}")
    assert form.status_code == 415 and api_error(form)["code"] == "unsupported_media_type"


def test_rate_limit_per_key_is_429_with_retry_after(client, api_key):
    limited = ApiClient(client, api_key("read", rate_limit=3))
    other = ApiClient(client, api_key("read"))
    assert [limited.get("key").status_code for _ in range(3)] == [200, 200, 200]
    refused = limited.get("key")
    assert refused.status_code == 429
    assert api_error(refused)["code"] == "rate_limited" and int(refused["Retry-After"]) >= 1
    assert other.get("key").status_code == 200


def test_openapi_schema_is_served_and_names_bearer_auth(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["openapi"].startswith("3.")
    assert "/api/v1/key" in body["paths"]
    assert any(s.get("scheme") == "bearer"
               for s in body["components"]["securitySchemes"].values())


def test_create_api_key_command_prints_the_key_once(capsys, db):
    call_command("create_api_key", "coral", "--scope", "analyze,read", "--scope", "moderate")
    out = capsys.readouterr().out
    secret = out.strip().splitlines()[-1]
    key = ApiKey.objects.get(name="coral")
    assert key.key_hash == key_hash(secret) and key.scopes == ["read", "moderate", "analyze"]
    assert key.actor.username == "api:coral" and not key.actor.has_usable_password()
    with pytest.raises(CommandError, match="unknown scope"):
        call_command("create_api_key", "x", "--scope", "admin")
    with pytest.raises(CommandError, match="exists"):
        call_command("create_api_key", "coral", "--scope", "read")
    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_key", "y", "--scope", "read", "--user", "ghost")


def test_admin_creates_a_key_and_shows_it_once(admin_client):
    response = admin_client.post("/admin/moderation/apikey/add/", {
        "name": "osmod", "scopes": ["read", "moderate"], "actor": "", "rate_limit": "",
    })
    assert response.status_code == 200
    key = ApiKey.objects.get(name="osmod")
    secret = response.context["secret"]
    assert key.key_hash == key_hash(secret) and secret.encode() in response.content
    page = admin_client.get(f"/admin/moderation/apikey/{key.pk}/change/")
    assert secret.encode() not in page.content
    admin_client.post("/admin/moderation/apikey/", {"action": "revoke",
                                                    "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_rate_counters_shared_in_redis_when_configured(client, api_key, settings):
    import uuid

    import redis

    prefix = f"tk-api-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {**settings.CACHES, "api": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/8", "KEY_PREFIX": prefix}}
    limited = ApiClient(client, api_key("read", rate_limit=2))
    assert [limited.get("key").status_code for _ in range(3)] == [200, 200, 429]
    server = redis.Redis.from_url("redis://127.0.0.1:6379/8")
    stored = server.keys(f"{prefix}:*")
    assert stored and int(server.get(stored[0])) == 3
    server.delete(*stored)


def test_no_rate_limit_when_switched_off(client, api_key, settings):
    settings.API_RATE_LIMIT = 0
    unlimited = ApiClient(client, api_key("read"))
    assert {unlimited.get("key").status_code for _ in range(5)} == {200}


def test_openapi_documents_the_ingest_body(client):
    body = client.get("/api/v1/openapi.json").json()
    ingest = body["paths"]["/api/v1/comments"]["post"]
    refs = [s["$ref"] for s in
            ingest["requestBody"]["content"]["application/json"]["schema"]["oneOf"]]
    assert refs == ["#/components/schemas/CommentIn", "#/components/schemas/CommentBatchIn"]
    schemas = body["components"]["schemas"]
    assert {"CommentIn", "CommentBatchIn", "ThreadIn", "AuthorIn", "ActionIn"} <= set(schemas)
    assert ingest["security"] == [{"ApiKeyAuth": []}]
    error = ingest["responses"]["413"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorOut"}
    assert "409" in body["paths"]["/api/v1/comments/{comment_id}/actions"]["post"]["responses"]
