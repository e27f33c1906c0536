"""A VLM judge behind any OpenAI-compatible chat endpoint with image input (a local vLLM
server with Qwen3-VL, or a hosted model), using only the standard library for HTTP.

Per case: the first frame and up to ``max_frames`` evenly spaced revisit frames are sent
as PNG data URIs to ``{base_url}/chat/completions`` with a fixed prompt
(:data:`PROMPT_VERSION`) asking for strict JSON ``{"appearance", "presence", "view",
"scene"}`` with numbers 0–5. The answer must parse exactly (a single ```json fence is
the only thing stripped); otherwise the bad answer is sent back once asking for JSON
only. HTTP 429, 5xx, timeouts and connection errors are retried with exponential backoff
(``Retry-After`` is honoured, capped); other HTTP errors fail the case at once. A failed
case is marked failed and the other cases go on.

Cache: each successful verdict is written at once to ``cache_dir/<key>.json``, key =
sha256 of (model, prompt version, sha256 of the image bytes sent), so a re-run (or a
crash and re-run) never pays for a case twice. Failures are not cached.

Options come from :class:`OpenAIJudgeConfig`, or :meth:`OpenAIJudgeConfig.from_env`
reading ``ECHODSL_JUDGE_BASE_URL`` (including ``/v1``, as in the OpenAI SDK),
``ECHODSL_JUDGE_MODEL``, ``ECHODSL_JUDGE_API_KEY`` (else ``OPENAI_API_KEY``) and
``ECHODSL_JUDGE_CACHE``.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import math
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from PIL import Image

from echodsl.cache import cache_root
from echodsl.errors import JudgeError, UsageError
from echodsl.eval.judges.base import SUBSCORES, Judge, JudgeCase, JudgeResult, Progress, Subscores

PROMPT_VERSION = "1"  # bump on any change to the prompt or image preparation
SYSTEM_PROMPT = (
    "You evaluate the memory of a video world model. The camera looked at a scene, turned "
    "away, and came back to the same place. Compare the FIRST frame (before the camera left) "
    "with the REVISIT frames (generated after the camera returned).")
SCORING_PROMPT = (
    "Score each item from 0 (completely wrong) to 5 (the same as in the first frame):\n"
    "- appearance: the main object of the first frame looks the same (colour, shape, pattern)\n"
    "- presence: that object is present where it should be\n"
    "- view: the viewpoint is consistent with the first frame\n"
    "- scene: the surroundings (walls, floor, other objects) are consistent\n"
    'Answer with only a JSON object and no other text: '
    '{"appearance": <0-5>, "presence": <0-5>, "view": <0-5>, "scene": <0-5>}')
REPAIR_PROMPT = ("Your answer could not be used ({error}). Reply with only the JSON object "
                 '{{"appearance": <0-5>, "presence": <0-5>, "view": <0-5>, "scene": <0-5>}} '
                 "and nothing else.")
_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.S)


@dataclass(frozen=True)
class OpenAIJudgeConfig:
    """Where and how to call the judge model. Retries count after the first attempt."""

    base_url: str  # e.g. http://127.0.0.1:8000/v1
    model: str
    api_key: str | None = None  # sent as a Bearer token when set (a local vLLM needs none)
    timeout_s: float = 60.0
    max_retries: int = 4
    backoff_s: float = 1.0  # first wait; doubles per retry
    max_backoff_s: float = 30.0
    concurrency: int = 4  # requests in flight at once
    max_frames: int = 4  # revisit frames sent per case, evenly spaced
    min_side: int = 256  # smaller frames are upscaled (nearest) so a VLM can see details
    max_tokens: int = 256
    cache_dir: Path | None = None  # None disables the cache

    @classmethod
    def from_env(cls, **overrides) -> OpenAIJudgeConfig:
        """Config from the environment; explicit non-None ``overrides`` win."""
        env = {"base_url": os.environ.get("ECHODSL_JUDGE_BASE_URL"),
               "model": os.environ.get("ECHODSL_JUDGE_MODEL"),
               "api_key": os.environ.get("ECHODSL_JUDGE_API_KEY") or os.environ.get("OPENAI_API_KEY"),
               "cache_dir": os.environ.get("ECHODSL_JUDGE_CACHE") or _default_cache()}
        values = {**env, **{k: v for k, v in overrides.items() if v is not None}}
        for key, var in (("base_url", "ECHODSL_JUDGE_BASE_URL"), ("model", "ECHODSL_JUDGE_MODEL")):
            if not values.get(key):
                raise UsageError(f"the openai judge needs a {key.replace('_', ' ')}",
                                 hint=f"set {var} or pass --judge-{key.replace('_', '-')}")
        values["cache_dir"] = Path(values["cache_dir"]) if values["cache_dir"] else None
        return cls(**values)


def _default_cache() -> str:
    return str(cache_root() / "judge")


class AnswerError(JudgeError, ValueError):
    """The model's answer is not the JSON object asked for."""


