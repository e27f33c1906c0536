"""The OpenAI-compatible judge against a real HTTP server on 127.0.0.1 started by the
test. The server answers like a chat-completions endpoint, following a per-case script:
good answers, malformed then repaired, 500/429 then fine, permanent failures, timeouts.
Cases are told apart by the colour of their first frame (the first image it receives)."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from PIL import Image

from echodsl.errors import UsageError
from echodsl.eval.judges import JudgeCase
from echodsl.eval.judges.openai import AnswerError, OpenAIJudge, OpenAIJudgeConfig, parse_answer

GOOD = '{"appearance": 4, "presence": 5, "view": 3, "scene": 2}'  # overall 100 (1.8+1.25+.6+.2)/5 = 77


class FakeVLM:
    """A loopback chat-completions server. ``script[key]`` is a list of replies used in
    order for the case whose first image has red value ``key`` (the last one repeats):
    ("ok", text) | ("status", code) | ("sleep", seconds) | ("raw", body)."""

    def __init__(self):
        self.script: dict[int, list[tuple]] = {}
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self._calls: dict[int, int] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = _first_red(body)
                with fake._lock:
                    fake.requests.append(body)
                    fake.headers.append(dict(self.headers))
                    n = fake._calls.get(key, 0)
                    fake._calls[key] = n + 1
                replies = fake.script.get(key, [("ok", GOOD)])
                kind, arg = replies[min(n, len(replies) - 1)]
                if self.path != "/v1/chat/completions":
                    kind, arg = "status", 404
                if kind == "sleep":
                    time.sleep(arg)
                    kind, arg = "ok", GOOD
                if kind == "status":
                    self.send_response(arg)
                    if arg == 429:
                        self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                    return
                data = arg if kind == "raw" else json.dumps(
                    {"id": "x", "object": "chat.completion", "model": body["model"],
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": arg}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def calls(self, key: int) -> int:
        return self._calls.get(key, 0)


def _first_red(body: dict) -> int:
    user = next(m for m in body["messages"] if m["role"] == "user")
    uri = next(p for p in user["content"] if p["type"] == "image_url")["image_url"]["url"]
    png = base64.b64decode(uri.split(",", 1)[1])
    return Image.open(io.BytesIO(png)).getpixel((0, 0))[0]


@pytest.fixture
def vlm():
    server = FakeVLM()
    yield server
    server.server.shutdown()
    server.server.server_close()


def case(key: int, revisits: int = 3) -> JudgeCase:
    first = torch.full((3, 8, 8), key / 127.5 - 1)  # red (and every) channel = key in uint8
    frames = torch.rand(revisits, 3, 8, 8, generator=torch.Generator().manual_seed(key)) * 2 - 1
    return JudgeCase(f"case{key}", first, frames)


def judge(url: str, tmp_path=None, **kw) -> OpenAIJudge:
    options = dict(base_url=url, model="qwen3-vl", api_key="sk-test", timeout_s=2.0, max_retries=2,
                   backoff_s=0.01, max_frames=2, min_side=8, concurrency=3,
                   cache_dir=None if tmp_path is None else tmp_path / "cache")
    options.update(kw)
    return OpenAIJudge(OpenAIJudgeConfig(**options))


def test_good_answers_are_scored_concurrently_in_case_order(vlm):
    j, seen = judge(vlm.url), []
    results = j.score_many([case(k) for k in (10, 40, 70, 100)], progress=seen.append)
    assert [r.case_id for r in results] == ["case10", "case40", "case70", "case100"]
    assert all(r.ok and r.overall == pytest.approx(77.0) for r in results)
    assert (results[0].judge, results[0].version, results[0].raw) == ("openai", "qwen3-vl/prompt-1", GOOD)
    assert sorted(r.case_id for r in seen) == sorted(r.case_id for r in results)
    body = vlm.requests[0]
    images = [p for p in body["messages"][1]["content"] if p["type"] == "image_url"]
    assert body["model"] == "qwen3-vl" and len(images) == 3  # first + max_frames revisits
    assert images[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert vlm.headers[0]["Authorization"] == "Bearer sk-test"


def test_malformed_answer_is_repaired_once(vlm):
    vlm.script[10] = [("ok", "The object looks fine, I'd say 4/5."), ("ok", "```json\n" + GOOD + "\n```")]
    vlm.script[40] = [("ok", '{"appearance": 9, "presence": 5, "view": 3, "scene": 2}'), ("ok", GOOD)]
    vlm.script[70] = [("ok", "no"), ("ok", "still no")]
    r10, r40, r70 = judge(vlm.url).score_many([case(10), case(40), case(70)])
    assert r10.ok and r40.ok and r10.scores.appearance == 4.0
    assert "4/5" in r10.raw and "--- repair ---" in r10.raw
    repair = next(b for b in vlm.requests if len(b["messages"]) == 4 and _first_red(b) == 10)["messages"]
    assert repair[2] == {"role": "assistant", "content": "The object looks fine, I'd say 4/5."}
    assert "only the JSON object" in repair[3]["content"]
    assert r70.status == "failed" and "after one repair" in r70.error and "still no" in r70.raw
    assert (vlm.calls(10), vlm.calls(40), vlm.calls(70)) == (2, 2, 2)


def test_transient_errors_are_retried_with_backoff(vlm):
    vlm.script[10] = [("status", 500), ("ok", GOOD)]
    vlm.script[40] = [("status", 429), ("status", 503), ("ok", GOOD)]
    r10, r40 = judge(vlm.url).score_many([case(10), case(40)])
    assert r10.ok and r40.ok and (vlm.calls(10), vlm.calls(40)) == (2, 3)


def test_permanent_failures_mark_the_case_failed_and_the_run_goes_on(vlm):
    vlm.script[10] = [("status", 500)]  # retried, then given up
    vlm.script[40] = [("status", 400)]  # a client error is not retried
    vlm.script[70] = [("raw", b"<html>proxy error</html>")]
    results = judge(vlm.url).score_many([case(10), case(40), case(70), case(100)])
    assert [r.status for r in results] == ["failed", "failed", "failed", "ok"]
    assert "gave up after 3 attempts" in results[0].error and "HTTP 500" in results[0].error
    assert "HTTP 400" in results[1].error and vlm.calls(40) == 1
    assert "chat completion" in results[2].error
    assert results[0].scores is None and results[0].to_dict()["overall"] is None


def test_timeouts_and_unreachable_servers_fail_cleanly(vlm):
    vlm.script[10] = [("sleep", 1.0)]
    result = judge(vlm.url, timeout_s=0.2, max_retries=1).score(case(10))
    assert result.status == "failed" and "timed out" in result.error.lower()
    closed = judge("http://127.0.0.1:9/v1", max_retries=1).score(case(40))  # port 9: nothing listens
    assert closed.status == "failed" and "gave up after 2 attempts" in closed.error


def test_cache_means_a_rerun_pays_nothing_and_failures_are_retried(vlm, tmp_path):
    vlm.script[70] = [("status", 500), ("status", 500), ("status", 500), ("ok", GOOD)]
    cases = [case(10), case(40), case(70)]
    first = judge(vlm.url, tmp_path, max_retries=2).score_many(cases)
    assert [r.status for r in first] == ["ok", "ok", "failed"]
    again = judge(vlm.url, tmp_path)
    second = again.score_many(cases)
    assert again.requests == 1 and all(r.ok for r in second)  # only the failed case is asked again
    assert [r.cached for r in second] == [True, True, False]
    third = judge(vlm.url, tmp_path)
    assert all(r.cached for r in third.score_many(cases)) and third.requests == 0
    assert [r.scores for r in third.score_many(cases)] == [r.scores for r in second]
    other_model = judge(vlm.url, tmp_path, model="another")
    other_model.score(case(10))
    assert other_model.requests == 1  # the model is part of the cache key


@pytest.mark.parametrize("text, ok", [
    (GOOD, True), ("  ```json\n" + GOOD + "\n```  ", True),
    ('{"appearance": 4.5, "presence": 0, "view": 5, "scene": 2, "reason": "x"}', True),
    ('{"appearance": 4, "presence": 5, "view": 3}', False), ('{"appearance": "4", "presence": 5, "view": 3, "scene": 2}', False),
    ('{"appearance": true, "presence": 5, "view": 3, "scene": 2}', False), ("[4, 5, 3, 2]", False),
    ("Here you go: " + GOOD, False), ('{"appearance": -1, "presence": 5, "view": 3, "scene": 2}', False),
])
def test_strict_answer_parsing(text, ok):
    if ok:
        assert parse_answer(text).view in (3.0, 5.0)
    else:
        with pytest.raises(AnswerError):
            parse_answer(text)


def test_config_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ECHODSL_JUDGE_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("ECHODSL_JUDGE_MODEL", "Qwen/Qwen3-VL-30B-A3B-Instruct")
    monkeypatch.delenv("ECHODSL_JUDGE_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("ECHODSL_JUDGE_CACHE", str(tmp_path))
    config = OpenAIJudgeConfig.from_env(model="override", api_key=None)
    assert (config.base_url, config.model, config.api_key, config.cache_dir) == \
        ("http://127.0.0.1:8000/v1", "override", "sk-env", tmp_path)
    monkeypatch.delenv("ECHODSL_JUDGE_MODEL")
    with pytest.raises(UsageError, match="model"):
        OpenAIJudgeConfig.from_env()
