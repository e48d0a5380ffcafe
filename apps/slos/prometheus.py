"""A small client of Prometheus' HTTP API (/api/v1/query_range), standard library only.

Two kinds of failure, handled differently by the sync:
- `PrometheusUnavailable` (connection refused, timeout, 5xx): transient, retried with backoff.
- `PromQLError` (Prometheus answered 400/422 `bad_data`, or the query's shape is wrong):
  recorded on the SLI with Prometheus' own message and not retried.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request

MAX_POINTS = 11_000  # Prometheus refuses query_range with more points per series


class PrometheusUnavailable(ConnectionError):
    pass


class PromQLError(ValueError):
    pass


def _get(url: str, params: dict, *, timeout: float) -> dict:
    full = f"{url.rstrip('/')}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    if not full.startswith(("http://", "https://")):
        raise PromQLError("The Prometheus URL must start with http:// or https://.")
    request = urllib.request.Request(full, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        if exc.code in (400, 422) and payload.get("status") == "error":
            raise PromQLError(f"{payload.get('errorType', 'error')}: {payload.get('error', '')}".strip())
        if exc.code >= 500 or exc.code == 429:
            raise PrometheusUnavailable(f"Prometheus answered HTTP {exc.code}.")
        raise PromQLError(f"Prometheus answered HTTP {exc.code}: {body[:300].decode(errors='replace')}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PrometheusUnavailable(f"Prometheus at {url} is unreachable: {getattr(exc, 'reason', exc)}")
    except ValueError as exc:
        raise PrometheusUnavailable(f"Prometheus sent a response that is not JSON: {exc}")


def query_range(url: str, query: str, *, start: int, end: int, step: int, timeout: float = 30.0) -> dict[int, float]:
    """{timestamp: value} of a query that returns at most one series (aggregate with sum()).

    Timestamps are Unix seconds, inclusive of start and end. NaN and infinite values are dropped.
    """
    if (end - start) // step + 1 > MAX_POINTS:
        raise ValueError("Too many points for one query_range; split the range.")
    payload = _get(url, {"query": query, "start": start, "end": end, "step": step}, timeout=timeout)
    if payload.get("status") != "success":
        raise PromQLError(f"{payload.get('errorType', 'error')}: {payload.get('error', 'unknown error')}")
    data = payload.get("data", {})
    if data.get("resultType") != "matrix":
        raise PromQLError(f"The query returned a {data.get('resultType')}, not a range vector.")
    series = data.get("result", [])
    if len(series) > 1:
        raise PromQLError(f"The query returned {len(series)} series; aggregate it to one, e.g. with sum(...).")
    points: dict[int, float] = {}
    for ts, value in series[0]["values"] if series else []:
        number = float(value)
        if math.isfinite(number):
            points[int(float(ts))] = number
    return points