class CallError(JudgeError, RuntimeError):
    """The endpoint could not be reached or refused the request, after any retries."""


def parse_answer(text: str) -> Subscores:
    """Strictly parse an answer into subscores: one JSON object with the four keys, each a
    number in [0, 5]; extra keys are ignored. Raises AnswerError with the reason."""
    body = text.strip()
    fenced = _FENCE.fullmatch(body)
    if fenced:
        body = fenced.group(1)
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as exc:
        raise AnswerError(f"not JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(obj, dict):
        raise AnswerError(f"expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in SUBSCORES if k not in obj]
    if missing:
        raise AnswerError(f"missing keys {missing}")
    for k in SUBSCORES:
        v = obj[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v <= 5):
            raise AnswerError(f"{k} must be a number from 0 to 5, got {v!r}")
    return Subscores(**{k: float(obj[k]) for k in SUBSCORES})


def png_data_uri(frame: torch.Tensor, min_side: int) -> str:
    """A (3, H, W) frame in [-1, 1] as a PNG data URI, upscaled by an integer factor to
    at least ``min_side`` pixels a side."""
    rgb = ((frame.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    image = Image.fromarray(rgb, "RGB")
    factor = max(1, math.ceil(min_side / min(image.size)))
    if factor > 1:
        image = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class OpenAIJudge(Judge):
    """Judge through an OpenAI-compatible ``/chat/completions`` endpoint (module docstring)."""

    name = "openai"

    def __init__(self, config: OpenAIJudgeConfig):
        self.config = config
        self.version = f"{config.model}/prompt-{PROMPT_VERSION}"
        self.requests = 0  # HTTP requests sent, for reports (and the cache tests)
        self._lock = threading.Lock()

    # --- cases ---------------------------------------------------------------------------
    def score(self, case: JudgeCase) -> JudgeResult:
        images = self._images(case)
        key = self._cache_key(images)
        hit = self._cache_read(key)
        if hit is not None:
            return self.ok(case, Subscores(**hit["scores"]), hit["raw"], cached=True)
        messages = self._messages(images)
        try:
            answer = self._chat(messages)
            try:
                scores, raw = parse_answer(answer), answer
            except AnswerError as exc:
                messages += [{"role": "assistant", "content": answer},
                             {"role": "user", "content": REPAIR_PROMPT.format(error=exc)}]
                second = self._chat(messages)
                raw = answer + "\n--- repair ---\n" + second
                try:
                    scores = parse_answer(second)
                except AnswerError as exc2:
                    return self.failed(case, f"unusable answer after one repair: {exc2}", raw)
        except CallError as exc:
            return self.failed(case, str(exc))
        self._cache_write(key, scores, raw)
        return self.ok(case, scores, raw)

    def score_many(self, cases: Sequence[JudgeCase], progress: Progress | None = None) -> list[JudgeResult]:
        """Score cases with at most ``concurrency`` requests in flight; results in case order,
        ``progress`` called (in this thread) as each case finishes."""
        results: list[JudgeResult | None] = [None] * len(cases)
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as pool:
            futures = {pool.submit(self.safe_score, case): i for i, case in enumerate(cases)}
            for future in as_completed(futures):
                result = future.result()
                results[futures[future]] = result
                if progress is not None:
                    progress(result)
        return results  # type: ignore[return-value]

    # --- request ---------------------------------------------------------------------------
    def _images(self, case: JudgeCase) -> list[str]:
        r = case.revisits.shape[0]
        n = min(r, self.config.max_frames)
        picks = sorted({round(i * (r - 1) / max(1, n - 1)) for i in range(n)})
        frames = [case.first] + [case.revisits[i] for i in picks]
        return [png_data_uri(f, self.config.min_side) for f in frames]

    def _messages(self, images: list[str]) -> list[dict]:
        def image(uri: str) -> dict:
            return {"type": "image_url", "image_url": {"url": uri}}

        content = [{"type": "text", "text": "FIRST frame:"}, image(images[0]),
                   {"type": "text", "text": f"REVISIT frames ({len(images) - 1}):"},
                   *[image(u) for u in images[1:]],
                   {"type": "text", "text": SCORING_PROMPT}]
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": content}]

    def _chat(self, messages: list[dict]) -> str:
        """POST one chat completion, retrying transient failures; the answer's text."""
        c = self.config
        body = json.dumps({"model": c.model, "messages": messages, "temperature": 0,
                           "max_tokens": c.max_tokens}).encode()
        headers = {"Content-Type": "application/json"}
        if c.api_key:
            headers["Authorization"] = f"Bearer {c.api_key}"
        url = c.base_url.rstrip("/") + "/chat/completions"
        last, retry_after = "no attempt made", None
        for attempt in range(c.max_retries + 1):
            if attempt:
                time.sleep(self._wait(attempt, retry_after))
            retry_after = None
            with self._lock:
                self.requests += 1
            try:
                with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=c.timeout_s) as resp:
                    payload = resp.read()
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code} from {url}: {exc.read()[:200]!r}"
                if exc.code != 429 and exc.code < 500:
                    raise CallError(last) from None
                retry_after = exc.headers.get("Retry-After")
                continue
            except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
                last = f"{type(exc).__name__} calling {url}: {getattr(exc, 'reason', exc)}"
                continue
            return _answer_text(payload, url)
        raise CallError(f"gave up after {c.max_retries + 1} attempts; last: {last}")

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        c = self.config
        wait = c.backoff_s * 2 ** (attempt - 1)
        if retry_after is not None:
            try:
                wait = max(wait, float(retry_after))
            except ValueError:  # an HTTP date: fall back to our own backoff
                pass
        return min(wait, c.max_backoff_s)

    # --- cache ---------------------------------------------------------------------------
    def _cache_key(self, images: list[str]) -> str:
        content = hashlib.sha256("\n".join(images).encode()).hexdigest()
        return hashlib.sha256(json.dumps([self.config.model, PROMPT_VERSION, content]).encode()).hexdigest()

    def _cache_read(self, key: str) -> dict | None:
        if self.config.cache_dir is None:
            return None
        try:
            entry = json.loads((self.config.cache_dir / f"{key}.json").read_text())
            Subscores(**entry["scores"])
            return entry
        except (OSError, ValueError, KeyError, TypeError):  # absent or damaged: score again
            return None

    def _cache_write(self, key: str, scores: Subscores, raw: str) -> None:
        if self.config.cache_dir is None:
            return
        self.config.cache_dir.mkdir(parents=True, exist_ok=True)
        entry = {"model": self.config.model, "prompt_version": PROMPT_VERSION, "scores": asdict(scores), "raw": raw}
        path = self.config.cache_dir / f"{key}.json"
        tmp = path.with_suffix(f".{os.getpid()}.{id(entry)}.tmp")
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, path)  # atomic: a crash never leaves a half-written entry


def _answer_text(payload: bytes, url: str) -> str:
    try:
        content = json.loads(payload)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise CallError(f"{url} did not answer like a chat completion: {payload[:200]!r}") from None
    if isinstance(content, list):  # some servers return content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise CallError(f"{url} returned no answer text")
    return content

