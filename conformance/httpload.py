"""HTTP load for the benchmark scripts: one GET, and p50/p99 latency of many GETs from
concurrent clients (urllib, one connection each)."""
import concurrent.futures
import time
import urllib.request


def fetch(url, headers=None):
    """The body of a GET of `url`; an error for any status but 200."""
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=120) as r:
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}")
        return body


def load(urls, n=1000, clients=50, headers=None):
    """p50 and p99 latency (ms) of `n` GETs cycling over `urls` from `clients` threads."""
    def one(i):
        t = time.perf_counter()
        fetch(urls[i % len(urls)], headers)
        return (time.perf_counter() - t) * 1000

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        lat = sorted(pool.map(one, range(n)))
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1]
